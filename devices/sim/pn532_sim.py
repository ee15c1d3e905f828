"""SimPn532: a PN532 on a pseudo-terminal, speaking real HSU frames, with virtual MIFARE cards and faults.

The simulator owns the master side of a pty; drivers (ours, libnfc's pn532_uart) open the slave path.
It paces every frame at the configured baud rate (10 bits per byte) and adds the card's on-air time
per operation, so timings measured against it have a meaningful floor. A stable symlink (`path`)
follows the pty across unplug/replug the way /dev/serial/by-id links follow a USB adapter.

Control from tests: present(card), remove(), swap(card), and one-shot faults: drop_next(kind),
corrupt_next_response(), corrupt_next_command(), delay_next_response(s), delay_next_ack(s),
remove_card_after_auth(skip), remove_card_after_ops(n), unplug(), replug().
`stats` counts bytes both ways and on-air time since reset_stats().
"""
from __future__ import annotations

import logging
import os
import select
import shutil
import tempfile
import termios
import threading
import time
import tty
from dataclasses import dataclass

from devices.card_reader.pn532_frames import (
    ACK,
    ERROR_FRAME,
    HOST_TO_CHIP,
    Frame,
    FrameKind,
    FrameStream,
    build_response,
)
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_faults import FaultInjection
from devices.sim.pn532_ops import SimRegisters, execute

log = logging.getLogger(__name__)


_TERMIOS_SPEEDS = {rate: getattr(termios, f"B{rate}") for rate in
                   (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600) if hasattr(termios, f"B{rate}")}


@dataclass
class SimStats:
    bytes_in: int = 0
    bytes_out: int = 0
    air_s: float = 0.0
    commands: int = 0

    def wire_floor(self, baud: int) -> float:
        return (self.bytes_in + self.bytes_out) * 10 / baud + self.air_s


class SimPn532(FaultInjection):
    """A PN532 (HSU) with one optional card in its field."""

    def __init__(self, baud: int = 115200, *, pace: bool = True, attempt_s: float = 0.001) -> None:
        super().__init__()  # self._lock, self._faults
        self.power_up_baud = baud  # a PN532's HSU starts at 115200; SetSerialBaudrate changes it until power-off
        self.baud = baud
        self._pending_baud: int | None = None
        self._rx_pending = bytearray()
        self._generation = 0  # bumps on every plug-in (power cycle)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.garbled_chunks = 0  # bytes that arrived while the host's line speed differed from the chip's
        self.pace = pace
        self.attempt_s = attempt_s  # time of one passive-activation attempt with no card
        self._dir = tempfile.mkdtemp(prefix="kiosk-sim-pn532-")
        self.path = os.path.join(self._dir, "pn532")  # stable link, like /dev/serial/by-id/...
        self.pty_path = ""
        self._master = -1
        self._slave = -1
        self._card_cv = threading.Condition(self._lock)
        self._card: VirtualMifareCard | None = None
        self._selected: VirtualMifareCard | None = None
        self._halted = False
        self._plugged = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._line_free = 0.0
        self._last_response = b""
        self.registers = SimRegisters()
        self.max_retries = 0xFF
        self.field_on = True
        self.stats = SimStats()
        self.card_presented_at = 0.0

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> SimPn532:
        self._plug()
        self._thread = threading.Thread(target=self._run, name="sim-pn532", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._plugged.set()
        if self._thread is not None:
            self._thread.join(5)
        self._unplug()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SimPn532:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _plug(self) -> None:
        with self._lock:
            self._master, self._slave = os.openpty()
            tty.setraw(self._slave)
            tty.setraw(self._master)
            self.pty_path = os.ttyname(self._slave)
            tmp = self.path + ".new"
            os.symlink(self.pty_path, tmp)
            os.replace(tmp, self.path)
            self._line_free = 0.0
            self._generation += 1
            # Plugging in is a power cycle: the chip starts over at its power-up speed with the field on.
            self.baud, self._pending_baud = self.power_up_baud, None
            self.field_on, self.max_retries, self._selected = True, 0xFF, None
            self.registers = SimRegisters()
            self._rx_pending = bytearray()
            self._plugged.set()

    def _unplug(self) -> None:
        with self._lock:
            self._plugged.clear()
            self._generation += 1
            for fd in (self._master, self._slave):
                if fd >= 0:
                    os.close(fd)
            self._master = self._slave = -1
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def unplug(self) -> None:
        """The cable is pulled: the port's I/O fails and its path disappears."""
        self._unplug()

    def replug(self) -> None:
        """The cable is back: a new pty behind the same `path`."""
        if not self._plugged.is_set():
            self._plug()

    @property
    def plugged(self) -> bool:
        return self._plugged.is_set()

    # --- the card in the field ----------------------------------------------------------------------
    def present(self, card: VirtualMifareCard) -> None:
        with self._card_cv:
            self._card = card
            card.reset()
            self.card_presented_at = time.monotonic()
            self._card_cv.notify_all()
        try:
            os.write(self._wake_w, b"!")
        except (BlockingIOError, OSError):
            pass  # the pipe is full of wake-ups already, or the simulator has stopped

    def remove(self) -> VirtualMifareCard | None:
        with self._card_cv:
            card, self._card = self._card, None
            if card is not None:
                card.reset()
            return card

    def swap(self, card: VirtualMifareCard) -> VirtualMifareCard | None:
        with self._card_cv:
            old = self.remove()
            self.present(card)
            return old

    @property
    def card(self) -> VirtualMifareCard | None:
        return self._card

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = SimStats()

    # --- wire ---------------------------------------------------------------------------------------
    def _pause_until(self, t: float) -> None:
        if self.pace:
            while True:
                d = t - time.monotonic()
                if d <= 0:
                    return
                time.sleep(d)

    def _air(self, seconds: float) -> None:
        self.stats.air_s += seconds
        self._pause_until(time.monotonic() + seconds)

    def _send(self, data: bytes) -> None:
        now = time.monotonic()
        end = max(now, self._line_free) + len(data) * 10 / self.baud
        self._pause_until(end)
        self._line_free = end
        self.stats.bytes_out += len(data)
        fd = self._master
        if fd >= 0:
            try:
                os.write(fd, data)
            except OSError:
                pass  # unplugged meanwhile

    def _respond(self, command: int, params: bytes = b"") -> None:
        frame = build_response(command, params)
        self._last_response = frame
        delay = self._take_fault("delay-response")
        if delay:
            self._pause_until(time.monotonic() + delay)
        if self._take_fault("drop-response") is not None:
            return
        if self._take_fault("corrupt-response") is not None:
            bad = bytearray(frame)
            bad[-2] ^= 0x01  # DCS no longer matches
            self._send(bytes(bad))
            return
        self._send(frame)

    def _run(self) -> None:
        stream = FrameStream()
        rx_started = 0.0
        while not self._stop.is_set():
            if not self._plugged.wait(0.1):
                stream.clear()
                continue
            fd = self._master
            if fd < 0:
                continue
            if self._rx_pending:  # bytes that arrived behind an abort ACK
                chunk, self._rx_pending = bytes(self._rx_pending), bytearray()
            else:
                try:
                    ready, _, _ = select.select([fd], [], [], 0.05)
                    if not ready:
                        continue
                    chunk = os.read(fd, 4096)
                except (OSError, ValueError):
                    stream.clear()
                    continue
            if not chunk:
                continue
            if not self._host_speed_matches():
                self.garbled_chunks += 1  # at the wrong speed the chip sees only framing errors
                stream.clear()
                continue
            if not stream.buffered:  # first byte of a new frame: its transmission time starts here
                rx_started = time.monotonic()
            if len(chunk) > 8 and self._take_fault("corrupt-command") is not None:
                noisy = bytearray(chunk)
                noisy[-2] ^= 0x04  # the last frame's DCS
                chunk = bytes(noisy)
            stream.feed(chunk)
            while True:
                frame = stream.next_frame()
                stream.take_rejected()  # a corrupt command is ignored, as the chip does: no ACK
                if frame is None:
                    break
                size = 6 if frame.kind in (FrameKind.ACK, FrameKind.NACK) else len(frame.data) + 8
                self.stats.bytes_in += size
                self._pause_until(rx_started + size * 10 / self.baud)
                rx_started = time.monotonic()
                try:
                    self._handle(frame)
                except Exception:  # noqa: BLE001 - the simulator must keep running for the test
                    log.exception("simulator failed on %r", frame)

    def _host_speed_matches(self) -> bool:
        """Whether the host side of the pty is set to the chip's current baud rate (termios is shared)."""
        rates = [self.baud] if self._pending_baud is None else [self.baud, self._pending_baud]
        wanted = [_TERMIOS_SPEEDS.get(rate) for rate in rates]
        if None in wanted or self._slave < 0:
            return True  # a non-standard rate: termios cannot show it, so do not judge
        try:
            attrs = termios.tcgetattr(self._slave)
        except termios.error:
            return True
        # While a switch is pending the host may already have changed speed after writing its ACK at the
        # old one; the pty cannot tell when bytes were written, so both speeds pass.
        return attrs[5] in wanted

    def _handle(self, frame: Frame) -> None:
        if frame.kind is FrameKind.ACK and self._pending_baud is not None:
            # SetSerialBaudrate takes effect when the host acknowledges the response.
            self.baud, self._pending_baud = self._pending_baud, None
            self._line_free = 0.0
            return
        if frame.kind is FrameKind.NACK:
            if self._last_response:
                self._send(self._last_response)
            return
        if frame.kind is not FrameKind.DATA or frame.tfi != HOST_TO_CHIP:
            return  # a host ACK with nothing pending, or noise
        if self._take_fault("drop-command") is not None:
            return
        self.stats.commands += 1
        stall = self._take_fault("delay-ack")
        if stall:
            time.sleep(stall)  # a stall, not line pacing: it happens with pace=False too
        if self._take_fault("drop-ack") is None:
            self._send(ACK)
        execute(self, frame.command, frame.payload)

    def _syntax_error(self) -> None:
        self._last_response = ERROR_FRAME
        self._send(ERROR_FRAME)

    # --- used by pn532_ops --------------------------------------------------------------------------
    def _wait_for_card(self, limit: float | None) -> VirtualMifareCard | None:
        """Wait for a card up to `limit` seconds (None: until one comes or the host aborts with ACK).

        Sleeps in select() on the port and on a wake-up pipe that present() writes to, so both a card
        arriving and a host ACK are noticed at once.
        """
        end = None if limit is None else time.monotonic() + limit
        generation = self._generation
        while True:
            if self._card is not None:
                return self._card
            if self._stop.is_set() or generation != self._generation:
                return None  # stopping, or the power went: the command is gone with it
            wait = 0.05 if end is None else end - time.monotonic()
            if wait <= 0:
                return None
            fds = [self._wake_r] + ([self._master] if end is None and self._master >= 0 else [])
            try:
                ready, _, _ = select.select(fds, [], [], min(wait, 0.05))
            except (OSError, ValueError):
                return None
            if self._wake_r in ready:
                os.read(self._wake_r, 4096)
            if end is None and self._master in ready and self._host_aborted():
                return None

    def _host_aborted(self) -> bool:
        fd = self._master
        if fd < 0:
            return True
        try:
            ready, _, _ = select.select([fd], [], [], 0)
            if not ready:
                return False
            data = os.read(fd, 4096)
        except (OSError, ValueError):
            return True
        at = data.find(ACK)
        if at < 0:
            # Not an ACK: a host that gave up on us and sent a new command. Stop waiting, handle it next.
            self._rx_pending += data
            return True
        self.stats.bytes_in += len(ACK)
        self._rx_pending += data[at + len(ACK):]  # e.g. the next command, sent right behind the ACK
        return True

