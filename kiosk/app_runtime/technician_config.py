"""The technician's device file: atomic save, last-known-good kept, restored when a new file fails to start.

Files in the data directory:
- `technician.toml`            the override layer `kiosk.settings.load` reads last;
- `technician.last-good.toml`  the file the kiosk last started with successfully;
- `technician.pending`         present while the current file has never started successfully.

Life cycle: `save()` writes the new file (temp file, fsync, rename). When the current file is proven
(no pending marker) it becomes the last-good copy first; a second save before any start keeps the
older proven copy. At start the CLI wraps building and starting the runtime in `start_with_fallback()`:
`restore_last_good()` when that failed while a file is pending, `confirm_started()` once every
configured device opened.
"""
from __future__ import annotations

import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from kiosk.errors import ConfigError
from kiosk.flows.tool_records import DEVICES, DeviceChoice, SavedConfig
from kiosk.private_files import make_private_dir, write_private_bytes
from kiosk.settings import LAST_GOOD_FILE, TECHNICIAN_FILE

log = logging.getLogger(__name__)
PENDING_FILE = "technician.pending"
T = TypeVar("T")


def paths(data_dir: Path) -> tuple[Path, Path, Path]:
    d = Path(data_dir)
    return d / TECHNICIAN_FILE, d / LAST_GOOD_FILE, d / PENDING_FILE


def _atomic_write(path: Path, data: bytes) -> None:
    write_private_bytes(path, data)  # 0600, like every file in the data dir (kiosk.private_files)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read(data_dir: Path) -> dict[str, Any]:
    current, _, _ = paths(data_dir)
    if not current.exists():
        return {}
    try:
        return tomllib.loads(current.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key=f"{current}: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # not UTF-8, an integer of thousands of digits, deep nesting
        raise ConfigError(key=f"{current}: not a settings file ({type(exc).__name__})") from None


def merged(existing: dict[str, Any], choices: Iterable[DeviceChoice]) -> dict[str, Any]:
    """The technician file with each chosen device's driver, url (and baud for the reader) replaced;
    other keys the file had (printer columns, cash address ...) are kept."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in existing.items()}
    devices = {k: dict(v) for k, v in out.get("devices", {}).items()}
    for c in choices:
        if c.device not in DEVICES:
            raise ConfigError(key=f"devices.{c.device}")
        section = devices.setdefault(c.device, {})
        if c.device == "scanner":  # [devices.scanner] says kind / port / baud
            section["kind"], section["port"] = c.driver, c.url
            if c.baud:
                section["baud"] = int(c.baud)
            continue
        section["driver"], section["url"] = c.driver, c.url
        if c.device == "reader" and c.baud:
            section["baud"] = int(c.baud)
        if c.device == "cash":
            section["enabled"] = bool(c.url)
    out["devices"] = devices
    return out


def save(data_dir: Path, choices: Iterable[DeviceChoice]) -> SavedConfig:
    """Write the new technician file atomically; the proven previous file becomes last-known-good."""
    current, last_good, pending = paths(data_dir)
    make_private_dir(current.parent)
    new = tomli_w.dumps(merged(read(data_dir), choices)).encode("utf-8")
    if current.exists() and not pending.exists():
        _atomic_write(last_good, current.read_bytes())
    _atomic_write(pending, b"technician.toml has not started yet\n")
    _atomic_write(current, new)
    log.info("technician file saved: %s (last good: %s)", current, last_good if last_good.exists() else "none")
    return SavedConfig(str(current), str(last_good) if last_good.exists() else "")


def is_pending(data_dir: Path) -> bool:
    return paths(data_dir)[2].exists()


def restore_last_good(data_dir: Path) -> bool:
    """After a failed start with a pending technician file: put the last-good file back (or remove the
    new file when there was none, back to the site configuration). Returns whether anything changed."""
    current, last_good, pending = paths(data_dir)
    if not pending.exists():
        return False
    if last_good.exists():
        _atomic_write(current, last_good.read_bytes())
        log.warning("the new technician file did not start; %s restored", last_good.name)
    else:
        current.unlink(missing_ok=True)
        log.warning("the new technician file did not start; removed (no last-good file), site configuration used")
    pending.unlink(missing_ok=True)
    return True


def confirm_started(data_dir: Path) -> None:
    """Every configured device opened with the current file: it is proven (the next save keeps it)."""
    current, last_good, pending = paths(data_dir)
    if pending.exists():
        pending.unlink()
        if current.exists():
            _atomic_write(last_good, current.read_bytes())


def devices_opened(rt: Any, timeout_s: float = 15.0) -> bool:
    """Did every configured device (reader, printer, cash acceptor) open within `timeout_s`?"""
    deadline = time.monotonic() + timeout_s
    return all(sup.wait_available(max(0.0, deadline - time.monotonic())) for sup in rt.supervisors.values())


def start_with_fallback(data_dir: Path, start: Callable[[], T], opened: Callable[[T], bool],
                        stop: Callable[[T], None]) -> T:
    """Start the kiosk; with a technician file that never started before, a start that raises (unknown
    driver, bad option) or whose devices do not open puts the last-good file back and starts once more.
    A start that works proves the file (`confirm_started`). Errors of a proven configuration propagate."""
    pending = is_pending(data_dir)
    try:
        started = start()
    except Exception:
        if not (pending and restore_last_good(data_dir)):
            raise
        log.exception("the kiosk did not start with the new technician file; starting with the last good one")
        return start()
    if not pending:
        return started
    if opened(started):
        confirm_started(data_dir)
        return started
    log.error("a device did not open with the new technician file; starting with the last good one")
    stop(started)
    restore_last_good(data_dir)
    return start()
