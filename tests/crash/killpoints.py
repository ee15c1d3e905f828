"""Kill points, enumerated by the kiosk process itself: every database commit and every device I/O boundary.

Installed in the child process only (production code stays as it is): the hooks wrap the transports the
kiosk's own code goes through, at class level, so every engine, port and gateway client of the process is seen.

- a database commit: `DefaultDialect.do_commit`, the DBAPI commit of every SQLAlchemy connection (SQLite and
  PostgreSQL); two points, before the COMMIT reaches the database and after it returned. The label names the
  tables the transaction wrote (`db.commit payments,audit_entries`), or `read` for a read-only one;
- a write to a serial port (`serial.Serial.write`: the ccTalk bill validator and the PN532 reader on their ptys):
  two points, before the bytes are handed to the port and after; labelled with the command
  (`cash.write 159`, `reader.write 4A`, `reader.write ack`);
- the answer to it: the first read that returns bytes after a write, one point (its "before" side is the
  write's "after": nothing happens between the two that a crash could tell apart);
- an HTTP request to the QR gateway (`urllib.request.urlopen`, what `SandboxGateway` calls): two points, before
  the request is sent and after the answer (or the error) came back; labelled with the method and path
  (`gateway POST /v1/orders`).

Points are numbered from 1 in the order they are reached, over every thread of the process. A run with
`kill_at=N` sends SIGKILL to its own process at point N (`os.kill(os.getpid(), SIGKILL)`), right there.
"""
from __future__ import annotations

import os
import re
import signal
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

_WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_ID_LIKE = re.compile(r"[A-Z]{1,3}\d{6,}[-\w]*|\d{3,}")


class KillPoints:
    """Counts boundaries; dies at point `kill_at` (0: never). `labels` holds every point reached, in order."""

    def __init__(self, kill_at: int = 0, on_kill: Callable[[int, str], None] | None = None) -> None:
        self.kill_at = kill_at
        self.on_kill = on_kill
        self.armed = False  # points count only once the flow starts (start-up is not part of a flow)
        self.labels: list[str] = []
        self._lock = threading.Lock()

    def hit(self, side: str, label: str) -> None:
        if not self.armed:
            return
        with self._lock:
            self.labels.append(f"{side} {label}")
            n = len(self.labels)
        if n == self.kill_at:
            if self.on_kill is not None:
                self.on_kill(n, self.labels[-1])
            os.kill(os.getpid(), signal.SIGKILL)

    # --- installing the hooks -------------------------------------------------------------------------
    def install(self, device_of: Callable[[str], str]) -> None:
        """Wrap the transports. `device_of(port_path)` names the device behind a serial port."""
        _hook_commits(self)
        _hook_serial(self, device_of)
        _hook_http(self)


def _hook_commits(points: KillPoints) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.default import DefaultDialect

    written: dict[int, set[str]] = {}

    @event.listens_for(Engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        match = _WRITE.match(statement)
        if match:
            written.setdefault(id(conn.connection), set()).add(match.group(1).lower())

    original = DefaultDialect.do_commit

    def do_commit(self: DefaultDialect, dbapi_connection: Any) -> None:
        tables = written.pop(id(dbapi_connection), set())
        label = "db.commit " + (",".join(sorted(tables)) if tables else "read")
        points.hit("before", label)
        original(self, dbapi_connection)
        points.hit("after", label)

    original_rollback = DefaultDialect.do_rollback

    def do_rollback(self: DefaultDialect, dbapi_connection: Any) -> None:
        written.pop(id(dbapi_connection), None)
        original_rollback(self, dbapi_connection)

    DefaultDialect.do_commit = do_commit  # type: ignore[method-assign]
    DefaultDialect.do_rollback = do_rollback  # type: ignore[method-assign]


def describe_serial(device: str, data: bytes) -> str:
    """A short, stable name for what is written: the ccTalk header, the PN532 command or frame kind."""
    if device == "cash" and len(data) >= 4:
        return str(data[3])
    if device == "reader":
        if data.startswith(b"\x00\x00\xff\x00\xff\x00"):
            return "ack"
        if data.startswith(b"\x00\x00\xff\xff\x00\x00"):
            return "nack"
        if data.startswith(b"\x55\x55"):
            return "wakeup"
        start = data.find(b"\x00\xff")
        if start >= 0 and len(data) > start + 5 and data[start + 4] == 0xD4:
            return f"{data[start + 5]:02X}"
    return f"{len(data)}B"


def _hook_serial(points: KillPoints, device_of: Callable[[str], str]) -> None:
    import serial.serialposix

    cls = serial.serialposix.Serial
    original_write, original_read = cls.write, cls.read
    waiting: dict[int, str] = {}

    def write(self: Any, data: Any) -> Any:
        device = device_of(str(self.port))
        label = f"{device}.write {describe_serial(device, bytes(data))}"
        points.hit("before", label)
        n = original_write(self, data)
        waiting[id(self)] = f"{device}.reply {describe_serial(device, bytes(data))}"
        points.hit("after", label)
        return n

    def read(self: Any, size: int = 1) -> Any:
        data = original_read(self, size)
        if data:
            label = waiting.pop(id(self), None)
            if label is not None:
                points.hit("after", label)
        return data

    cls.write = write  # type: ignore[method-assign]
    cls.read = read  # type: ignore[method-assign]


def _hook_http(points: KillPoints) -> None:
    original = urllib.request.urlopen

    def urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(request, urllib.request.Request):
            method, path = request.get_method(), urllib.parse.urlsplit(request.full_url).path
        else:
            method, path = "GET", urllib.parse.urlsplit(str(request)).path
        label = f"gateway {method} {_ID_LIKE.sub('{id}', path)}"
        points.hit("before", label)
        try:
            return original(request, *args, **kwargs)
        finally:
            points.hit("after", label)

    urllib.request.urlopen = urlopen  # type: ignore[assignment]
