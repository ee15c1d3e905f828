"""A scrolling list that says when there is more below: a band at its foot, "More below: swipe up", while rows
are hidden under it, and a scroll bar that stays visible. Use it where a list may be longer than the page
(step options, notices, directory, events) instead of a bare ScrollBox."""
from __future__ import annotations

from typing import Any

from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kiosk.i18n import N_, translate
from screens.widgets import SteadyScrollView

HINT = N_("More below: swipe up")

Builder.load_string("""
#:import icon screens.icons.icon
<HintedScrollView>:
    do_scroll_x: False
    bar_width: app.theme.pad
    bar_color: app.theme.muted
    bar_inactive_color: app.theme.muted
    scroll_type: ["bars", "content"]
    effect_cls: "ScrollEffect"

<ScrollMore>:
    size_hint_y: None
    height: self.texture_size[1] + app.theme.pad
    halign: "center"
    valign: "middle"
    text_size: self.width, None
    font_size: app.theme.font_s
    font_name: app.theme.face(self.text) if app.theme.font_name else ""
    bold: True
    color: app.theme.text
    canvas.before:
        Color:
            rgba: app.theme.warn_bg
        Rectangle:
            pos: self.pos
            size: self.size
        Color:
            rgba: app.theme.text
        Line:
            points: self.x, self.top, self.right, self.top
            width: 1.5

<HintedScroll>:
    size_hint_min_y: app.theme.touch * 2
""")


class HintedScrollView(SteadyScrollView):
    """The ScrollView inside a HintedScroll (its bar does not fade: SteadyScrollView)."""


class ScrollMore(Label):
    """The band at the foot of a HintedScroll."""


class HintedScroll(FloatLayout):
    """A ScrollView (`scroller`) with one content widget, and the "more below" band over its foot while the
    content goes on below the visible part. In kv the content is written as its child, as for a ScrollView;
    `language` (bind it to the screen's `lang`) chooses the band's words."""

    more = BooleanProperty(False)  # rows are hidden below the visible part
    language = StringProperty("zh_Hans")
    scroller = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        self._band: ScrollMore | None = None
        super().__init__(**kwargs)
        self.scroller = HintedScrollView(size_hint=(1, 1), pos_hint={"x": 0, "y": 0})
        super().add_widget(self.scroller)
        self._band = ScrollMore(pos_hint={"x": 0, "y": 0}, opacity=0)
        super().add_widget(self._band)
        self.scroller.bind(scroll_y=self._update, height=self._update)
        self.bind(more=self._show, language=self._show)

    def add_widget(self, widget: Any, *args: Any, **kwargs: Any) -> None:
        if self._band is None or widget in (self.scroller, self._band):
            super().add_widget(widget, *args, **kwargs)
            return
        self.scroller.add_widget(widget, *args, **kwargs)
        widget.bind(height=self._update)

    @property
    def scroll_y(self) -> float:
        return float(self.scroller.scroll_y)

    @scroll_y.setter
    def scroll_y(self, value: float) -> None:
        self.scroller.scroll_y = value

    def _update(self, *_args: Any) -> None:
        content = self.scroller.children[0] if self.scroller.children else None
        overflow = content is not None and content.height > self.scroller.height + 1
        self.more = bool(overflow and self.scroller.scroll_y > 0.005)

    def _show(self, *_args: Any) -> None:
        if self._band is None:
            return
        self._band.text = translate(HINT, self.language or "zh_Hans") if self.more else ""
        self._band.opacity = 1 if self.more else 0
