"""The `kiosk demo` bar: tap a simulated card onto the reader, take it off, insert banknotes, "scan" the QR code,
hold a WeChat or Alipay payment code to the scanner (the phone asking for its PIN or not, the PIN entered), run the
printer out of paper.

Shown only when run_app() is given a DemoControls (kiosk.app_runtime.demo_controls). One slim row: what just
happened, in the kiosk's language and in words a person understands ("¥100 note being checked"), then the
actions as touch targets. In portrait the row keeps the cards and the notes and puts the rest under "More".
Every action runs on a short-lived thread (the simulators may block for a moment); its outcome comes back
through Clock.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from kiosk.app_runtime.demo_controls import MORE
from kiosk.i18n import N_, translate
from screens.widgets import KButton

log = logging.getLogger(__name__)

DEMO = N_("Demo")
DEMO_SAYS = N_("Demo: {what}")
NOTE_SAYS = {  # what the simulated validator did with a note (DemoControls.insert_note)
    "stacked": N_("¥{yuan} note taken"),
    "escrow": N_("¥{yuan} note being checked"),
    "rejected": N_("¥{yuan} note refused and given back"),
    "inhibited": N_("¥{yuan} notes are not taken now"),
    "busy": N_("Another note is still being checked"),
    "out_of_service": N_("The note acceptor is out of service"),
    "jammed": N_("The note jammed in the acceptor"),
}
CARD_ON = N_("A card is on the reader")  # not which: the bar outlives a session, the unit is private
BLANK_ON = N_("A new blank card is on the reader")
CARD_OFF = N_("The card was taken off the reader")
QR_PAID = N_("The code was scanned: the phone paid")
QR_NONE = N_("There is no code to scan now")
CODE_READ = {"wechat": N_("The scanner read a WeChat payment code"),
             "alipay": N_("The scanner read an Alipay payment code")}
PIN_ASKED = N_("The phone will ask for the PIN")
PIN_NOT_ASKED = N_("The phone pays without the PIN")
PIN_ENTERED = N_("The PIN was entered on the phone")
PIN_NONE = N_("No payment waits for a PIN")
ALWAYS_MORE = ("wechat_code", "alipay_code", "pin_mode", "pin")  # the payment-code actions: always under "More"
PAPER_OUT = N_("The printer has run out of paper")
PAPER_IN = N_("Paper loaded")
FAILED = N_("That did not work; the log says why")
HISTORY = N_("What happened")

Builder.load_string("""
<DemoBar>:
    size_hint_y: None
    height: self.minimum_height
    padding: app.theme.pad * 0.25
    spacing: app.theme.pad * 0.5
    canvas.before:
        Color:
            rgba: 0.95, 0.85, 0.35, 1
        Rectangle:
            pos: self.pos
            size: self.size
    Label:
        id: status
        font_size: app.theme.font_s
        font_name: app.theme.face(self.text) if app.theme.font_name else ""
        color: 0, 0, 0, 1
        halign: "left"
        valign: "middle"
        text_size: self.width, None
        size_hint_y: None
        height: max(app.theme.touch, self.texture_size[1])
        pos_hint: {"center_y": 0.5}
        text: root.status

<DemoButton@KButton>:
    size_hint: None, None
    wrap: False
    width: max(app.theme.touch, self.texture_size[0] + app.theme.pad * 1.5)
    height: max(app.theme.touch, self.texture_size[1] + app.theme.pad * 0.5)
    pos_hint: {"center_y": 0.5}

<DemoCards>:
    size_hint: 0.9, 0.8
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
        ScrollBox:
            GridLayout:
                id: grid
                cols: 2 if app.theme.portrait else 3
                size_hint_y: None
                height: self.minimum_height
                spacing: app.theme.pad * 0.5
                # every row as tall as its tallest card's words (a card's state may wrap them in large text): a
                # forced row shorter than its text overlapped the next one
                row_default_height: app.theme.touch * 1.2
                row_force_default: False
        KButton:
            size_hint_y: None
            height: max(app.theme.touch * 1.2, self.texture_size[1] + app.theme.pad)
            text: root.close_text
            on_release: root.dismiss()

<DemoCardButton@KButton>:
    size_hint_y: None
    height: max(app.theme.touch * 1.2, self.texture_size[1] + app.theme.pad)

<DemoMore>:
    size_hint: 0.9, None
    height: box.minimum_height
    BoxLayout:
        id: box
        orientation: "vertical"
        size_hint_y: None
        height: self.minimum_height
        padding: app.theme.pad
        spacing: app.theme.pad
        canvas.before:
            Color:
                rgba: app.theme.bg
            Rectangle:
                pos: self.pos
                size: self.size
        GridLayout:
            id: actions
            cols: 2
            size_hint_y: None
            height: self.minimum_height
            spacing: app.theme.pad * 0.5
        KLabel:
            bold: True
            text: root.history_title
        KLabel:
            level: "s"
            text: root.history
        KButton:
            size_hint_y: None
            height: max(app.theme.touch * 1.2, self.texture_size[1] + app.theme.pad)
            text: root.close_text
            on_release: root.dismiss()
""")


class DemoCards(ModalView):
    close_text = StringProperty("")


class DemoMore(ModalView):
    close_text = StringProperty("")
    history_title = StringProperty("")
    history = StringProperty("")


class DemoBar(BoxLayout):
    """Bottom bar of the demo window: one slim row."""

    status = StringProperty("")
    compact = BooleanProperty(False)  # portrait: the QR scan and the paper go under "More" too

    def __init__(self, controls: Any, language: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.controls = controls
        self.language = language
        self.said: list[str] = []  # the last outcomes, newest first (the "More" popup lists them)
        self._last = (DEMO, {})
        self.buttons: dict[str, KButton] = {}
        self._button("cards", self.open_cards)
        self._button("off", lambda: self._run(self.controls.remove, lambda _r: (CARD_OFF, {})))
        self._button("qr", lambda: self._run(self.controls.pay_open_qr,
                                             lambda paid: (QR_PAID if paid else QR_NONE, {})))
        self.pin_mode = False  # the next payment code shown makes the phone wait for its PIN
        for network in ("wechat", "alipay"):
            self._button(f"{network}_code", lambda n=network: self._run(
                lambda: self.controls.show_payment_code(n, self.pin_mode),
                lambda code, n=n: (CODE_READ[n], {"code": code})))
        self._button("pin_mode", self.toggle_pin_mode)
        self._button("pin", lambda: self._run(self.controls.confirm_pin,
                                              lambda ok: (PIN_ENTERED if ok else PIN_NONE, {})))
        self._button("paper", self.toggle_paper)
        for yuan in getattr(controls, "notes_yuan", (10, 20, 50, 100)):
            if yuan >= 10:
                self._button(f"note{yuan}", lambda y=yuan: self._run(
                    lambda: self.controls.insert_note(y), lambda did, y=y: (NOTE_SAYS.get(str(did), FAILED), {"yuan": y})),
                             f"¥{yuan}")
        self._button("more", self.open_more)
        self.hidden: set[str] = set()
        self._rearrange = Clock.create_trigger(self._arrange)
        theme = getattr(App.get_running_app(), "theme", None)
        if theme is not None:
            theme.bind(portrait=self._rearrange, touch=self._rearrange)
        self.bind(width=self._rearrange)
        for button in self.buttons.values():
            button.bind(width=self._rearrange)
        self._arrange()
        self.refresh_language()

    def _button(self, key: str, action: Callable[[], None], text: str = "") -> None:
        from kivy.factory import Factory

        button = Factory.DemoButton(text=text)
        button.bind(on_release=lambda _b: action())
        self.buttons[key] = button

    def _arrange(self, *_args: Any) -> None:
        """The row: the status, then the actions that fit; the rest under "More". The payment-code actions always
        go there, in portrait the QR scan and the paper too; a narrow or large-text window moves more (the notes
        last, the cards never)."""
        theme = getattr(App.get_running_app(), "theme", None)
        self.compact = bool(theme.portrait) if theme is not None else False
        keys = [k for k in self.buttons if k != "more"]
        hidden = {"qr", "paper", *ALWAYS_MORE} if self.compact else set(ALWAYS_MORE)
        gap = self.spacing if isinstance(self.spacing, (int, float)) else self.spacing[0]
        room = self.width - self.padding[0] - self.padding[2] - self.status_room
        shown = [k for k in keys if k not in hidden]

        def needed(names: list[str]) -> float:
            return sum(self.buttons[n].width + gap for n in names)
        while shown and needed(shown) + (self.buttons["more"].width + gap if hidden else 0) > room and len(shown) > 1:
            hidden.add(shown.pop(next(i for i in range(len(shown) - 1, -1, -1) if shown[i] != "cards")))
        order = [k for k in keys if k not in hidden] + (["more"] if hidden else [])
        if [c for c in reversed(self.children) if c is not self.ids.status] == [self.buttons[k] for k in order]:
            return
        self.hidden = hidden
        for button in self.buttons.values():
            if button.parent is not None:
                button.parent.remove_widget(button)
        for key in order:
            self.add_widget(self.buttons[key])

    def refresh_language(self) -> None:
        t = self._t
        self.buttons["cards"].text = t(N_("Cards"))
        self.buttons["off"].text = t(N_("Take the card off"))
        self.buttons["qr"].text = t(N_("Scan the QR code"))
        self.buttons["paper"].text = t(N_("Load paper")) if self.paper_out else t(N_("Paper runs out"))
        self.buttons["wechat_code"].text = t(N_("Show a WeChat payment code"))
        self.buttons["alipay_code"].text = t(N_("Show an Alipay payment code"))
        self.buttons["pin_mode"].text = (t(N_("Let the phone pay without the PIN")) if self.pin_mode
                                         else t(N_("Make the phone ask for the PIN")))
        self.buttons["pin"].text = t(N_("Enter the PIN on the phone"))
        self.buttons["more"].text = t(MORE)
        self._show()

    def _t(self, message: str, **params: Any) -> str:
        return translate(message, self.language(), **params)

    def _show(self) -> None:
        message, params = self._last
        words = self._t(message, **params)
        self.status = words if message == DEMO else self._t(DEMO_SAYS, what=words)

    @property
    def paper_out(self) -> bool:
        return getattr(self.controls, "printer_state", "ok") == "out"

    def toggle_paper(self) -> None:
        state = "ok" if self.paper_out else "out"

        def work() -> str:
            result = self.controls.set_printer(state)
            Clock.schedule_once(lambda _dt: self.refresh_language())
            return result
        self._run(work, lambda now: (PAPER_OUT if now == "out" else PAPER_IN, {}))

    def toggle_pin_mode(self) -> None:
        """The payment codes shown from now on make the phone wait for its PIN (or not): nothing to simulate yet."""
        self.pin_mode = not self.pin_mode
        self.refresh_language()
        self._said((PIN_ASKED if self.pin_mode else PIN_NOT_ASKED, {}))

    def _run(self, fn: Callable[[], Any], says: Callable[[Any], tuple[str, dict[str, Any]]]) -> None:
        """Run a demo action off the UI thread; `says(result)` gives the msgid and its values for the bar."""
        def work() -> None:
            try:
                outcome = says(fn())
            except Exception:  # a demo action that fails says so in the bar, the kiosk runs on
                log.exception("demo action failed")
                outcome = (FAILED, {})
            Clock.schedule_once(lambda _dt: self._said(outcome))
        threading.Thread(target=work, name="demo-action", daemon=True).start()

    def _said(self, outcome: tuple[str, dict[str, Any]]) -> None:
        self._last = outcome
        self._show()
        self.said = ([outcome] + [o for o in self.said if o != outcome])[:6]  # type: ignore[list-item]

    def open_cards(self) -> None:
        view = DemoCards(close_text=self._t(N_("Back")))
        grid = view.ids.grid
        cards = self.controls.cards(self.language())  # every card labelled in the kiosk's language
        from kivy.factory import Factory

        blank = Factory.DemoCardButton(text=self._t(N_("New blank card")))
        # the popups open and close without a fade: each of its frames redraws the whole window (software GL), and
        # the kiosk's answer to the card comes in the same moment
        blank.bind(on_release=lambda _b: (view.dismiss(animation=False), self._run(
            lambda: self.controls.present(self.controls.new_blank_card().uid), lambda _r: (BLANK_ON, {}))))
        grid.add_widget(blank)
        for card in cards:
            button = Factory.DemoCardButton(text=card.label)
            button.bind(on_release=lambda _b, uid=card.uid: (view.dismiss(animation=False), self._run(
                lambda: self.controls.present(uid), lambda _r: (CARD_ON, {}))))
            grid.add_widget(button)
        view.open(animation=False)

    @property
    def status_room(self) -> float:
        """What the status keeps of the row: a few touch targets' width."""
        theme = getattr(App.get_running_app(), "theme", None)
        return (theme.touch if theme is not None else 60) * 3

    def open_more(self) -> None:
        view = DemoMore(close_text=self._t(N_("Back")), history_title=self._t(HISTORY),
                        history="\n".join(self._t(m, **p) for m, p in self.said))  # type: ignore[misc]
        for key in (k for k in self.buttons if k in self.hidden):
            source = self.buttons[key]
            button = KButton(text=source.text)
            button.bind(on_release=lambda _b, s=source: (view.dismiss(animation=False), s.dispatch("on_release")))
            view.ids.actions.add_widget(button)
        view.open(animation=False)
