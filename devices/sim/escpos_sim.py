"""SimPrinter: an ESC/POS printer on TCP (and a pty) that answers DLE EOT, renders cut receipts, injects faults."""
from __future__ import annotations

import logging
import os
import select
import socket
import struct
import threading
import time
import tty
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from devices.sim.escpos_paper import Paper
from devices.sim.escpos_parser import EscposParser, OpKind
from devices.sim.escpos_render import DEFAULT_FONT, load_font, save

log = logging.getLogger(__name__)
POLL_S = 0.1  # how often idle threads look at the stop flag


class SimState(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    NO_REPLY = "no_reply"


# DLE EOT replies for n = 1 (printer), 2 (offline cause), 3 (error cause), 4 (paper sensor).
STATUS_REPLIES: dict[SimState, tuple[int, int, int, int]] = {
    SimState.OK: (0x12, 0x12, 0x12, 0x12),
    SimState.NEAR_END: (0x12, 0x12, 0x12, 0x1E),
    SimState.OUT: (0x1A, 0x32, 0x12, 0x72),
    SimState.COVER_OPEN: (0x1A, 0x16, 0x12, 0x12),
    SimState.OFFLINE: (0x1A, 0x52, 0x32, 0x12),
}
PRINTING_STATES = (SimState.OK, SimState.NEAR_END, SimState.NO_REPLY)


class SimPrinter:
    """The printer. Start it, point a driver at `url` (or `pty_path`), read `records`.

    Fault injection: `set_state` (any SimState, scripted from tests or the CLI's stdin),
    `paper_out_after(rows)` (paper ends in the middle of the next job), `refuse_connections`,
    `reset_connections` (TCP RST), `power_cycle`, `delay_next_status_reply` (one reply comes late, as on a
    busy printer or a slow serial adapter; everything after it waits behind it). `wire_baud` makes every byte take its time on a
    serial line of that speed before the printer sees it, so a status request sent right behind a
    job is answered only once the job has crossed the wire, as on a real 9600-baud printer.
    """

    def __init__(self, out_dir: Path | str, host: str = "127.0.0.1", port: int = 9100, pty: bool = False,
                 state: SimState | str = SimState.OK, encoding: str = "gb18030", chinese_default: bool = True,
                 paper_dots: int = 576, font_path: str = DEFAULT_FONT, profile: str = "default",
                 on_receipt: Callable[[dict], None] | None = None, wire_baud: int | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.host, self.port = host, port
        self.want_pty = pty
        self.state = SimState(state)
        self.paper_dots = paper_dots
        self.font_path = font_path
        self.on_receipt = on_receipt
        self.wire_baud = wire_baud  # when set, bytes take their 8N1 time on a wire this fast (10 bits a byte)
        self._paper_args = dict(paper_dots=paper_dots, chinese_default=chinese_default, encoding=encoding,
                                profile=profile)
        self.paper = Paper(**self._paper_args)
        self.records: list[dict] = []
        self.bytes_received = 0
        self.status_requests = 0  # DLE EOT requests received (3 bytes each)
        self.pty_path = ""
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._rows_left: int | None = None
        self._reset_on_job = False
        self._reply_delay = 0.0
        self._state_after: tuple[int, SimState] | None = None
        self._pty_fds: tuple[int, int] | None = None

    # -- life cycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> SimPrinter:
        """Listen (TCP, and the pty when asked). Raises OSError when the port is taken and
        FontMissing when the font for the pictures cannot be loaded."""
        load_font(self.font_path, 24)
        self._listen()
        self._spawn(self._accept_loop, "sim-printer-accept")
        if self.want_pty:
            master, slave = os.openpty()
            tty.setraw(slave)
            self._pty_fds = (master, slave)
            self.pty_path = os.ttyname(slave)
            self._spawn(self._pty_loop, "sim-printer-pty")
        return self

    def stop(self) -> None:
        self._stop.set()
        self.reset_connections()
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        for thread in self._threads:
            thread.join(timeout=2)
        if self._pty_fds:
            for fd in self._pty_fds:
                os.close(fd)
            self._pty_fds = None

    def __enter__(self) -> SimPrinter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(8)
        listener.setblocking(False)  # accept() runs under the lock and must never wait
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener

    # -- fault injection -----------------------------------------------------------------------------
    def set_state(self, state: SimState | str) -> None:
        with self._lock:
            self.state = SimState(state)
            self.paper.accepting = self.state in PRINTING_STATES
            if not self.paper.accepting and self.paper.receipt.rows:
                self.paper.receipt.complete = False

    def paper_out_after(self, rows: int) -> None:
        """The paper ends once the job being printed has `rows` rows: the rest of it is lost."""
        with self._lock:
            self._rows_left = rows

    def reset_next_job(self) -> None:
        """The connection is reset (TCP RST) as soon as the next job's data arrives; nothing prints."""
        with self._lock:
            self._reset_on_job = True

    def delay_next_status_reply(self, seconds: float) -> None:
        """The next status reply (answered from the state at the time of its request) is sent `seconds` late;
        the printer reads nothing more from that line meanwhile, so later requests are answered after it."""
        with self._lock:
            self._reply_delay = seconds

    def set_state_after(self, requests: int, state: SimState | str) -> None:
        """Answer the next `requests` status requests from the current state, then change to `state` (the
        paper runs out, the cover is opened between two status checks of the host)."""
        with self._lock:
            self._state_after = (requests, SimState(state))

    def traffic(self) -> tuple[int, int]:
        """(bytes received, status requests received), read together."""
        with self._lock:
            return self.bytes_received, self.status_requests

    def refuse_connections(self, refuse: bool = True) -> None:
        """Close the listening port (connect gets ECONNREFUSED) or open it again on the same port."""
        with self._lock:
            if refuse and self._listener is not None:
                try:
                    self._listener.shutdown(socket.SHUT_RDWR)  # stops listening at once, even mid-select
                except OSError:
                    pass
                self._listener.close()
                self._listener = None
            elif not refuse and self._listener is None:
                self._listen()

    def reset_connections(self) -> None:
        """Drop every open connection with a TCP reset."""
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            _rst(conn)

    def power_cycle(self) -> None:
        """Connections die, modes return to power-on defaults, paper is loaded, state is OK."""
        self.reset_connections()
        with self._lock:
            self.paper = Paper(**self._paper_args)
            self.state = SimState.OK
            self._rows_left = None

    def wait_for_records(self, count: int, timeout: float = 5.0) -> list[dict]:
        """The first `count` records, waiting up to `timeout` seconds for them to be cut."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.records) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.records)} receipts printed, expected {count}")
                self._changed.wait(left)
            return list(self.records[:count])

    # -- the printer ---------------------------------------------------------------------------------
    def _wire(self, data: bytes) -> None:
        """The time `data` spends on the emulated serial line (nothing without `wire_baud`)."""
        if self.wire_baud:
            self._stop.wait(len(data) * 10 / self.wire_baud)

    def process(self, parser: EscposParser, data: bytes) -> bytes:
        """Bytes from the host in; bytes to send back (status replies) out."""
        reply = bytearray()
        with self._lock:
            self.bytes_received += len(data)
            for op in parser.feed(data):
                if op.kind is OpKind.STATUS:
                    self.status_requests += 1
                    if self.state is not SimState.NO_REPLY and 1 <= op.n <= 4:
                        reply.append(STATUS_REPLIES[self.state if self.state in STATUS_REPLIES else SimState.OK][op.n - 1])
                    self._count_down_state_change()
                    continue
                if op.kind is OpKind.PRINTER_ID:
                    if self.state is not SimState.NO_REPLY:
                        reply.append(0x20)
                    continue
                if self._reset_on_job and op.kind is not OpKind.IGNORED:
                    self._reset_on_job = False
                    raise ConnectionAbortedError("fault injection: connection reset during a job")
                done = self.paper.apply(op)
                if self._rows_left is not None and len(self.paper.receipt.rows) >= self._rows_left:
                    self._rows_left = None
                    self.set_state(SimState.OUT)
                if done is not None and (done.rows or not done.complete):
                    self._keep(done)
        return bytes(reply)

    def _count_down_state_change(self) -> None:
        if self._state_after is None:
            return
        left, state = self._state_after
        self._state_after = (left - 1, state) if left > 1 else None
        if left <= 1:
            self.set_state(state)

    def _hold_reply(self) -> None:
        """Wait out a delay set by `delay_next_status_reply` before a reply goes out (outside the lock)."""
        with self._lock:
            delay, self._reply_delay = self._reply_delay, 0.0
        if delay:
            self._stop.wait(delay)

    def _keep(self, receipt) -> None:
        sequence = len(self.records) + 1
        try:
            data = save(receipt, self.out_dir, sequence, self.paper_dots, self.font_path, state=str(self.state))
        except Exception as exc:  # a picture that cannot be drawn must not stop the printer
            log.exception("cannot render receipt %d", sequence)
            data = {"sequence": sequence, "lines": receipt.text_lines(), "errors": [f"render failed: {exc}"]}
        self.records.append(data)
        self._changed.notify_all()
        if self.on_receipt is not None:
            self.on_receipt(data)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._stop.wait(POLL_S)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], POLL_S)
                if not ready:
                    continue
                # accept and register under the lock: a reset or refusal cannot slip in between and
                # miss a connection that was accepted but not yet in _conns
                with self._lock:
                    if self._listener is not listener:
                        continue
                    conn, _ = listener.accept()
                    self._conns.add(conn)
            except (OSError, ValueError):  # refused meanwhile, or nothing left to accept (non-blocking)
                continue
            self._spawn(self._serve, "sim-printer-conn", conn)

    def _serve(self, conn: socket.socket) -> None:
        parser = EscposParser()
        try:
            conn.settimeout(POLL_S)  # inside the try: a reset may close the socket before this thread runs
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                self._wire(data)
                reply = self.process(parser, data)
                if reply:
                    self._hold_reply()
                    conn.sendall(reply)
        except ConnectionAbortedError:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
        except OSError:
            pass  # reset by a fault injection or by the host
        finally:
            left = parser.finish()
            if left:
                log.info("connection ended inside a command; %d bytes dropped", left)
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _pty_loop(self) -> None:
        assert self._pty_fds is not None
        master = self._pty_fds[0]
        parser = EscposParser()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], POLL_S)
                if not ready:
                    continue
                data = os.read(master, 65536)
            except OSError:
                break
            self._wire(data)
            try:
                reply = self.process(parser, data)
            except ConnectionAbortedError:
                continue  # a pty cannot be reset: the job is just lost
            if reply:
                self._hold_reply()
                os.write(master, reply)


def _rst(conn: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a pulled cable or a power cycle looks to the host."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass
