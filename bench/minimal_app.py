"""Baseline for bench/app.py: a minimal Kivy app (a label and two buttons, same CJK font), Kivy defaults."""
from __future__ import annotations

import os
import sys
import time

FONT = os.environ.get("KIOSK_UI_FONT_PATH", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def main() -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from kivy.config import Config

    Config.set("graphics", "width", os.environ.get("BENCH_WIDTH", "1280"))
    Config.set("graphics", "height", os.environ.get("BENCH_HEIGHT", "800"))
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from kivy.app import App
    from kivy.core.window import Window
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.button import Button
    from kivy.uix.label import Label

    state = {"first": False, "changed": False}

    def on_flip(*_args: object) -> None:
        if not state["first"]:
            state["first"] = True
            print(f"FIRST_FRAME {time.time():.6f}", flush=True)
        if state["changed"]:
            state["changed"] = False
            print(f"FLIP {time.time():.6f}", flush=True)

    class MinimalApp(App):
        def build(self) -> BoxLayout:
            Window.bind(on_flip=on_flip)
            root = BoxLayout(orientation="vertical")
            label = Label(text="您好，翠湖花园", font_name=FONT, font_size=40)
            row = BoxLayout()
            for caption in ("缴费", "公告"):
                button = Button(text=caption, font_name=FONT, font_size=32)

                def pressed(b: Button, label: Label = label) -> None:
                    label.text = f"{b.text} {time.time():.3f}"
                    state["changed"] = True
                button.bind(on_release=pressed)
                row.add_widget(button)
            root.add_widget(label)
            root.add_widget(row)
            return root

    MinimalApp().run()


if __name__ == "__main__":
    sys.exit(main())
