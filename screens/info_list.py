"""Info list screen (notices, directory, member events): a scrolling list of rows with optional buttons."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.uix.boxlayout import BoxLayout

from screens.base import KioskScreen
from screens.widgets import KButton

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class InfoRow(BoxLayout):
    """Title, detail and an optional action button (layout in info_list.kv)."""


class InfoListScreen(KioskScreen):
    def render(self, view: Any) -> None:
        rows = self.ids.rows
        rows.clear_widgets()
        for item in view.rows:
            row = InfoRow()
            row.ids.title.text, row.ids.detail.text = item.title, item.detail
            if item.action:
                button = KButton(text=item.action, key=item.key, size_hint_x=None, width=self.width * 0.2)
                button.bind(on_release=lambda b: self.act("act", b.key))
                row.add_widget(button)
            rows.add_widget(row)
        self.ids.error.show(view.error, self.language)
