"""Attach the e2e window hook (tests/support/window_hook.py) to the next kiosk window, without importing Kivy yet."""
from __future__ import annotations

import os
from typing import Any


def install(path: str) -> None:
    """Serve the hook on `path` from the next KioskApp built in this process (closed when the app stops)."""
    from screens.app import BUILT_LISTENERS

    def attach(app: Any) -> None:
        from tests.support.window_hook import WindowHook  # Kivy: only once the kiosk has configured it

        hook = WindowHook(app, path)
        app.window_hook = hook
        app.bind(on_stop=lambda *_: hook.close())

    BUILT_LISTENERS.append(attach)


def install_from_env() -> None:
    """`install` on $KIOSK_TEST_HOOK when it is set."""
    path = os.environ.get("KIOSK_TEST_HOOK", "")
    if path:
        install(path)
