"""Frame log: the wall time of each frame drawn after the current flow changed, with what it showed (busy or
ready, a device step), and when card taps arrived; the journey benchmark (bench/journeys.py) reads it through the
test hook to measure how long a resident waits for the screen that answers a tap."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

KEEP = 512  # marks kept (a journey makes a few dozen)


@dataclass(frozen=True)
class FrameMark:
    at: float  # time.time() when the frame was on screen (its buffer swap returned)
    route: str
    step: str
    busy: bool  # a call in flight or the printer check: not ready for the next tap
    device: str  # the payment stage while the person or a device acts (kiosk.flows.base.PERSON_AT_DEVICE), else ""
    swap_s: float = 0.0  # how long the buffer swap took (where software GL draws the frame)


class FrameLog:
    """`changed()` when the flow or route changed (asks for a redraw, so a change that moves no pixel still gets
    its frame); `attach(window, navigator)` wraps the window's buffer swap so each frame after a change is marked
    once it is on screen; `event(name)` for a card tap reaching the UI thread."""

    def __init__(self) -> None:
        self.marks: deque[FrameMark] = deque(maxlen=KEEP)
        self.events: deque[tuple[float, str]] = deque(maxlen=KEEP)
        self.swaps: deque[float] = deque(maxlen=KEEP * 4)  # when every frame was on screen, changed flow or not
        self._pending = False
        self.ask_redraw: Any = None

    def attach(self, window: Any, navigator: Any) -> None:
        self.ask_redraw = window.canvas.ask_update
        swap = window.flip

        def flip() -> None:
            started = time.time()
            swap()
            self.swaps.append(time.time())
            self.drawn(navigator, started)
        window.flip = flip  # WindowBase.on_flip calls self.flip(): the instance's, this one
        window.fbind("on_touch_up", lambda *_args: self.event("touch"))  # when a finger's lift reached the window

    def changed(self) -> None:
        self._pending = True
        if self.ask_redraw is not None:
            self.ask_redraw()

    def event(self, name: str) -> None:
        self.events.append((time.time(), name))

    def drawn(self, navigator: Any, swap_started: float | None = None) -> None:
        if not self._pending:
            return
        self._pending = False
        flow, route = navigator.flow, navigator.route
        busy, device = flow.activity() if flow is not None else (False, "")
        step = getattr(flow, "step", "") if flow is not None else ""
        now = time.time()
        swap_s = now - swap_started if swap_started is not None else 0.0
        self.marks.append(FrameMark(now, route.name if route else "", str(step), busy, device, swap_s))

    def as_json(self) -> dict[str, Any]:
        return {"marks": [[m.at, m.route, m.step, m.busy, m.device, m.swap_s] for m in self.marks],
                "events": [list(e) for e in self.events], "swaps": list(self.swaps)}
