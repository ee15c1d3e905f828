"""Kivy's side of the systemd watchdog (kiosk.runtime.service_watchdog): its ticks run on the main loop's clock,
so a frozen loop sends nothing. Does nothing when the kiosk was not started by systemd (no $NOTIFY_SOCKET)."""
from __future__ import annotations

from typing import Any

from kivy.clock import Clock

from kiosk.runtime.sd_notify import Notifier
from kiosk.runtime.service_watchdog import ServiceWatchdog

READY_CHECK_S = 0.1  # READY=1 follows the start this closely


def attach(app: Any) -> ServiceWatchdog | None:
    notifier = Notifier()
    if not notifier.enabled:
        return None
    from kivy.core.window import Window

    window_up: list[bool] = []
    Window.bind(on_flip=lambda *_a: window_up.append(True) if not window_up else None)
    dog = ServiceWatchdog(notifier, lambda: bool(window_up) and app.services_ready_at is not None)
    dog.start()

    def check_ready(_dt: float) -> bool:
        return not dog.check_ready()  # False unschedules it

    Clock.schedule_interval(check_ready, READY_CHECK_S)
    def tick(_dt: float) -> None:  # returns None: Kivy unschedules a callback that returns False
        dog.tick()

    if notifier.ping_interval_s > 0:
        Clock.schedule_interval(tick, notifier.ping_interval_s)
    return dog
