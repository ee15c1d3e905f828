"""Reusable widgets: themed button and label, error box, numeric keypad, QR image, theme state."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kivy.app import App
from kivy.event import EventDispatcher
from kivy.graphics.texture import Texture
from kivy.properties import (BooleanProperty, ColorProperty, ListProperty, NumericProperty, ObjectProperty,
                             StringProperty)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.i18n import N_, translate
from screens.fonts import CJK_FALLBACK, FONT_NAMES, has_cjk
from screens.icons import ICON_FONT
from screens.theme import DEFAULT_DIAGONAL_IN, ThemeSpec


class ThemeState(EventDispatcher):
    """The theme as Kivy properties, so kv rules re-layout when the window, the language or a mode changes.

    Sizes come from screens.theme.ThemeSpec for the current window size (re-applied when the window resizes);
    `font_name` is the language's face and `font_cjk` the face for a label with Chinese in it (screens.fonts).
    """

    touch = NumericProperty(61)
    font_s = NumericProperty(24)
    font_m = NumericProperty(32)
    font_l = NumericProperty(40)
    font_xl = NumericProperty(48)
    font_xxl = NumericProperty(72)
    font_min = NumericProperty(24)
    icon_tile = NumericProperty(96)
    icon_inline = NumericProperty(48)
    icon_pictogram = NumericProperty(220)
    pad = NumericProperty(16)
    lane = NumericProperty(24)  # a scroll view's bar (pad wide) and a gap: content keeps clear of it
    scale = NumericProperty(1.0)
    portrait = BooleanProperty(True)
    font_name = StringProperty(FONT_NAMES["zh_Hans"])
    font_cjk = StringProperty(FONT_NAMES["zh_Hans"])
    icon_font = StringProperty(ICON_FONT)
    language = StringProperty("zh_Hans")
    bg = ColorProperty((1, 1, 1, 1))
    surface = ColorProperty((1, 1, 1, 1))
    text = ColorProperty((0, 0, 0, 1))
    muted = ColorProperty((0, 0, 0, 1))
    accent = ColorProperty((0, 0, 1, 1))
    accent_text = ColorProperty((1, 1, 1, 1))
    error_bg = ColorProperty((1, 0.9, 0.9, 1))
    error_text = ColorProperty((0.5, 0, 0, 1))
    ok_bg = ColorProperty((0.9, 1, 0.9, 1))
    warn_bg = ColorProperty((1, 1, 0.8, 1))
    tile = ColorProperty((0.9, 0.9, 1, 1))
    tile_text = ColorProperty((0, 0, 0.4, 1))
    icon = ColorProperty((0, 0, 0.6, 1))
    large_text = BooleanProperty(False)
    high_contrast = BooleanProperty(False)

    def __init__(self, width: int, height: int, diagonal_in: float = DEFAULT_DIAGONAL_IN, width_mm: float = 0.0,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.apply(ThemeSpec(width, height, diagonal_in, width_mm=width_mm))

    def apply(self, spec: ThemeSpec) -> None:
        self.spec = spec
        self.touch = spec.touch_px
        self.font_s, self.font_m, self.font_l, self.font_xl, self.font_xxl = (
            spec.font_px(k) for k in ("s", "m", "l", "xl", "xxl"))
        self.font_min = spec.min_read_px
        self.icon_tile, self.icon_inline, self.icon_pictogram = (
            spec.icon_px(k) for k in ("tile", "inline", "pictogram"))
        self.pad, self.scale, self.portrait = spec.pad_px, spec.scale, spec.portrait
        self.lane = spec.pad_px * 1.5
        for name, value in spec.colors.items():
            setattr(self, name, value)
        self.large_text, self.high_contrast = spec.large_text, spec.high_contrast

    def set_modes(self, large_text: bool, high_contrast: bool) -> None:
        if (large_text, high_contrast) != (self.spec.large_text, self.spec.high_contrast):
            self.apply(replace(self.spec, large_text=large_text, high_contrast=high_contrast))

    def set_size(self, width: int, height: int) -> None:
        if (width, height) != (self.spec.width, self.spec.height) and width > 0 and height > 0:
            self.apply(replace(self.spec, width=width, height=height))

    def set_language(self, language: str) -> None:
        self.language = language
        self.font_cjk = CJK_FALLBACK.get(language, FONT_NAMES["zh_Hans"])  # first: kv rules bind to font_name
        self.font_name = FONT_NAMES.get(language, FONT_NAMES["zh_Hans"])

    def face(self, text: str) -> str:
        """The font for `text` in the current language (the CJK face when the Latin one cannot draw it)."""
        return self.font_cjk if has_cjk(text) else self.font_name


class HiddenCorner(Widget):
    """An invisible corner of the header: the staff unlock gesture taps these (kiosk.flows.staff)."""

    corner = StringProperty("")

    def on_touch_down(self, touch: object) -> bool:
        if self.collide_point(*touch.pos):  # type: ignore[attr-defined]
            App.get_running_app().corner_tap(self.corner)
            return True  # the corner's tap never reaches a button below it
        return False


class SteadyScrollView(ScrollView):
    """A scroll view whose bar keeps its colour. Kivy fades the bar half a second after every change of content,
    an animation that redraws the whole window for another half second: under software GL dozens of
    milliseconds a frame, just when the resident reads and taps next. Every scroll view of the kiosk is one."""

    def _bind_inactive_bar_color(self, *_args: object) -> None:  # Kivy's fade, scheduled by ScrollView._update
        return


class ScrollBox(SteadyScrollView):
    """The plain vertical scroll view of the pages (layout in widgets.kv)."""


class KButton(Button):
    """A touch target at least 15 mm on each side; `role` 'primary' or 'plain'."""

    role = StringProperty("plain")
    key = StringProperty("")
    wrap = BooleanProperty(True)  # False: one line, the button grows to fit its text


class KLabel(Label):
    """A wrapping label whose height follows its text; `level` one of the theme's type scale (s m l xl xxl)."""

    level = StringProperty("m")


class KFigure(Label):
    """An amount on one line that never wraps: as wide as its text; `level` of the type scale (amounts: xl, xxl)."""

    level = StringProperty("xl")


class KIcon(Label):
    """One Material Design icon (screens.icons) drawn as text in the theme's icon colour; `kind` 'inline',
    'tile' or 'pictogram' sizes it."""

    name = StringProperty("")
    kind = StringProperty("inline")


class IconTile(ButtonBehavior, BoxLayout):
    """A large touch target: an icon above its caption, and a second line (the reason when it is unavailable).
    `role` 'primary' (filled with the accent colour) or 'plain' (a light tile); `key` names the action."""

    icon = StringProperty("")
    text = StringProperty("")
    detail = StringProperty("")
    role = StringProperty("plain")
    key = StringProperty("")


class EntryField(Label):
    """What a keypad has typed, in a box whose height is fixed by the font, never by the text: an empty field
    takes the same room as a full one, so the keys under it never move when the first key is pressed. A number
    longer than the field (a bank account in large text) is drawn smaller to fit on its line, never below the
    smallest readable size, rather than cut with an ellipsis: the person checks every digit they typed."""

    def fitted(self, largest: float, smallest: float, room: float, text: str, font_name: str) -> float:
        """The font size that fits `text` on one line of `room` pixels: `largest`, or less down to `smallest`."""
        if not text or room <= 0:
            return largest
        from kivy.core.text import Label as CoreLabel

        options = {"font_size": largest, "bold": self.bold}
        if font_name:
            options["font_name"] = font_name
        width = CoreLabel(**options).get_extents(text)[0]
        return largest if width <= room else max(smallest, int(largest * room / width))


class ErrorBox(BoxLayout):
    """An error as a boxed title word + code + text + what to do: never by colour alone."""

    code = StringProperty("")
    text = StringProperty("")
    hint = StringProperty("")
    heading = StringProperty("")
    shown = BooleanProperty(False)  # the kv rule sizes the box from this: no room taken while there is no error

    def show(self, error: object | None, language: str) -> None:
        if error is None:
            self.code = self.text = self.hint = self.heading = ""
            self.shown = False
            return
        self.heading = translate(N_("Error"), language)
        self.code = getattr(error, "code", "")
        self.text = getattr(error, "text", str(error))
        self.hint = getattr(error, "hint", "")
        self.shown = True


KEYPAD_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back")


class Keypad(GridLayout):
    """On-screen numeric keypad; `on_key(char)` with digits, '-', 'back', 'clear'."""

    allow_dash = BooleanProperty(False)
    language = StringProperty("zh_Hans")
    handler = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.cols = 3
        self.bind(allow_dash=lambda *_: self.rebuild(), language=lambda *_: self.rebuild())
        self.rebuild()

    def rebuild(self) -> None:
        self.clear_widgets()
        labels = {"back": translate(N_("Delete"), self.language), "clear": translate(N_("Clear"), self.language)}
        keys = list(KEYPAD_KEYS)
        if self.allow_dash:
            keys[keys.index("clear")] = "-"
        for key in keys:
            button = KButton(text=labels.get(key, key), key=key)
            button.bind(on_release=self._pressed)
            self.add_widget(button)

    def _pressed(self, button: KButton) -> None:
        if self.handler is not None:
            self.handler(button.key)


def qr_texture(data: str, box_px: int = 8) -> Texture:
    """Render `data` as a QR code texture (qrcode -> Pillow -> Kivy texture)."""
    import qrcode

    qr = qrcode.QRCode(border=2, box_size=box_px, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    texture = Texture.create(size=image.size, colorfmt="rgb")
    texture.blit_buffer(image.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
    texture.flip_vertical()
    texture.mag_filter = "nearest"
    return texture


class QrImage(Image):
    """Shows `data` as a QR code; empty data shows nothing."""

    data = StringProperty("")

    def on_data(self, _instance: object, value: str) -> None:
        self.texture = qr_texture(value) if value else None


class PaymentPanel(BoxLayout):
    """While money moves: the no-change rule in a box, the amount due and received as the largest things on
    the page, the live message, overpay accept/decline, and the pictogram of the device to act on
    (screens/pictograms.py: the card reader, the note slot with the notes it takes, the QR code, the printer).
    The page's heading says the step (PaymentView.heading); the screen hides what it showed before meanwhile."""

    shown = BooleanProperty(False)
    text = StringProperty("")
    detail = StringProperty("")
    notice = StringProperty("")
    qr = StringProperty("")
    device = StringProperty("")
    due = StringProperty("")
    received = StringProperty("")
    due_label = StringProperty("")
    received_label = StringProperty("")
    notes = ListProperty([])
    language = StringProperty("zh_Hans")
    overpay = BooleanProperty(False)
    accept_label = StringProperty("")
    decline_label = StringProperty("")
    handler = ObjectProperty(None, allownone=True)  # handler(accept: bool) for the overpay answer

    def show(self, payment: object | None, language: str) -> None:
        if payment is None:
            self.text = self.detail = self.notice = self.qr = self.device = self.due = self.received = ""
            self.notes = []
            self.overpay = self.shown = False
            return
        self.language = language
        self.text = getattr(payment, "text", "")
        self.detail = getattr(payment, "detail", "")
        self.notice = getattr(payment, "notice", "")
        self.qr = getattr(payment, "qr", "")
        self.device = getattr(payment, "device", "")
        self.due = getattr(payment, "due", "")
        self.received = getattr(payment, "received", "")
        self.notes = list(getattr(payment, "notes", ()))
        self.overpay = bool(getattr(payment, "overpay", False))
        self.due_label = translate(N_("Amount due"), language)
        self.received_label = translate(N_("Received"), language)
        self.accept_label = translate(N_("Accept"), language)
        self.decline_label = translate(N_("Return the note"), language)
        self.shown = True

    def answer(self, accept: bool) -> None:
        if self.handler is not None:
            self.handler(accept)


def bind_rows(container: object, rows: list[object], make: Callable[[object], object]) -> None:
    """Replace the container's children with one widget per row (rows are flow view records)."""
    container.clear_widgets()  # type: ignore[attr-defined]
    for row in rows:
        container.add_widget(make(row))  # type: ignore[attr-defined]
