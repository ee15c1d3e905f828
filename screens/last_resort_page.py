"""`kiosk last-resort`: what systemd shows after the kiosk failed again and again (estate-kiosk-last-resort.service,
docs/deploy.md): out of service, in the three languages, with a reference to give staff. Nothing to touch,
nothing else on screen, nothing that can fail: no database, no devices, no network."""
from __future__ import annotations

import signal
from typing import Any

from kiosk.i18n import N_, translate
from screens.ui_settings import UiSettings

TITLE = N_("Out of service")
CALL_STAFF = N_("This kiosk cannot serve you right now. Please call staff and give them this reference:")
LANGUAGES = ("zh_Hans", "zh_Hant", "en")
BACKGROUND = (0.13, 0.14, 0.16, 1)
TEXT = (1, 1, 1, 1)
DIM = (0.80, 0.82, 0.85, 1)


def run(ui: UiSettings, reference: str, on_shown: Any = None) -> int:
    from screens.boot import configure_kivy, register_font

    configure_kivy(ui)
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.label import Label

    from screens.fonts import FONT_NAMES

    class LastResortApp(App):
        def build(self) -> Any:
            self.title = "Estate kiosk - out of service"
            register_font(ui)
            Window.clearcolor = BACKGROUND
            unit = min(Window.width, Window.height)
            box = BoxLayout(orientation="vertical", padding=unit * 0.06, spacing=unit * 0.02)
            for language in LANGUAGES:
                font = FONT_NAMES[language]
                box.add_widget(Label(text=translate(TITLE, language), font_name=font, bold=True, color=TEXT,
                                     font_size=unit * 0.07))
                body = Label(text=translate(CALL_STAFF, language), font_name=font, color=DIM, font_size=unit * 0.035,
                             halign="center", valign="middle")
                body.bind(size=lambda label, size: setattr(label, "text_size", (size[0], None)))
                box.add_widget(body)
            box.add_widget(Label(text=reference, font_name=FONT_NAMES["en"], bold=True, color=TEXT,
                                 font_size=unit * 0.08))
            shown: list[bool] = []

            def first_frame(*_a: Any) -> None:
                if not shown and on_shown is not None:
                    shown.append(True)
                    on_shown()
            Window.bind(on_flip=first_frame)
            return box

    app = LastResortApp()
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: app.stop()))
    app.run()
    return 0
