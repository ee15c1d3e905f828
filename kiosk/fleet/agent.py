"""The kiosk's side of the estate office, on its own thread (never the UI's): a heartbeat every
`[fleet] heartbeat_s`, remote actions looked for every `[fleet] action_poll_s`, and, after each beat, the fleet's
alerts evaluated and the notifier's outbox delivered (any live kiosk does it; kiosk.fleet.alerts says why only one
raises each episode).

While the estate database is gone (kiosk.app_runtime.offline says so) beats are skipped without an attempt; a
beat that fails anyway is logged once per outage, not once per beat, and the first beat after says how many were
skipped.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.errors import KioskError, UnknownKiosk
from kiosk.fleet import heartbeat
from kiosk.persistence.db import unit_of_work

log = logging.getLogger(__name__)


class FleetAgent:
    def __init__(self, rt: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.rt = rt
        self.cfg = rt.settings.fleet
        self.clock = clock
        self.started = clock()
        self.last_error = heartbeat.LastErrorCode()
        self.beats = 0
        self.skipped = 0  # beats not written since the last one that was
        self.unknown = False  # the database does not know this kiosk's code (E8201)
        self.after_beat: list[Callable[[], None]] = [self.alerts_round]  # kiosk.fleet.alerts, .notifier
        self.on_poll: list[Callable[[], None]] = [self.actions_round]  # remote actions (kiosk.fleet.actions)
        self.send: Callable[[int, bytes], None] | None = None  # the notifier, built at the first round
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one beat -------------------------------------------------------------------------------
    def database_up(self) -> bool:
        guard = self.rt.offline
        return guard is None or guard.up

    def beat(self) -> bool:
        """Write this kiosk's heartbeat now; False when it was skipped (the database gone) or refused."""
        if not self.database_up():
            self.skipped += 1
            return False
        try:
            with unit_of_work(self.rt.db.factory) as s:
                beat = heartbeat.collect(self.rt, s, self.clock() - self.started, self.last_error.code)
                heartbeat.write(s, beat)
        except UnknownKiosk as exc:
            if not self.unknown:
                log.error("%s", exc)
            self.unknown = True
            self._flag_unknown()
            return False
        except KioskError as exc:
            if not self.skipped:
                log.warning("heartbeat not written (%s); skipped until the database answers", exc)
            self.skipped += 1
            return False
        if self.skipped:
            log.info("heartbeat written again after %d skipped", self.skipped)
        self.skipped, self.unknown = 0, False
        self.beats += 1
        return True

    def actions_round(self) -> None:
        """Apply the office's pending actions for this kiosk (kiosk.fleet.actions)."""
        from kiosk.fleet import actions

        if not self.unknown:
            actions.apply_pending(self.rt)

    def alerts_round(self) -> None:
        """Evaluate the fleet's alerts (any live kiosk may; only one raises each episode) and deliver the outbox."""
        from kiosk.fleet import alerts, notifier

        if self.send is None:
            try:
                self.send = notifier.from_settings(self.rt.settings)
            except KioskError as exc:
                log.error("alerts go to the log only: %s", exc)
                self.send = notifier.log_send
        with unit_of_work(self.rt.db.factory) as s:
            alerts.evaluate(s, self.cfg)
        notifier.deliver_due(self.rt.db.factory, self.send)

    def _flag_unknown(self) -> None:
        try:
            from kiosk.fleet import alerts

            alerts.flag_unknown_kiosk(self.rt.db.factory, self.rt.till.kiosk_code)
        except KioskError as exc:
            log.debug("unknown kiosk not flagged: %s", exc)

    def _run_hooks(self, hooks: list[Callable[[], None]]) -> None:
        for hook in hooks:
            if not self.database_up():
                return
            try:
                hook()
            except KioskError as exc:  # the database went away meanwhile: the next turn tries again
                log.debug("fleet %s: %s", getattr(hook, "__name__", hook), exc)
            except Exception:  # noqa: BLE001 - one part failing must not stop the heartbeat
                log.exception("fleet %s failed", getattr(hook, "__name__", hook))

    # --- the thread -----------------------------------------------------------------------------
    def start(self) -> None:
        logging.getLogger().addHandler(self.last_error)
        self._thread = threading.Thread(target=self._run, name="fleet-agent", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_beat = next_poll = self.clock()
        while not self._stop.is_set():
            now = self.clock()
            if now >= next_poll:
                next_poll = now + self.cfg.action_poll_s
                self._run_hooks(self.on_poll)
            if now >= next_beat:
                next_beat = now + self.cfg.heartbeat_s
                try:
                    if self.beat():
                        self._run_hooks(self.after_beat)
                except Exception:  # noqa: BLE001 - a bug in one beat must not end the heartbeat
                    log.exception("heartbeat failed")
            self._stop.wait(max(0.05, min(next_beat, next_poll) - self.clock()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        logging.getLogger().removeHandler(self.last_error)
