"""DLE EOT real-time status: the four requests and their replies decoded into a PrinterStatus."""
from __future__ import annotations

from kiosk.ports import PaperState, PrinterStatus

DLE_EOT = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR = 1, 2, 3, 4
REQUESTS = (PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR)
OFFLINE_CAUSES = 0x6C  # n=2: cover open, feed button, stopped at paper end, error
ERROR_CAUSES = 0x2C  # n=3: autocutter, unrecoverable, auto-recoverable (head temperature, voltage)


def request(n: int) -> bytes:
    return DLE_EOT + bytes([n])


def is_status_byte(value: int) -> bool:
    """Every DLE EOT reply has bits 1 and 4 set and bits 0 and 7 clear."""
    return value & 0x93 == 0x12


def decode(printer: int, offline: int, error: int, paper: int) -> PrinterStatus:
    """The four reply bytes (n = 1, 2, 3, 4) as a PrinterStatus with the causes in plain words."""
    reasons: list[str] = []
    cover_open = bool(offline & 0x04)
    if cover_open:
        reasons.append("cover open")
    if offline & 0x08:
        reasons.append("paper being fed by the feed button")
    if offline & 0x20:
        reasons.append("printing stopped: paper end")
    if error & 0x04:
        reasons.append("autocutter error")
    if error & 0x08:
        reasons.append("unrecoverable error")
    if error & 0x20:
        reasons.append("auto-recoverable error (head temperature)")
    if paper & 0x60:
        state = PaperState.OUT
        reasons.append("paper out")
    elif paper & 0x0C:
        state = PaperState.NEAR_END
        reasons.append("paper near end")
    else:
        state = PaperState.OK
    if offline & 0x40 and not error & 0x2C:
        reasons.append("error")
    # Offline when any of the four says so: the printer byte's offline bit, an offline cause or an error cause.
    # They agree on a printer that answers all four at one moment; when they do not (its state changed
    # between two requests), the snapshot is not ready rather than ready with an error in its reason.
    online = not (printer & 0x08) and not (offline & OFFLINE_CAUSES) and not (error & ERROR_CAUSES)
    if not online and not reasons:
        reasons.append("offline")
    return PrinterStatus(online=online, paper=state, cover_open=cover_open, reason=", ".join(reasons))


def not_ready(reason: str, *, reachable: bool = True) -> PrinterStatus:
    """What a printer that does not answer is: offline, paper unknown. `reachable=False` when not even its
    connection could be made (a serial port that vanished, a refused TCP connection)."""
    return PrinterStatus(online=False, paper=PaperState.UNKNOWN, reason=reason, reachable=reachable)
