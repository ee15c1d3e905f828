"""Pictograms of the device steps: WHERE on the kiosk the person acts now, and how.

A flow names the device (`kiosk.flows.base.DEVICES`: "card", "notes", "qr", "scanner", "printer") in its view
record; `DevicePictogram` draws it: a small outline of the kiosk with that device's place highlighted
(`KioskOutline`, the places are `PLACES`), beside a large drawing of the action from Material Design icons and
canvas shapes (a card moving onto the reader with a pulsing ring, a banknote going into the note slot with the
notes the acceptor takes, the QR code itself, a phone at the scanner window, the resident's phone asking for the
password (after a payment code was read: USERPAYING), a receipt coming out of the printer slot) and one line that
says what to do there.

The motion is one Kivy Animation of `phase` (0 -> 1 in CYCLE_S, repeated), stepped every STEP_S (four poses a
second, never every frame: a per-frame Animation keeps Kivy's interrupt clock awake between the governor's idle
frames), for CYCLES cycles after a device appears (about 10 s, while the person looks for the place) and then at
rest in its arrived pose; only while the pictogram is in the window: it stops by itself when the screen changes
or the step ends, so an idle kiosk animates nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle, RoundedRectangle
from kivy.lang import Builder
from kivy.properties import ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

from kiosk.i18n import N_, translate

CYCLE_S = 2.4  # one approach + pulse; long enough to read as calm
STEP_S = 0.25  # the animation moves 4 times a second: an every-frame Animation keeps the interrupt clock from
# sleeping between the governor's idle frames (a waiting cash page cost 60% of a core); a timer lets it sleep
CYCLES = 4  # then the drawing rests, the card on the reader ringed: a step that waits minutes costs no redraws
APPROACH_END = 0.55  # share of the cycle the card / note / phone / receipt spends moving
REST_PHASE = APPROACH_END + (1 - APPROACH_END) * 0.3  # at rest: arrived, the ring drawn

# The reference cabinet, front view, in fractions of its width and height from the bottom left (x, y, w, h):
# screen on top; below it the scanner window on the left and the card reader on the right; the note slot, then
# the receipt slot. A cabinet with its devices elsewhere changes this table.
PLACES: dict[str, tuple[float, float, float, float]] = {
    "screen": (0.10, 0.50, 0.80, 0.42),
    "scanner": (0.14, 0.35, 0.30, 0.10),
    "card": (0.56, 0.35, 0.30, 0.10),
    "notes": (0.28, 0.25, 0.44, 0.04),
    "printer": (0.28, 0.13, 0.44, 0.04),
}
# "phone" (confirm on the resident's own phone) has no place on the kiosk: the outline is left out, like for "qr"
DEVICE_PLACES = {"card": "card", "notes": "notes", "qr": "screen", "scanner": "scanner", "printer": "printer"}
OFF_KIOSK = frozenset({"qr", "phone"})  # drawn without the kiosk's outline: the code / the phone is the place
CAPTIONS = {  # what to do at the highlighted place
    "card": N_("Tap your card here, on the card reader"),
    "notes": N_("Insert the notes here, one at a time"),
    "qr": N_("Scan this code with your phone"),
    "scanner": N_("Hold your payment code to the scanner window"),
    "printer": N_("Take your receipt from the receipt slot"),
    "phone": N_("Enter your password on your phone to confirm"),
}
NOTES_CAPTION = N_("Notes accepted")
ACTIONS = {"card": "CardAction", "notes": "NotesAction", "qr": "QrAction", "scanner": "ScannerAction",
           "printer": "PrinterAction", "phone": "PhoneAction"}

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


def _theme() -> Any:
    return App.get_running_app().theme


class KioskOutline(Widget):
    """The kiosk's front in outline, the place of `device` filled with the accent colour and ringed by `pulse`."""

    device = StringProperty("")
    pulse = NumericProperty(0.0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        theme = _theme()
        self.bind(pos=self.redraw, size=self.redraw, device=self.redraw, pulse=self.redraw)
        theme.bind(accent=self.redraw, muted=self.redraw, text=self.redraw, surface=self.redraw, pad=self.redraw)

    def cabinet(self) -> tuple[float, float, float, float]:
        """The cabinet's box: as tall as the widget allows, half as wide, centred."""
        h = self.height * 0.96
        w = min(self.width * 0.92, h * 0.5)
        h = min(h, w * 2)
        return self.center_x - w / 2, self.center_y - h / 2, w, h

    def place(self, name: str) -> tuple[float, float, float, float]:
        x, y, w, h = self.cabinet()
        px, py, pw, ph = PLACES[name]
        return x + px * w, y + py * h, pw * w, ph * h

    def redraw(self, *_args: Any) -> None:
        theme = _theme()
        self.canvas.clear()
        if self.width <= 0 or self.height <= 0:
            return
        active = DEVICE_PLACES.get(self.device, "")
        x, y, w, h = self.cabinet()
        line = max(1.5, theme.pad / 8)
        with self.canvas:
            Color(*theme.surface)
            RoundedRectangle(pos=(x, y), size=(w, h), radius=[w * 0.08])
            Color(*theme.text)
            Line(rounded_rectangle=(x, y, w, h, w * 0.08), width=line)
            Line(points=(x, y + h * 0.06, x + w, y + h * 0.06), width=line)  # the plinth
            for name in PLACES:
                px, py, pw, ph = self.place(name)
                if name == active:
                    Color(*theme.accent)
                    Rectangle(pos=(px, py), size=(pw, ph))
                    grow = theme.pad * (0.4 + 1.2 * self.pulse)
                    Color(*theme.accent[:3], 1.0 - self.pulse)
                    Line(rectangle=(px - grow, py - grow, pw + 2 * grow, ph + 2 * grow), width=line * 1.5)
                else:
                    Color(*theme.muted)
                    Line(rectangle=(px, py, pw, ph), width=line)


class DevicePictogram(BoxLayout):
    """The pictogram of one device step; empty `device` shows nothing and animates nothing."""

    device = StringProperty("")
    notes = ListProperty([])  # banknotes the acceptor takes now, as printed on them ("¥10")
    qr = StringProperty("")  # what the code on screen encodes (device "qr")
    language = StringProperty("zh_Hans")
    caption = StringProperty("")
    notes_caption = StringProperty("")
    phase = NumericProperty(0.0)  # 0 -> 1 once per cycle, animated
    approach = NumericProperty(0.0)  # 0 -> 1: the card / note / phone / receipt moving to its place
    pulse = NumericProperty(0.0)  # 0 -> 1: the ring around the place, after the approach
    action = ObjectProperty(None, allownone=True)
    least_height = NumericProperty(0)  # the smallest height it reads at (pictograms.kv)

    def __init__(self, **kwargs: Any) -> None:
        self._animation: Animation | None = None
        self._cycles = 0
        self._note_words: Any = None
        super().__init__(**kwargs)
        self.bind(device=self._changed, language=self._words, notes=self._words)

    def on_kv_post(self, *_args: Any) -> None:
        self.ids.chips.bind(width=self._centre_chips)
        self._changed()
        self.on_notes(self, self.notes)

    def on_phase(self, _instance: object, phase: float) -> None:
        moving = min(1.0, phase / APPROACH_END)
        self.approach = 1 - (1 - moving) ** 3  # ease out: it slows down as it arrives
        self.pulse = max(0.0, (phase - APPROACH_END) / (1 - APPROACH_END))

    def _words(self, *_args: Any) -> None:
        self.caption = translate(CAPTIONS[self.device], self.language) if self.device in CAPTIONS else ""
        self.notes_caption = translate(NOTES_CAPTION, self.language) if self.notes else ""

    def on_notes(self, _instance: object, notes: list[str]) -> None:
        chips = self.ids.get("chips")
        if chips is None:
            return
        from kivy.factory import Factory

        chips.clear_widgets()
        if notes:
            if self._note_words is None:
                self._note_words = Factory.NoteWords()
                self.bind(notes_caption=self._note_words.setter("text"))
                self._note_words.bind(width=self._centre_chips)
            self._note_words.text = translate(NOTES_CAPTION, self.language)
            chips.add_widget(self._note_words)
        for note in notes:
            chip = Factory.NoteChip(text=note)
            chip.bind(width=self._centre_chips)
            chips.add_widget(chip)
        self._centre_chips()

    def _centre_chips(self, *_args: Any) -> None:
        """The chips in the middle of their row (a StackLayout fills from the left)."""
        chips = self.ids.get("chips")
        if chips is None or not chips.children:
            return
        gap = chips.spacing[0] if isinstance(chips.spacing, (list, tuple)) else chips.spacing
        used = sum(c.width for c in chips.children) + gap * (len(chips.children) - 1)
        side = max(0.0, (chips.width - used) / 2)
        chips.padding = (side, 0, 0, 0) if used <= chips.width else (0, 0, 0, 0)

    def _changed(self, *_args: Any) -> None:
        self._words()
        area = self.ids.get("area")
        if area is None:
            return
        area.clear_widgets()
        self.action = None
        if self.device in ACTIONS:
            from kivy.factory import Factory

            self.action = getattr(Factory, ACTIONS[self.device])(pic=self)
            area.add_widget(self.action)
        self._cycles = 0
        self.restart()

    # --- the animation: only while a device is shown in the window -------------------------------
    @property
    def animating(self) -> bool:
        return self._animation is not None

    def restart(self, *_args: Any, retry: bool = True) -> None:
        self.stop()
        if not self.device or self.device == "qr":
            return
        if self.get_root_window() is None:  # drawn before its screen is shown: look once more on the next frame
            if retry:
                Clock.schedule_once(lambda _dt: self.restart(retry=False))
            return
        self.phase = 0.0
        self._animation = Animation(phase=1.0, d=CYCLE_S, s=STEP_S)
        self._animation.bind(on_progress=self._still_shown, on_complete=self._again)
        self._animation.start(self)

    def stop(self) -> None:
        if self._animation is not None:
            self._animation.unbind(on_progress=self._still_shown, on_complete=self._again)
            self._animation.cancel(self)
            self._animation = None
        self.phase = REST_PHASE if self.device else 0.0  # at rest: the card on the reader, ringed

    def _still_shown(self, *_args: Any) -> None:
        if self.get_root_window() is None or not self.device:  # the screen changed: nothing animates off screen
            self.stop()

    def _again(self, *_args: Any) -> None:
        self._animation = None
        self._cycles += 1
        if self._cycles < CYCLES:
            self.restart(retry=False)
        else:
            self.phase = REST_PHASE

    def on_parent(self, _instance: object, parent: object) -> None:
        if parent is None:
            self.stop()


class PictogramAction(FloatLayout):
    """Base of the large drawings (layout in pictograms.kv); `pic` is the pictogram with `approach`/`pulse`."""

    pic = ObjectProperty(None)
    s = NumericProperty(0)  # the main icon's size (pictograms.kv)
    base_y = NumericProperty(0)  # where the reader's plate / the slot / the scanner window lies
    phone_y = NumericProperty(0)  # the scanner: where the phone is now
