"""Window hook for end-to-end tests and the app benchmark: JSON commands over a Unix socket, run on the UI thread.

Never part of the product: a test entry point calls `tests.support.hook_install.install(path)` (or
`install_from_env()`, KIOSK_TEST_HOOK) before the window opens; the hook attaches through `screens.app.BUILT_LISTENERS`. Commands (one JSON object per line, one reply):
  {"cmd": "state"}                      route, screen, visible texts, idle warning, frame rate, QR codes shown
  {"cmd": "find", "text": "..."}        centre of the first visible button/label containing text, X11 coords
  {"cmd": "tap", "text": "..."}         press and release that button in-app (when xdotool is not used)
  {"cmd": "card", "uid": "A1B2C3D4"}    a card tap, as the reader worker would publish it
  {"cmd": "age", "seconds": 61}         pretend the last touch was that long ago (idle timer)
  {"cmd": "go", "route": "notices"}     navigate (screenshots script)
  {"cmd": "language", "code": "en"}     switch language
  {"cmd": "inspect", "attr": "printed"} an attribute of the services object (fake services in phase 1)
  {"cmd": "hold", "method": "money"}    fake services: hold a call (or the money wait) until "release"
  {"cmd": "flips"}                      wall times of frames drawn after route changes (benchmark)
  {"cmd": "frames"}                     the frame log: each frame after a flow change (time, route, step, busy,
                                        device stage, swap time), card-tap arrivals, and the real runtime's device
                                        requests (submitted, finished) per device (bench/journeys.py)
  {"cmd": "raise"}                      raise an unexpected error on the UI thread (last-resort test)
  {"cmd": "act", ...} / {"cmd": "audit"} the layout audit's walk actions and findings (tests/support/hook_audit.py)
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
from types import SimpleNamespace
from typing import Any

from kivy.core.window import Window
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.button import Button
from kivy.uix.scrollview import ScrollView
from kivy.uix.label import Label

log = logging.getLogger(__name__)


def visible_widgets(root: Any) -> list[Any]:
    """Widgets shown now: walk the window's children, skipping transparent or zero-size branches."""
    found: list[Any] = []
    stack = list(reversed(Window.children))
    while stack:
        widget = stack.pop()
        if getattr(widget, "opacity", 1) == 0 or widget.width <= 0 or widget.height <= 0:
            continue
        found.append(widget)
        if hasattr(widget, "current_screen") and widget.current_screen is not None:
            stack.append(widget.current_screen)
            continue
        stack.extend(reversed(widget.children))
    return found


def widget_texts(root: Any) -> list[str]:
    return [w.text for w in visible_widgets(root) if isinstance(w, Label) and w.text]


def scroll_into_view(widget: Any) -> None:
    """Scroll every scroll view holding `widget` so that it is shown (the next layout pass moves it there)."""
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        if isinstance(parent, ScrollView) and parent.children:
            _x, y = widget.to_window(*widget.pos)
            _px, py = parent.to_window(*parent.pos)
            if y < py - 1 or y + widget.height > py + parent.height + 1:
                parent.scroll_to(widget, padding=10, animate=False)
        parent = parent.parent


class WindowHook:
    def __init__(self, app: Any, path: str) -> None:
        self.app, self.path = app, path
        if os.path.exists(path):
            os.unlink(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.closed = False
        self.holds: dict[str, threading.Event] = {}
        from tests.support.hook_audit import AuditCommands

        self.audits = AuditCommands(app, self.holds)
        threading.Thread(target=self._serve, name="kiosk-test-hook", daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.server.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _serve(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn, conn.makefile("rw", encoding="utf-8") as stream:
                for line in stream:
                    reply = self._on_ui_thread(json.loads(line))
                    stream.write(json.dumps(reply, ensure_ascii=False, default=str) + "\n")
                    stream.flush()

    def _on_ui_thread(self, command: dict[str, Any]) -> dict[str, Any]:
        done = threading.Event()
        box: dict[str, Any] = {}

        def answer(reply: dict[str, Any]) -> None:
            box["reply"] = reply
            done.set()

        def run() -> None:
            try:
                if command.get("cmd") in ("audit", "act"):  # replies later, once the window has settled
                    getattr(self.audits, command["cmd"])(command, answer)
                    return
                answer(self.handle(command))
            except Exception as exc:  # report to the test, keep the app alive
                answer({"ok": False, "error": repr(exc)})

        if command.get("cmd") == "raise":
            def boom() -> None:
                done.set()
                raise RuntimeError("test hook: deliberate unexpected error")
            self.app.bridge.post(boom)
            done.wait(10)
            return {"ok": True}
        # an ordinary clock event (not the bridge, which runs work before the next frame is drawn): a command sees
        # the window as the last frame showed it, every layout of that frame done
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: run(), 0)
        wait_s = 45 if command.get("cmd") in ("audit", "act") else 10
        if not done.wait(wait_s):
            return {"ok": False, "error": f"UI thread did not answer in {wait_s} s"}
        return box["reply"]

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        app, cmd = self.app, command.get("cmd")
        if cmd == "state":
            route = app.navigator.route
            return {"ok": True, "route": route.name if route else "", "screen": app.manager.current,
                    "texts": widget_texts(app.root_widget), "idle_warning": app.idle.warning_visible,
                    "fps": app.governor.current_fps,
                    "input_wakes": app.input_wake.wakes if app.input_wake is not None else None,
                    "language": app.session.language,
                    "large_text": bool(app.theme.large_text), "high_contrast": bool(app.theme.high_contrast),
                    "identified": app.session.identity is not None, "staff": app.session.staff is not None,
                    "services_ready": app.services_ready_at is not None,
                    "step": str(getattr(getattr(app.navigator.flow, "view", lambda: None)(), "step", "")),
                    # what each QR code drawn on screen encodes (as a phone would scan it)
                    "qr": [w.data for w in visible_widgets(app.root_widget) if type(w).__name__ == "QrImage"
                           and w.data and w.texture is not None]}
        if cmd in ("find", "tap"):
            widget = self._find(command["text"])
            if widget is None:
                return {"ok": False, "error": f"no visible widget with text {command['text']!r}"}
            if cmd == "find":
                scroll_into_view(widget)  # as a person would scroll to it: a click lands on what it means
            x, y = widget.to_window(*widget.center)
            if cmd == "tap":  # a caption inside a tile taps the tile
                target = widget
                while target is not None and not isinstance(target, ButtonBehavior):
                    parent = target.parent
                    target = None if parent is target else parent  # the window is its own parent: no button
                (target or widget).dispatch("on_press")
                (target or widget).dispatch("on_release")
            return {"ok": True, "x": round(x), "y": round(Window.height - y), "disabled": widget.disabled}
        if cmd == "layout":  # where every visible text is: equal twice in a row means the layout settled
            return {"ok": True, "labels": [[w.text, *(round(v) for v in w.to_window(*w.pos)), round(w.width),
                                            round(w.height)] for w in visible_widgets(app.root_widget)
                                           if isinstance(w, Label) and w.text]}
        if cmd == "card":
            app.on_device_event(SimpleNamespace(card_uid=command["uid"]))
            return {"ok": True}
        if cmd == "age":
            app.idle.age(float(command["seconds"]))
            return {"ok": True}
        if cmd == "go":
            app.navigator.go(command["route"], **command.get("params", {}))
            return {"ok": True}
        if cmd == "language":
            app.set_language(command["code"])
            return {"ok": True}
        if cmd == "hold":  # fake services only: block `method` ("money": the wait for notes / QR scan)
            self.holds[command["method"]] = app.services.hold(command["method"])
            return {"ok": True}
        if cmd == "release":
            self.holds.pop(command["method"]).set()
            return {"ok": True}
        if cmd == "flips":
            return {"ok": True, "route_flips": app.route_flips, "first_frame_at": app.first_frame_at}
        if cmd == "frames":
            supervisors = getattr(getattr(app.services, "rt", None), "supervisors", {})
            return {"ok": True, **app.frame_log.as_json(),
                    "devices": {name: [list(r) for r in list(s.requests)] for name, s in supervisors.items()}}
        if cmd == "inspect":
            return {"ok": True, "value": getattr(app.services, command["attr"])}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def _find(self, text: str) -> Any:
        candidates = [w for w in visible_widgets(self.app.root_widget) if isinstance(w, Label) and text in w.text]
        exact = [w for w in candidates if w.text.strip() == text]  # "1" is the key, not "¥100"
        buttons = [w for w in exact or candidates if isinstance(w, Button) or isinstance(w.parent, ButtonBehavior)]
        return (buttons or exact or candidates or [None])[0]

