"""Info list screen (notices, directory, member events): a scrolling list of rows, each with an icon, its title,
its lines in the sizes they need (a phone number large), and an optional action button."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.base import KioskScreen
from screens.scroll_hint import HintedScroll
from screens.widgets import KLabel



class InfoLine(KLabel):
    """A line under a row's title; `tone` 'text' or 'muted' (rule in info_list.kv)."""

    tone = StringProperty("text")


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
__all__ = ["HintedScroll", "InfoLine", "InfoListScreen", "InfoRow"]


class InfoRow(BoxLayout):
    """One row (kiosk.flows.public_info.Row): icon | title and lines | action button and its reason."""

    icon = StringProperty("")
    action = StringProperty("")
    reason = StringProperty("")
    action_enabled = BooleanProperty(True)


# (field, type level, bold, colour name) of the lines under a row's title, in this order
LINES = (("meta", "m", False, "muted"), ("figure", "xl", True, "text"), ("body", "m", False, "text"),
         ("note", "m", True, "text"))


def info_row(item: Any) -> InfoRow:
    row = InfoRow(icon=getattr(item, "icon", ""), action=item.action, reason=getattr(item, "reason", ""),
                  action_enabled=getattr(item, "action_enabled", True))
    texts = row.ids.texts
    texts.add_widget(KLabel(text=item.title, level="l", bold=True))
    structured = any(getattr(item, field, "") for field, *_ in LINES)
    if not structured:  # a row that only has its old detail text
        texts.add_widget(KLabel(text=item.detail, level="m"))
    for field, level, bold, tone in LINES:
        text = getattr(item, field, "") if structured else ""
        if text:
            texts.add_widget(InfoLine(text=text, level=level, bold=bold, tone=tone))
    return row


class InfoListScreen(KioskScreen):
    def on_kv_post(self, base_widget: Any) -> None:
        App.get_running_app().theme.bind(portrait=lambda *_: self._columns())
        self._columns()

    def _columns(self) -> None:
        """One column in portrait; two side by side in landscape."""
        self.ids.rows.cols = 1 if App.get_running_app().theme.portrait else 2

    def render(self, view: Any) -> None:
        rows = self.ids.rows
        rows.clear_widgets()
        for item in view.rows:
            row = info_row(item)
            if item.action:
                button = Factory.InfoAction(text=item.action, key=item.key, disabled=not row.action_enabled)
                button.bind(on_release=lambda b: self.act("act", b.key))
                row.ids.side.add_widget(button, index=len(row.ids.side.children))  # above its reason
            rows.add_widget(row)
        keys = tuple(r.key for r in view.rows)
        if keys != getattr(self, "_keys", None):  # a new list starts at the top
            self._keys = keys
            self.ids.scroll.scroll_y = 1
        self.ids.error.show(view.error, self.language)
