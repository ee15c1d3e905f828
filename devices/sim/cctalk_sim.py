"""`SimBillValidator`: a ccTalk bill validator on a pseudo-terminal, speaking the real bytes.

Notes are scripted (`insert_note(20)` puts a 20-yuan note in the slot); escrow holds a note
until the host routes it (or an optional escrow timeout returns it); faults are injected by
name: jam, stacker full / removed, reject, fraud, no reply, power-up reset (counter 0). An
optional echo mode writes every host byte back first, as a single-wire ccTalk bus does. The
same commands are available as text lines (`execute`) for the CLI and its control socket.
"""
from __future__ import annotations

import json
import logging
import os
import select
import socketserver
import threading
import time
import tty
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol, TextIO

from devices.cash import cctalk_bills as bills
from devices.cash import cctalk_frames as ft

log = logging.getLogger(__name__)

DEFAULT_BILLS: Mapping[int, int] = {1: 1, 2: 5, 3: 10, 4: 20, 5: 50, 6: 100}  # bill type -> yuan
ESCROW_MODE = 0x02
INTER_BYTE_TIMEOUT_S = 0.05
STACKER_MODE = 0x01


class SimBillValidator:
    """A bill validator behind a pty. Thread-safe; `start()` returns the slave path for the driver."""

    def __init__(self, address: int = ft.DEFAULT_VALIDATOR_ADDRESS, *, echo: bool = False,
                 checksum: str = "simple", bills_yuan: Mapping[int, int] = DEFAULT_BILLS,
                 category: str = "Bill Validator", manufacturer: str = "SIM",
                 product_code: str = "SIMBV-CN6", serial_number: int = 0x0A1B2C,
                 stacker_capacity: int = 500, escrow_timeout_s: float | None = None) -> None:
        self.address = address
        self.echo = echo
        self.checksum = ft.ChecksumKind(checksum)
        self.bills_yuan = dict(bills_yuan)
        self.category = category
        self.manufacturer = manufacturer
        self.product_code = product_code
        self.serial_number = serial_number
        self.stacker_capacity = stacker_capacity
        self.escrow_timeout_s = escrow_timeout_s
        self.no_reply = False
        self.jam_on_stack = False
        self.commands_seen: list[int] = []  # headers received, for tests
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.path = ""
        self._power_up()
        self.cash_box: list[int] = []  # bill types stacked since the box was last emptied
        self.stacker_removed = False

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="sim-cctalk", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> SimBillValidator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- state --------------------------------------------------------------------------------
    def _power_up(self) -> None:
        with self._lock:
            self.counter = 0
            self.events: deque[tuple[int, int]] = deque(maxlen=bills.EVENT_SLOTS)  # newest first
            self.master_enabled = False
            self.enabled_types: set[int] = set()
            self.mode = STACKER_MODE
            self.escrow: int | None = None
            self._escrow_since = 0.0
            self.jammed = False
            self.stacker_full = False
            self.reject_next = 0

    def _event(self, result_a: int, result_b: int) -> None:
        self.counter = bills.next_counter(self.counter)
        self.events.appendleft((result_a, result_b))

    def _status(self, name: str) -> None:
        self._event(0, bills.STATUS_BY_NAME[name])

    @property
    def stacked_fen(self) -> int:
        """Value of the notes in the cash box, in fen (what a shift handover counts)."""
        with self._lock:
            return sum(self.bills_yuan[t] * 100 for t in self.cash_box)

    def _type_for(self, yuan: int) -> int | None:
        return next((t for t, v in self.bills_yuan.items() if v == yuan), None)

    # --- what a person does at the slot -------------------------------------------------------
    def insert_note(self, yuan: int) -> str:
        """Put a note in; returns what the validator did: escrow, stacked, rejected, inhibited, busy, out_of_service."""
        with self._lock:
            if self.escrow is not None:
                return "busy"
            if self.jammed or self.stacker_full or self.stacker_removed:
                return "out_of_service"
            bill_type = self._type_for(yuan)
            if self.reject_next or bill_type is None:
                self.reject_next = max(0, self.reject_next - 1)
                self._status("reject")
                return "rejected"
            if not self.master_enabled or bill_type not in self.enabled_types:
                self._status("inhibited")
                return "inhibited"
            if self.mode & ESCROW_MODE:
                self.escrow = bill_type
                self._escrow_since = time.monotonic()
                self._event(bill_type, 1)
                return "escrow"
            return self._stack(bill_type)

    def _stack(self, bill_type: int) -> str:
        self.escrow = None
        if self.jam_on_stack:
            self.jam_on_stack = False
            self.jammed = True
            self._status("jam_stacker")
            return "jammed"
        self.cash_box.append(bill_type)
        self._event(bill_type, 0)
        if len(self.cash_box) >= self.stacker_capacity:
            self.stacker_full = True
            self._status("stacker_full")
        return "stacked"

    # --- faults -------------------------------------------------------------------------------
    def jam(self) -> None:
        with self._lock:
            self.jammed = True
            self.escrow = None  # the note is stuck in the transport
            self._status("jam")

    def fill_stacker(self) -> None:
        with self._lock:
            self.stacker_full = True
            self._status("stacker_full")

    def remove_stacker(self) -> None:
        with self._lock:
            self.stacker_removed = True
            self._status("stacker_removed")

    def insert_stacker(self) -> None:
        with self._lock:
            self.stacker_removed = False
            self._status("stacker_inserted")

    def empty_cash_box(self) -> list[int]:
        """Staff empty the box: returns the bill types taken out and clears 'stacker full'."""
        with self._lock:
            taken, self.cash_box = self.cash_box, []
            self.stacker_full = False
            return taken

    def fraud(self, kind: str = "fraud") -> None:
        with self._lock:
            if kind not in ("fraud", "tamper", "opto_fraud", "string_fraud"):
                raise ValueError(f"unknown fraud kind {kind!r}")
            self.escrow = None
            self._status(kind)

    def clear_faults(self) -> None:
        with self._lock:
            self.jammed = False
            self.jam_on_stack = False
            self.reject_next = 0

    def power_cycle(self) -> None:
        """Power off and on: a note in escrow is pushed back out, counter 0, everything inhibited."""
        with self._lock:
            self._power_up()

    # --- the wire -----------------------------------------------------------------------------
    def _serve(self) -> None:
        buffer = bytearray()
        last_rx = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.02)
            self._escrow_timeout()
            if not ready:
                if buffer and time.monotonic() - last_rx > INTER_BYTE_TIMEOUT_S:
                    buffer.clear()  # a torn frame: ccTalk devices drop it after the inter-byte timeout
                continue
            last_rx = time.monotonic()
            try:
                chunk = os.read(self._master, 512)
            except OSError:
                continue
            if self.echo:
                os.write(self._master, chunk)
            buffer += chunk
            while buffer:
                try:
                    frame, used = ft.split_frame(bytes(buffer), self.checksum, source_when_crc=ft.HOST_ADDRESS)
                except ft.FrameError:
                    del buffer[:1]
                    continue
                if frame is None:
                    break
                del buffer[:used]
                if frame.dest not in (self.address, 0):
                    continue
                reply = self._handle(frame)
                if reply is not None and not self.no_reply:
                    os.write(self._master, ft.build_frame(reply, self.checksum))

    def _escrow_timeout(self) -> None:
        with self._lock:
            if (self.escrow is not None and self.escrow_timeout_s is not None
                    and time.monotonic() - self._escrow_since > self.escrow_timeout_s):
                self.escrow = None
                self._status("returned")

    def _handle(self, request: ft.Frame) -> ft.Frame | None:
        with self._lock:
            self.commands_seen.append(request.header)
            data = self._answer(request.header, request.data)
        if data is None:
            return ft.Frame(request.source, self.address, ft.NAK)
        return ft.Frame(request.source, self.address, ft.ACK, data)

    def _answer(self, header: int, data: bytes) -> bytes | None:
        """Reply data for a command, or None for NAK."""
        if header == ft.SIMPLE_POLL:
            return b""
        if header == ft.RESET_DEVICE:
            self._power_up()
            return b""
        if header == ft.REQUEST_EQUIPMENT_CATEGORY:
            return self.category.encode("ascii")
        if header == ft.REQUEST_MANUFACTURER_ID:
            return self.manufacturer.encode("ascii")
        if header == ft.REQUEST_PRODUCT_CODE:
            return self.product_code.encode("ascii")
        if header == ft.REQUEST_SERIAL_NUMBER:
            return self.serial_number.to_bytes(3, "little")
        if header == ft.REQUEST_BILL_ID and len(data) == 1:
            yuan = self.bills_yuan.get(data[0])
            return f"CN{yuan:04d}A".encode("ascii") if yuan else b"\x00" * 7
        if header == ft.REQUEST_COUNTRY_SCALING:
            return b"\x01\x00\x00" if data == b"CN" else b"\x00\x00\x00"
        if header == ft.READ_BUFFERED_BILL_EVENTS:
            return bills.build_event_buffer(self.counter, list(self.events))
        if header == ft.MODIFY_INHIBIT_STATUS and len(data) == 2:
            self.enabled_types = bills.enabled_types(data) & set(self.bills_yuan)
            return b""
        if header == ft.REQUEST_INHIBIT_STATUS:
            return bills.inhibit_mask(self.enabled_types)
        if header == ft.MODIFY_MASTER_INHIBIT and len(data) == 1:
            self.master_enabled = bool(data[0] & 1)
            return b""
        if header == ft.REQUEST_MASTER_INHIBIT:
            return bytes((1 if self.master_enabled else 0,))
        if header == ft.MODIFY_BILL_OPERATING_MODE and len(data) == 1:
            self.mode = data[0] & (STACKER_MODE | ESCROW_MODE)
            return b""
        if header == ft.ROUTE_BILL and len(data) == 1:
            return self._route(data[0])
        return None

    def _route(self, route: int) -> bytes:
        if self.escrow is None:
            return bytes((bills.ROUTE_ERROR_ESCROW_EMPTY,))
        if route == bills.ROUTE_RETURN:
            self.escrow = None
            self._status("returned")
            return b""
        if route == bills.ROUTE_STACK:
            if self.stacker_full or self.stacker_removed or self.jammed:
                return bytes((bills.ROUTE_ERROR_FAILED,))
            self._stack(self.escrow)
            return b""
        if route == 255:  # extend the escrow timeout
            self._escrow_since = time.monotonic()
            return b""
        return bytes((bills.ROUTE_ERROR_FAILED,))

    # --- text commands (CLI, control socket) --------------------------------------------------
    def status(self) -> dict[str, object]:
        with self._lock:
            return {
                "path": self.path, "address": self.address, "counter": self.counter,
                "events": [list(e) for e in self.events], "master_enabled": self.master_enabled,
                "enabled_yuan": sorted(self.bills_yuan[t] for t in self.enabled_types),
                "escrow_yuan": self.bills_yuan[self.escrow] if self.escrow else None,
                "jammed": self.jammed, "stacker_full": self.stacker_full,
                "stacker_removed": self.stacker_removed, "no_reply": self.no_reply,
                "echo": self.echo, "cash_box_fen": self.stacked_fen, "notes_in_box": len(self.cash_box),
            }

    def execute(self, line: str) -> str:
        """Run one text command; returns a one-line answer. `help` lists them."""
        words = line.strip().split()
        if not words:
            return ""
        cmd, args = words[0].lower(), words[1:]
        try:
            return self._execute(cmd, args)
        except (ValueError, IndexError) as exc:
            return f"error: {exc}"

    def _execute(self, cmd: str, args: list[str]) -> str:
        simple = {
            "jam": self.jam, "full": self.fill_stacker, "remove-stacker": self.remove_stacker,
            "insert-stacker": self.insert_stacker, "clear": self.clear_faults, "reset": self.power_cycle,
        }
        if cmd in simple:
            simple[cmd]()
            return "ok"
        if cmd == "insert":
            return self.insert_note(int(args[0]))
        if cmd == "fraud":
            self.fraud(args[0] if args else "fraud")
            return "ok"
        if cmd == "reject":
            with self._lock:
                self.reject_next += 1
            return "ok"
        if cmd == "jam-on-stack":
            with self._lock:
                self.jam_on_stack = True
            return "ok"
        if cmd in ("noreply", "echo"):
            flag = _on_off(args[0])
            setattr(self, "no_reply" if cmd == "noreply" else "echo", flag)
            return "ok"
        if cmd == "escrow-timeout":
            self.escrow_timeout_s = None if args[0] == "off" else float(args[0])
            return "ok"
        if cmd == "empty":
            return f"took {len(self.empty_cash_box())} notes"
        if cmd == "status":
            return json.dumps(self.status(), ensure_ascii=False)
        if cmd == "help":
            return ("commands: insert YUAN | reject | jam | jam-on-stack | full | empty | remove-stacker | "
                    "insert-stacker | fraud [tamper|opto_fraud|string_fraud] | clear | reset | "
                    "noreply on|off | echo on|off | escrow-timeout S|off | status")
        raise ValueError(f"unknown command {cmd!r} (try help)")


def _on_off(word: str) -> bool:
    if word.lower() in ("on", "1", "true", "yes"):
        return True
    if word.lower() in ("off", "0", "false", "no"):
        return False
    raise ValueError(f"expected on/off, got {word!r}")


def start_control_server(execute: Callable[[str], str], port: int = 0) -> socketserver.ThreadingTCPServer:
    """A line-per-command TCP server on 127.0.0.1 (`printf 'insert 20\\n' | nc 127.0.0.1 PORT`)."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for raw in self.rfile:
                answer = execute(raw.decode("utf-8", errors="replace"))
                self.wfile.write((answer + "\n").encode("utf-8"))

    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sim-cctalk-control", daemon=True).start()
    return server


class PtySimulator(Protocol):
    """A simulator on a pseudo-terminal driven by text commands (the bill validator, the scanner)."""

    def start(self) -> str: ...
    def execute(self, command: str) -> str: ...
    def stop(self) -> None: ...


def run_interactive(sim: PtySimulator, commands: TextIO, out: TextIO, control_port: int | None = None,
                    stop: threading.Event | None = None) -> None:
    """Start `sim`, print its path (first line), then run text commands until EOF and `stop`."""
    path = sim.start()
    server = None
    try:
        out.write(path + "\n")
        if control_port is not None:
            server = start_control_server(sim.execute, control_port)
            out.write(f"control 127.0.0.1:{server.server_address[1]}\n")
        out.flush()
        for line in commands:
            answer = sim.execute(line)
            if answer:
                out.write(answer + "\n")
                out.flush()
        (stop or threading.Event()).wait()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        sim.stop()
