"""The `kiosk demo` bar: tap a simulated card onto the reader, take it off, insert banknotes, "scan" the QR code.

Shown only when run_app() is given a DemoControls (kiosk.app_runtime.demo_controls). Every action runs on a
short-lived thread (the simulators may block for a moment); its outcome comes back through Clock.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from kiosk.i18n import translate
from screens.widgets import KButton

log = logging.getLogger(__name__)

Builder.load_string("""
<DemoBar>:
    size_hint_y: None
    height: app.theme.touch + app.theme.pad * 2
    padding: app.theme.pad * 0.5
    spacing: app.theme.pad * 0.5
    canvas.before:
        Color:
            rgba: 0.95, 0.85, 0.35, 1
        Rectangle:
            pos: self.pos
            size: self.size
    KLabel:
        size_hint_x: 0.5
        bold: True
        color: 0, 0, 0, 1
        text: root.caption
    KLabel:
        size_hint_x: 1.5
        color: 0, 0, 0, 1
        shorten: True
        text: root.status

<DemoCards>:
    size_hint: 0.8, 0.8
    BoxLayout:
        orientation: "vertical"
        padding: app.theme.pad
        spacing: app.theme.pad
        canvas.before:
            Color:
                rgba: app.theme.bg
            Rectangle:
                pos: self.pos
                size: self.size
        ScrollView:
            GridLayout:
                id: grid
                cols: 3
                size_hint_y: None
                height: self.minimum_height
                spacing: app.theme.pad * 0.5
                # two lines (who, and the card's number) in every row: a shorter row overlapped the next one
                row_default_height: max(app.theme.touch, app.theme.font_m * 2.7 + app.theme.pad)
                row_force_default: True
        KButton:
            size_hint_y: None
            height: app.theme.touch * 1.2
            text: root.close_text
            on_release: root.dismiss()
""")


class DemoCards(ModalView):
    close_text = StringProperty("")


class DemoBar(BoxLayout):
    """Bottom bar of the demo window."""

    caption = StringProperty("")
    status = StringProperty("")

    def __init__(self, controls: Any, language: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.controls = controls
        self.language = language
        self.buttons: dict[str, KButton] = {}
        for key, action in (("cards", self.open_cards), ("off", lambda: self._run(self.controls.remove, "off")),
                            ("qr", lambda: self._run(self.controls.pay_open_qr, "qr")),
                            ("paper", self.toggle_paper)):
            self._button(key, action)
        for yuan in getattr(controls, "notes_yuan", (10, 20, 50, 100)):
            if yuan >= 10:
                self._button(f"note{yuan}", lambda y=yuan: self._run(lambda: self.controls.insert_note(y), f"¥{y}"),
                             f"¥{yuan}")
        self.refresh_language()

    def _button(self, key: str, action: Callable[[], None], text: str = "") -> None:
        button = KButton(text=text, size_hint_x=0.6 if text.startswith("¥") else 1)
        button.bind(on_release=lambda _b: action())
        self.buttons[key] = button
        self.add_widget(button)

    def refresh_language(self) -> None:
        t = lambda msg: translate(msg, self.language())  # noqa: E731
        self.caption = t("Demo")
        self.buttons["cards"].text = t("Cards")
        self.buttons["off"].text = t("Take the card off")
        self.buttons["qr"].text = t("Scan the QR code")
        self.buttons["paper"].text = t("Load paper") if self.paper_out else t("Paper runs out")

    @property
    def paper_out(self) -> bool:
        return getattr(self.controls, "printer_state", "ok") == "out"

    def toggle_paper(self) -> None:
        state = "ok" if self.paper_out else "out"

        def work() -> str:
            result = self.controls.set_printer(state)
            Clock.schedule_once(lambda _dt: self.refresh_language())
            return result
        self._run(work, "paper")

    def _run(self, fn: Callable[[], Any], what: str) -> None:
        def work() -> None:
            try:
                result = fn()
                text = f"{what}: {result}" if result not in (None, True) else what
            except Exception as exc:  # a demo action that fails says so in the bar, the kiosk runs on
                log.exception("demo action %s failed", what)
                text = f"{what}: {type(exc).__name__} {exc}"
            Clock.schedule_once(lambda _dt: setattr(self, "status", text))
        threading.Thread(target=work, name=f"demo-{what}", daemon=True).start()

    def open_cards(self) -> None:
        view = DemoCards(close_text=translate("Back", self.language()))
        grid = view.ids.grid
        cards = self.controls.cards(self.language())  # staff cards labelled in the kiosk's language
        blank = KButton(text=translate("New blank card", self.language()))
        # without the fade in and out: each of its frames redraws the whole window (software GL), and the kiosk's
        # answer to the card comes in the same moment
        blank.bind(on_release=lambda _b: (view.dismiss(animation=False), self._run(
            lambda: self.controls.present(self.controls.new_blank_card().uid), "blank")))
        grid.add_widget(blank)
        for card in cards:
            button = KButton(text=f"{card.label}\n{card.uid}")
            button.bind(on_release=lambda _b, uid=card.uid: (view.dismiss(animation=False),
                                                             self._run(lambda: self.controls.present(uid), uid)))
            grid.add_widget(button)
        view.open(animation=False)
