"""`python -m tests.support.audit_sample`: a tiny Kivy window with known layout faults, audited by
tests/support/layout_audit.py; prints the findings as JSON lines and quits (tests/e2e/test_layout_auditor.py).

Every widget's text says what it is; the ones named "fine ..." must give no finding.
"""
from __future__ import annotations

import json
import os
import sys

WINDOW = (800, 600)
FONT_MIN, TOUCH = 24, 60


def build() -> object:
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.button import Button
    from kivy.uix.floatlayout import FloatLayout
    from kivy.uix.gridlayout import GridLayout
    from kivy.uix.label import Label
    from kivy.uix.scrollview import ScrollView
    from kivy.uix.widget import Widget

    root = FloatLayout()

    def put(widget: Widget, x: float, y: float, w: float, h: float) -> Widget:
        widget.size_hint = (None, None)
        widget.pos, widget.size = (x, y), (w, h)
        root.add_widget(widget)
        return widget

    put(Label(text="fine label", font_size=30), 10, 540, 300, 50)
    put(Button(text="fine button", font_size=30), 10, 460, 300, 70)
    # its line box (ascent + descent) is taller than the box, its glyphs are not: no finding
    put(Label(text="fine tight line", font_size=30), 10, 420, 300, 34)
    # a wrapped label whose box is too low for its lines: the lines below are cut off by text_size
    put(Label(text="clipped: a long sentence that wraps onto several lines in this box", font_size=30,
              text_size=(300, 50), valign="top"), 350, 540, 300, 50)
    put(Label(text="shortened: a long sentence cut with an ellipsis", font_size=30, shorten=True,
              text_size=(200, None)), 350, 470, 200, 50)
    put(Label(text="overflowing label text without text_size", font_size=30), 200, 380, 150, 40)
    put(Label(text="tiny type", font_size=14), 560, 470, 200, 40)
    put(Button(text="S", font_size=30), 600, 400, 40, 40)  # too small to touch
    put(Button(text="left of pair", font_size=30), 10, 300, 250, 70)
    put(Button(text="right of pair", font_size=30), 200, 300, 250, 70)  # overlaps the one before
    put(Label(text="off the edge", font_size=30), 700, 230, 200, 50)  # reaches past the right window edge
    hidden = put(Button(text="hidden button", font_size=10), 600, 300, 10, 10)
    hidden.opacity = 0  # not shown: never audited
    folded = put(BoxLayout(), 600, 200, 100, 0)  # a zero-height box: what is in it is not shown
    folded.add_widget(Button(text="folded button", font_size=10, size_hint=(None, None), size=(10, 10)))
    put(Label(text="first of two texts", font_size=30), 350, 130, 250, 40)
    put(Label(text="second of two texts", font_size=30), 400, 110, 290, 40)  # drawn over the first
    wide = put(ScrollView(do_scroll_x=False, do_scroll_y=False), 650, 10, 140, 100)
    wide.add_widget(Label(text="wide content", font_size=30, size_hint=(None, None), size=(300, 100)))
    scroll = put(ScrollView(do_scroll_x=False, bar_width=12), 10, 10, 300, 200)
    # the rows leave the bar its own lane (as the kiosk's option rows do): nothing under it
    rows = GridLayout(cols=1, size_hint_y=None, row_default_height=TOUCH, row_force_default=True, padding=(0, 0, 14, 0))
    rows.bind(minimum_height=rows.setter("height"))
    for n in range(8):  # rows below the viewport can be scrolled to: audited, not "outside the window"
        rows.add_widget(Button(text=f"fine row {n}", font_size=30))
    scroll.add_widget(rows)
    # a value set flush right in a scroll view whose content is taller: the bar is drawn over its last digits
    values = put(ScrollView(do_scroll_x=False, bar_width=12), 320, 10, 300, 90)
    value_rows = BoxLayout(orientation="vertical", size_hint_y=None, height=200)
    value_rows.add_widget(Label(text="under the bar ¥1.00", font_size=24, halign="right", valign="top",
                                text_size=(300, 30), size_hint_y=None, height=30))
    value_rows.add_widget(Button(text="pressed under the bar", font_size=24, size_hint_y=None, height=TOUCH))
    value_rows.add_widget(Widget())
    values.add_widget(value_rows)
    # a band laid over the foot of the scroll view ("more below"): the rows scroll out from under it
    put(Label(text="fine band over the rows", font_size=24), 10, 40, 300, 40)
    return root


def main() -> int:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(WINDOW[0]))
    Config.set("graphics", "height", str(WINDOW[1]))
    Config.set("graphics", "resizable", "0")
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window

    from tests.support.layout_audit import audit_nodes, shown_nodes

    class Sample(App):
        def build(self) -> object:
            return build()

        def on_start(self) -> None:
            Clock.schedule_once(self.audit, 1.0)  # after the first frames: layout and textures are done

        def audit(self, _dt: float) -> None:
            findings = audit_nodes(shown_nodes(list(reversed(Window.children))), FONT_MIN, TOUCH, Window.size)
            for finding in findings:
                print(json.dumps(finding.to_dict(), ensure_ascii=False), flush=True)
            self.stop()

    Sample().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
