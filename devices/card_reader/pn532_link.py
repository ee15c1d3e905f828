"""PN532 link layer over a byte transport: send a command, wait for ACK and response, NACK/resend, timeouts."""
from __future__ import annotations

import logging
import secrets
import time
from typing import Protocol

from devices.card_reader.pn532_frames import (
    ACK,
    CHIP_TO_HOST,
    NACK,
    WAKEUP_PREAMBLE,
    Frame,
    FrameKind,
    FrameStream,
    build_command,
)
from kiosk.errors import DeviceTimeout, ProtocolError

log = logging.getLogger(__name__)

# The chip ACKs within ~15 ms; allow for slow USB-serial bridges and a loaded host.
ACK_TIMEOUT_S = 0.1
MAX_COMMAND_SENDS = 3  # first send + resends when no ACK came
MAX_NACKS = 3  # how often we ask the chip to resend a garbled or lost response
SYNC_TIMEOUT_S = 1.0  # how long the line may take to settle after a command went more than once
DIAGNOSE = 0x00  # Diagnose, NumTst 0x00: communication line test, the chip echoes the data
_GARBLED = Frame(FrameKind.ERROR, tfi=-1)  # stands for "a frame came but failed its checks"


class ByteTransport(Protocol):
    device: str
    baud: int

    def write(self, data: bytes) -> None: ...
    def read_some(self, deadline: float) -> bytes: ...
    def discard_input(self) -> None: ...


class Pn532Link:
    """Carries one command at a time to the chip and returns its response data.

    Rules (PN532 user manual, 6.2.1): the chip ACKs a good command frame, then sends the response; a
    host NACK asks it to send the last response again; a host ACK aborts the pending command. So:
    - no ACK and no response within ACK_TIMEOUT_S -> send the command again (it was lost on the way in);
    - a response that arrives without its ACK is accepted (the ACK was lost, the command ran);
    - a frame that is neither the ACK nor the response (a late answer to an earlier command) is skipped: only
      the ACK deadline passing sends the command again;
    - a command sent more than once may have reached the chip more than once (it was only slow to ACK, e.g.
      a simulator thread on a loaded host): each copy is answered. Before the response is returned the line
      is settled with a line test carrying a fresh nonce; every frame before its echo is a late duplicate
      and is dropped, so no later command can take one of them for its own answer;
    - a garbled response, or none before the command's timeout -> NACK, never a resend of the command
      (a MIFARE increment must not run twice);
    - still nothing -> ACK to abort, raise DeviceTimeout.
    """

    def __init__(self, transport: ByteTransport) -> None:
        self.transport = transport
        self._stream = FrameStream()
        self.asleep = True  # the chip starts in LowVBat; the first frame goes after a wake-up preamble
        self.frames_rejected = 0
        self.resends = 0
        self.duplicates_dropped = 0  # late answers to a command's extra copies, dropped while settling
        self.max_sends = MAX_COMMAND_SENDS

    def reset(self) -> None:
        self._stream.clear()
        self.asleep = True

    def _next_frame(self, deadline: float) -> Frame | None:
        while True:
            frame = self._stream.next_frame()
            bad = self._stream.take_rejected()
            if bad:
                self.frames_rejected += bad
                return _GARBLED  # a corrupt frame: the caller decides to NACK
            if frame is not None:
                return frame
            chunk = self.transport.read_some(deadline)
            if not chunk:
                return None
            self._stream.feed(chunk)

    def exchange(self, command: int, params: bytes = b"", timeout: float = 1.0) -> bytes:
        """Send `command` with `params`, return the response parameters (after the response code)."""
        result = self._exchange(command, params, timeout, abort_on_timeout=False)
        assert result is not None
        return result

    def exchange_or_abort(self, command: int, params: bytes, timeout: float) -> bytes | None:
        """For commands that wait for an event (InListPassiveTarget with infinite retries): if no response
        comes within `timeout` after the ACK, cancel the command with a host ACK and return None."""
        return self._exchange(command, params, timeout, abort_on_timeout=True)

    def _exchange(self, command: int, params: bytes, timeout: float, *, abort_on_timeout: bool) -> bytes | None:
        frame = build_command(command, params)
        if self.asleep:
            frame = WAKEUP_PREAMBLE + frame
            self.asleep = False
        expected = (command + 1) & 0xFF
        self.transport.discard_input()  # a late duplicate of an earlier response must not answer this one
        self._stream.clear()
        acked = False
        sends = 0
        nacks = 0
        response_deadline = 0.0
        ack_deadline = 0.0
        while True:
            if not acked and time.monotonic() >= ack_deadline:  # first send, or no ACK within its window
                if sends >= self.max_sends:
                    raise DeviceTimeout(f"no ACK for command 0x{command:02X} after {sends} sends",
                                        device=self.transport.device)
                self._stream.clear()
                self.transport.write(frame)
                sends += 1
                if sends > 1:
                    self.resends += 1
                # The ACK can only come after the whole frame has gone out (276 ms for 265 bytes at 9600).
                ack_deadline = time.monotonic() + ACK_TIMEOUT_S + len(frame) * 10 / self.transport.baud
            got = self._next_frame(response_deadline if acked else ack_deadline)
            if got is None:
                if not acked:
                    continue  # command lost: send it again
                if abort_on_timeout and nacks == 0:
                    self.transport.write(ACK)  # nothing happened in time: cancel the waiting command
                    return None
                if nacks < MAX_NACKS:
                    nacks += 1
                    self.transport.write(NACK)
                    response_deadline = time.monotonic() + max(ACK_TIMEOUT_S, timeout / 2)
                    continue
                self.transport.write(ACK)  # abort whatever the chip is still doing
                raise DeviceTimeout(f"no response to command 0x{command:02X}", device=self.transport.device)
            if got.kind is FrameKind.ACK:
                if not acked:
                    acked = True
                    response_deadline = time.monotonic() + timeout
                continue
            if got.kind is FrameKind.NACK:
                continue  # the chip never NACKs the host; treat as line noise
            if got.kind is FrameKind.ERROR:
                if got is _GARBLED:
                    if not acked:
                        acked = True  # something came back: assume the command arrived and ask again
                        response_deadline = time.monotonic() + timeout
                    if nacks >= MAX_NACKS:
                        raise ProtocolError(f"response to 0x{command:02X} stayed corrupt after {nacks} NACKs",
                                            device=self.transport.device)
                    nacks += 1
                    self.transport.write(NACK)
                    continue
                raise ProtocolError(f"the chip rejected command 0x{command:02X} (syntax error frame)",
                                    device=self.transport.device)
            if got.tfi != CHIP_TO_HOST or got.command != expected:
                log.debug("ignoring stray frame %r while waiting for 0x%02X", got, expected)
                continue
            if sends > 1:
                self._settle(command)
            return got.payload

    def _settle(self, command: int) -> None:
        """Drop every late answer to the extra copies of `command`: the chip works through frames in order, so
        once the echo of a line test with a fresh nonce is back, nothing older can arrive any more."""
        nonce = secrets.token_bytes(4)
        self.transport.write(build_command(DIAGNOSE, b"\x00" + nonce))
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        dropped = 0
        while True:
            got = self._next_frame(deadline)
            if got is None:
                raise DeviceTimeout(f"the line did not settle after command 0x{command:02X} went more than once",
                                    device=self.transport.device)
            if got.kind is FrameKind.DATA and got.tfi == CHIP_TO_HOST and got.command == DIAGNOSE + 1 \
                    and got.payload == b"\x00" + nonce:
                self.duplicates_dropped += dropped
                return
            if got.kind is not FrameKind.ACK:
                dropped += 1
