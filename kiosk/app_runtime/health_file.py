"""`<data dir>/device-health.json`: each device's state and last error as the running app sees them, for
`kiosk doctor` (which cannot open a port the app holds). Written whole (rename) at every health change and every
reopen attempt of a device that is down (`reopen_attempt`: the next attempt's number, `next_retry_s`, `retry_at`).
Readers: kiosk.site_doctor; keys are only ever added."""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kiosk.runtime.events import DeviceHealth, DeviceHealthChanged, DeviceReopenScheduled, EventBus

FILE = "device-health.json"


class HealthFile:
    def __init__(self, data_dir: Path, bus: EventBus) -> None:
        self.path = data_dir / FILE
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, Any]] = {}
        self._unsubscribers = [bus.subscribe(DeviceHealthChanged, self._changed),
                               bus.subscribe(DeviceReopenScheduled, self._reopening)]

    def _changed(self, event: DeviceHealthChanged) -> None:
        if not self.path.parent.is_absolute():  # a runtime in a test without a data directory of its own
            return
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            entry = self._state.setdefault(str(event.device), {"last_error": "", "last_error_at": ""})
            entry.update(health=str(event.health), reason=event.reason, since=now, pid=os.getpid())
            if event.health is DeviceHealth.UNAVAILABLE and event.reason:
                entry.update(last_error=event.reason, last_error_at=now)
            if event.health is not DeviceHealth.UNAVAILABLE:
                entry.update(reopen_attempt=0, next_retry_s=None, retry_at="")
            self._write()

    def _reopening(self, event: DeviceReopenScheduled) -> None:
        if not self.path.parent.is_absolute():
            return
        at = datetime.now(timezone.utc) + timedelta(seconds=event.delay_s)
        with self._lock:
            entry = self._state.setdefault(str(event.device), {"last_error": "", "last_error_at": ""})
            entry.update(reopen_attempt=event.attempt, next_retry_s=round(event.delay_s, 3),
                         retry_at=at.isoformat(timespec="milliseconds"))
            self._write()

    def _write(self) -> None:
        tmp = self.path.with_name(f".{FILE}.tmp")
        try:
            tmp.write_text(json.dumps(self._state, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # the data dir gone or full: the doctor then says it has no state from the app

    def stop(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()


def read(data_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((data_dir / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
