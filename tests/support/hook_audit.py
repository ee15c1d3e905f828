"""Window-hook commands of the layout audit (tests/support/layout_audit.py), run on the UI thread:

  {"cmd": "act", "actions": [...]}         run walk actions in order (below), each once the one before has
                                           finished (the flow no longer waits for the services); replies after
                                           the last
  {"cmd": "audit", "where": "pay_fees/choose", "actions": [...]}
                                           waits until the window has settled (the flow is not waiting for
                                           the services, nothing moved for a few frames), then replies with
                                           {"findings": [...], "route", "step", "settled"}; the
                                           actions, if any, run first as for "act"
While a hold is on ("hold" below) a call may stay pending on purpose: then nobody waits for the services.

Actions (one key names the kind):
  {"reset": true}                          a new session (wiped) on fresh fake services; the next action goes
                                           somewhere (every journey's start begins with a "go")
  {"modes": {"language": "en", "large_text": true}}  language and text size (re-applied after a wipe)
  {"draw": false}                          stop drawing frames (layout and text sizes still follow): the walk
                                           needs no pixels, and drawing a 1080x1920 frame in software GL takes
                                           longer than the layout; {"draw": true} again for screenshots
  {"go": "pay_fees", "params": {...}}      navigator.go
  {"call": "toggle", "args": ["@bills:0"]} a method of the current flow; an argument "@FIELD:N" is the key
                                           (first field) of the N-th enabled item of the view's FIELD
  {"app": "toggle_large_text"}             a method of the app
  {"card": "A1B2C3D4"}                     a card tap
  {"hold": "money"} / {"release": "money"} fake services: keep the money wait (or a call) pending
  {"fail": "pay_bills", "error": "GatewayError"}  fake services: the next call raises that kiosk error
  {"device": "cash", "state": "down"}      a device's health changes
  {"progress": {"stage": "confirm_overpay", "due_fen": 5000, "received_fen": 10000}}
                                           report payment progress to the flow's payment control
  {"demo_bar": true}                       the `kiosk demo` bar on fake demo controls ("reset" takes it away);
  {"demo_cards": true}                     its card list opened
  {"demo_more": true}                      its "More" popup opened (the payment-code actions, the history)
  {"invoice": "fill", "kind": "company", "name": "...", "tax_id": "..."}
                                           fake services: the phone fills the open invoice title form;
  {"invoice": "issue"} / {"invoice": "fail", "reason": "..."}  the provider answers every pending request
  {"database": "down"} / {"database": "up"}  the estate database gone (the local copy an hour old) or back
  {"age": 61}                              pretend the last touch was that long ago (idle warning)
  {"idle_warning": true}                   the idle warning, shown afresh in the current language
  {"estate": "long_lists" | "empty_public" | "closed" | "paper_out" | "two_networks"}
                                           fake services: more data (tests/support/audit_estate.py), or
                                           nothing to list, or the site closed today, or no paper; "reset" starts
                                           the fake services afresh
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from types import SimpleNamespace
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window

from kiosk import errors
from tests.support.audit_estate import clock_off, close_site, empty_public, restore, seed_long_lists, two_networks
from tests.support.layout_audit import audit_window

STABLE_FRAMES = 3
SETTLE_LIMIT_S = 10.0  # a window that moves for longer has not settled (the walk reports it)
SERVICES_LIMIT_S = 20.0  # the fake services answer at once; a loaded machine may take its time to show it


class AuditCommands:
    def __init__(self, app: Any, holds: dict[str, Any]) -> None:
        self.app = app
        self.holds = holds
        self.modes: dict[str, Any] = {}
        self.fresh = False  # a session was reset and no page shown since
        self.drawing = True
        Window.fbind("on_draw", self._draw_or_not)  # bound handlers run first; True skips Kivy's own
        Window.fbind("on_flip", self._draw_or_not)

    def _draw_or_not(self, *_args: Any) -> bool:
        return not self.drawing

    # --- actions ---------------------------------------------------------------------------------
    def act(self, command: dict[str, Any], reply: Callable[[dict[str, Any]], None]) -> None:
        """Run the actions in order, each once the services answered the one before."""
        app, todo = self.app, list(command["actions"])
        deadline = time.monotonic() + SERVICES_LIMIT_S

        def tick(_dt: float) -> bool:
            app.governor.wake()
            while not self.busy():  # a keypad's keys in one frame; a call to the services waits for a frame
                if not todo:
                    reply({"ok": True})
                    return False
                action = todo.pop(0)
                try:
                    self.run(action)
                except Exception as exc:  # the walk reports it and goes on with the next journey
                    reply({"ok": False, "error": f"{action}: {exc!r}"})
                    return False
                if "age" not in action and "idle_warning" not in action:
                    app.idle.touch()  # a person at the screen: no idle warning unless asked for
                if "hold" in action or "release" in action or "progress" in action:
                    return True  # the held call reacts on its own thread: give it a frame
            if time.monotonic() < deadline:
                return True
            reply({"ok": False, "error": f"the services did not answer in {SERVICES_LIMIT_S} s", "left": todo})
            return False

        app.governor.wake()
        Clock.schedule_interval(tick, 0)

    def busy(self) -> bool:
        """The current flow waits for the services (not counted while a hold keeps a call pending on purpose)."""
        return not any(not e.is_set() for e in self.holds.values()) and _busy(self.app)

    def run(self, action: dict[str, Any]) -> None:
        app = self.app
        if "reset" in action:
            for event in self.holds.values():
                event.set()
            self.holds.clear()
            self.demo_bar(False)
            restore(app.services)
            if app.idle.warning_visible:
                app.idle.keep_going()
            # a fresh session, without drawing the attract page each time (every journey starts with a "go"):
            # what the attract flow would have loaded is set as it loads it
            navigator = app.navigator
            navigator.ctx.site, navigator.ctx.status = app.services.site, app.services.service_status()
            navigator.session.wipe()
            self.fresh = True
        elif "estate" in action:
            {"long_lists": seed_long_lists, "empty_public": empty_public, "closed": close_site, "clock_off": clock_off,
             "paper_out": lambda s: setattr(s, "paper", "out"), "two_networks": two_networks}[action["estate"]](app.services)
            if action["estate"] == "two_networks":  # the pay page reads the networks from the session's status
                app.navigator.ctx.status = app.services.service_status()
        elif "demo_bar" in action:
            self.demo_bar(bool(action["demo_bar"]))
        elif "demo_cards" in action or "demo_more" in action:  # opened afresh: in the language of that moment
            from kivy.uix.modalview import ModalView

            for popup in [w for w in Window.children if isinstance(w, ModalView)]:
                popup.dismiss(animation=False)
            app.demo_bar.open_cards() if "demo_cards" in action else app.demo_bar.open_more()
        elif "draw" in action:
            self.drawing = bool(action["draw"])
            if self.drawing:
                Window.canvas.ask_update()
        elif "modes" in action:
            self.modes = dict(action["modes"])
            if self.fresh:  # nothing shown yet for this session: the next page opens in these modes
                app.session.set_language(self.modes.get("language") or app.session.language)
                app.session.large_text = bool(self.modes.get("large_text", app.session.large_text))
            else:
                self.apply_modes()
        elif "go" in action:
            self.fresh = False
            app.navigator.go(action["go"], **action.get("params", {}))
            self.apply_modes()
        elif "call" in action:
            flow = app.navigator.flow
            args = [self.resolve(flow, a) for a in action.get("args", ())]
            getattr(flow, action["call"])(*args)
        elif "app" in action:
            getattr(app, action["app"])(*action.get("args", ()))
        elif "card" in action:
            app.on_device_event(SimpleNamespace(card_uid=action["card"]))
        elif "hold" in action:
            self.holds[action["hold"]] = app.services.hold(action["hold"])
        elif "release" in action:
            self.holds.pop(action["release"]).set()
        elif "fail" in action:
            app.services.fail(action["fail"], make_error(action["error"]))
        elif "device" in action:
            from kiosk.flows.records import DeviceState

            state = {"down": DeviceState.DOWN, "ok": DeviceState.OK}.get(action["state"], DeviceState.DEGRADED)
            app.services.set_device(action["device"], state)
            health = {"down": "unavailable", "ok": "available"}.get(action["state"], "starting")
            app.navigator.device_changed(action["device"], health)
        elif "database" in action:  # the estate database gone ("down", a copy made an hour ago) or back ("up")
            from datetime import datetime, timedelta, timezone

            up = action["database"] == "up"
            app.navigator.database_changed(up, None if up else datetime.now(timezone.utc) - timedelta(hours=1))
        elif "progress" in action:
            from kiosk.payments.control import PaymentProgress, Stage

            spec = dict(action["progress"])
            spec["stage"] = Stage(spec["stage"])
            spec["params"] = tuple(tuple(p) for p in spec.get("params", ()))  # JSON lists
            app.navigator.flow.control.report(PaymentProgress(**spec))
        elif "invoice" in action:
            services, what = app.services, action["invoice"]
            if what == "fill":
                services.fill_invoice_form(app.navigator.flow.form.session_id, action.get("kind", "company"),
                                           action.get("name", ""), action.get("tax_id", ""))
            else:
                for request_id in [k for k, r in services.invoice_requests.items() if r.pending]:
                    services.settle_invoice(request_id, what == "issue", action.get("reason", ""))
        elif "age" in action:
            app.idle.age(float(action["age"]))
        elif "idle_warning" in action:  # shown afresh (in the current language), whatever it showed before
            app.idle.keep_going()
            app.idle.age(app.idle.tracker.policy.limit(app.session.staff is not None) + 1)
        else:
            raise ValueError(f"unknown walk action {action!r}")

    def demo_bar(self, shown: bool) -> None:
        """The `kiosk demo` bar at the window's foot, on fake demo controls (tests/support/fakes/demo_controls.py);
        hiding it also closes its card list."""
        from kivy.uix.modalview import ModalView

        from tests.support.fakes.demo_controls import FakeDemoControls

        app = self.app
        if shown and app.demo_bar is None:
            app.demo = FakeDemoControls(app.services, app.bridge)
            app._add_demo_bar()
        elif not shown and app.demo_bar is not None:
            for popup in [w for w in Window.children if isinstance(w, ModalView)]:
                popup.dismiss(animation=False)
            app.root_widget.remove_widget(app.demo_bar)
            app.demo_bar = app.demo = None

    def apply_modes(self) -> None:
        app, modes = self.app, self.modes
        if modes.get("language") and app.session.language != modes["language"]:
            app.set_language(modes["language"])
        if "large_text" in modes and bool(app.session.large_text) != bool(modes["large_text"]):
            app.toggle_large_text()

    @staticmethod
    def resolve(flow: Any, arg: Any) -> Any:
        """'@options:0' -> the key of the first enabled option of flow.view().options."""
        if not (isinstance(arg, str) and arg.startswith("@")):
            return arg
        name, _, index = arg[1:].partition(":")
        items = [i for i in getattr(flow.view(), name) if getattr(i, "enabled", True)]
        item = items[int(index or 0)]
        return getattr(item, fields(item)[0].name) if is_dataclass(item) else item

    # --- audit -----------------------------------------------------------------------------------
    def audit(self, command: dict[str, Any], reply: Callable[[dict[str, Any]], None]) -> None:
        """Reply through `reply` once the window has settled (or after SETTLE_LIMIT_S, settled False); the
        command's "actions", if any, run first (as "act" would: one round trip instead of two)."""
        if command.get("actions"):
            rest = {k: v for k, v in command.items() if k != "actions"}
            self.act(command, lambda done: self.audit(rest, reply) if done.get("ok") else reply(done))
            return
        app = self.app
        started = time.perf_counter()
        state = {"last": None, "stable": 0}

        def tick(_dt: float) -> bool:
            app.governor.wake()  # frames at max_fps while the walk looks
            mark = fingerprint(app)
            busy = self.busy()
            state["stable"] = state["stable"] + 1 if mark == state["last"] and not busy else 0
            state["last"] = mark
            settled = state["stable"] >= STABLE_FRAMES
            if not settled and time.perf_counter() - started < SETTLE_LIMIT_S:
                return True
            route = app.navigator.route
            view = getattr(app.navigator.flow, "view", lambda: None)()
            began = time.perf_counter()
            findings = audit_window(app, str(command.get("where", "")))
            reply({"ok": True, "settled": settled, "audit_ms": round((time.perf_counter() - began) * 1000),
                   "settle_ms": round((began - started) * 1000), "route": route.name if route else "",
                   "window": [Window.left, Window.top, *Window.size],
                   "step": str(getattr(view, "step", "")), "findings": [f.to_dict() for f in findings]})
            return False

        app.governor.wake()
        Clock.schedule_interval(tick, 0)


def _busy(app: Any) -> bool:
    flow = app.navigator.flow
    job = getattr(flow, "job", None)
    return bool(job is not None and not job.finished) or bool(getattr(app.bridge, "_queue", None))


def fingerprint(app: Any) -> tuple[Any, ...]:
    """Places, sizes and texts of every shown widget: equal on consecutive frames once layout has settled."""
    marks: list[Any] = [app.manager.current, str(getattr(app.navigator.route, "name", ""))]
    stack = list(Window.children)
    while stack:
        w = stack.pop()
        if getattr(w, "opacity", 1) <= 0 or w.width <= 0 or w.height <= 0:
            continue
        marks.append((round(w.x), round(w.y), round(w.width), round(w.height), getattr(w, "text", None),
                      tuple(getattr(w, "texture_size", ()) or ())))
        current = getattr(w, "current_screen", None)
        stack.extend([current] if current is not None and hasattr(w, "transition") else w.children)
    return tuple(marks)


def make_error(name: str) -> errors.KioskError:
    cls = getattr(errors, name)
    for args in ((), ("test",)):
        try:
            return cls(*args)
        except TypeError:
            continue
    raise ValueError(f"cannot build kiosk error {name}")
