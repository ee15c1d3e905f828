"""KioskApp: root layout (header + ScreenManager), navigation, idle timer, last-resort handler; run_app()."""
from __future__ import annotations

import importlib
import logging
from pathlib import Path
from collections.abc import Callable
from typing import Any

from screens.boot import configure_kivy, register_font
from screens.ui_settings import UiSettings, ui_settings_from

log = logging.getLogger(__name__)

HERE = Path(__file__).parent

# Called with the KioskApp once its window is built. The product registers nothing; the e2e tests' window hook
# and the app benchmark attach here from outside (tests/support/hook_install.py). Kivy-free, so that an embedder
# can register before the kiosk configures Kivy.
BUILT_LISTENERS: list[Callable[[Any], None]] = []

# Route screen name -> (module in screens/, class name). One .py + .kv per screen.
SCREENS: dict[str, tuple[str, str]] = {
    "attract": ("screens.attract", "AttractScreen"),
    "identify": ("screens.identify", "IdentifyScreen"),
    "household": ("screens.household", "HouseholdScreen"),
    "pay_fees": ("screens.pay_fees", "PayFeesScreen"),
    "info_list": ("screens.info_list", "InfoListScreen"),
    "callback": ("screens.callback", "CallbackScreen"),
    "message": ("screens.message", "MessageScreen"),
    "staff_unlock": ("screens.staff_unlock", "StaffUnlockScreen"),
    "staff_home": ("screens.staff_home", "StaffHomeScreen"),
    "steps": ("screens.steps", "StepsScreen"),
}


def run_app(services: Any, settings: Any = None, event_bus: Any = None, demo: Any = None,
            startup: Any = None) -> int:
    """Open the kiosk window on `services` (a KioskServices); returns when staff exit to the desktop.
    `demo` (a kiosk.app_runtime.demo_controls.DemoControls, `kiosk demo` only) adds the demo bar.
    `startup` (a kiosk.flows.starting.BackgroundStart) starts the runtime once the window has drawn."""
    ui = ui_settings_from(settings)
    configure_kivy(ui)
    app = build_app(services, ui, event_bus, demo, startup)
    app.run()
    return 0


def build_app(services: Any, ui: UiSettings, event_bus: Any = None, demo: Any = None, startup: Any = None) -> Any:
    """Create the KioskApp without running it (screen tests use this after configure_kivy)."""
    from screens.kiosk_app import KioskApp

    return KioskApp(services=services, ui=ui, event_bus=event_bus, demo=demo, startup=startup)


def load_screen_class(screen: str) -> type:
    module, name = SCREENS[screen]
    return getattr(importlib.import_module(module), name)


__all__ = ["BUILT_LISTENERS", "run_app", "build_app", "SCREENS", "load_screen_class", "register_font"]
