"""The Kivy App object: wires navigator, bridge, runner, theme, idle timer, window guard and handlers."""
from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.flows.idle import IdlePolicy
from kiosk.flows.navigator import Navigator
from kiosk.flows.routes import Route
from kiosk.flows.runner import ThreadRunner
from kiosk.flows.session import Session
from kiosk.flows.staff import GestureDetector
from kiosk.flows.starting import DatabaseHealthChanged, ServicesFailed, ServicesReady
from kiosk.i18n import LANGUAGES, N_, translate
from screens import last_resort
from screens.boot import register_font
from screens.bridge import UiBridge
from screens.frame_log import FrameLog
from screens.quiet_gc import QuietCollector
from screens.ui_settings import UiSettings
from screens.widgets import ThemeState

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
LANGUAGE_BUTTONS = {"zh_Hans": "简", "zh_Hant": "繁", "en": "EN"}
PREBUILT_SCREENS = ("identify", "household", "pay_fees", "steps", "message")  # loaded once the runtime is ready


class KioskRoot(BoxLayout):
    """Header (language, text size, contrast, start over, hidden staff corners) above the screens."""

    title = StringProperty("")
    start_over = StringProperty("")
    text_label = StringProperty("")
    contrast_label = StringProperty("")
    manager = ObjectProperty(None)


class KioskApp(App):
    theme = ObjectProperty(None)

    def __init__(self, services: Any, ui: UiSettings, event_bus: Any = None, demo: Any = None,
                 startup: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services, self.ui, self.event_bus, self.demo = services, ui, event_bus, demo
        self.startup = startup  # a kiosk.flows.starting.BackgroundStart, begun once the window has drawn
        self.demo_bar: Any = None
        self.session = Session(default_language=ui.default_language, language=ui.default_language,
                               large_text=ui.large_text, high_contrast=ui.high_contrast,
                               default_large_text=ui.large_text, default_high_contrast=ui.high_contrast)
        self.first_frame_at: float | None = None
        self.services_ready_at: float | None = None if startup is not None else time.time()
        self.prebuilt = False  # the journeys' screens loaded (while the database was gone, or once services are ready)
        self.screens: dict[str, Any] = {}
        self.gesture = GestureDetector()
        self.frame_log = FrameLog()  # what each frame after a flow change showed (bench/journeys.py)

    # --- build ---------------------------------------------------------------------------------
    def build(self) -> KioskRoot:
        from screens.app import load_screen_class
        from screens.kiosk_window import FrameRateGovernor, WindowGuard

        self.title = "Estate kiosk"
        register_font(self.ui)
        from kivy.core.window import Window

        self.theme = ThemeState(Window.width, Window.height, self.ui.screen_diagonal_in, self.ui.screen_width_mm)
        self.theme.set_modes(self.ui.large_text, self.ui.high_contrast)
        # the page background is the window's clear colour, not a full-window rectangle: under software GL every
        # full-window layer costs a full-screen fill each frame (about 45 ms at 1080x1920 on a busy 2-core machine)
        Window.clearcolor = self.theme.bg
        self.theme.bind(bg=lambda _theme, colour: setattr(Window, "clearcolor", colour))
        self.theme.set_language(self.session.language)
        Window.bind(size=lambda _w, size: self.theme.set_size(*size))
        Builder.load_file(str(HERE / "widgets.kv"))
        Builder.load_file(str(HERE / "app.kv"))
        self._load_screen_class = load_screen_class
        from screens.speech import Speaker

        self.speaker = Speaker(self.ui.speech, self.ui.speech_command)
        self.bridge = UiBridge()
        self.bridge.attach(self.event_bus)
        self.bridge.on_event(self.on_device_event)
        self.runner = ThreadRunner(self.bridge.post)
        self.navigator = Navigator(self.services, self.session, self.runner, call_timeout_s=self.ui.call_timeout_s)
        self.navigator.subscribe(self.show_route)
        self.root_widget = KioskRoot()
        self.manager: ScreenManager = self.root_widget.manager
        self.manager.transition = NoTransition()
        self.handler = last_resort.install(self.navigator.recover)
        self.guard = WindowGuard(lambda: self.session.staff is not None)
        from screens.input_wake import InputWake

        self.input_wake = InputWake.start(Window, Clock.schedule_once)
        idle_fps = self.ui.idle_fps if self.input_wake is not None else self.ui.idle_poll_fps
        self.governor = FrameRateGovernor(self.ui.max_fps, idle_fps, self.ui.active_window_s)
        from screens.idle_timer import IdleController

        self.idle = IdleController(
            IdlePolicy(self.ui.idle_timeout_s, self.ui.idle_warning_s, self.ui.staff_idle_timeout_s),
            applies=lambda: bool(self.navigator.route and (self.navigator.route.personal or self.session.identity
                                                            or self.session.staff or self.session.customised)),
            is_staff=lambda: self.session.staff is not None,
            language=lambda: self.session.language,
            on_expire=self.navigator.end_session)
        self.quiet_gc = QuietCollector(Clock.schedule_once, self._left_alone)
        signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: self.stop()))
        from screens import service_watchdog

        self.service_watchdog = service_watchdog.attach(self)  # READY=1 / WATCHDOG=1 to systemd (docs/deploy.md)
        self._add_demo_bar()
        self.refresh_header()
        self.navigator.go("attract")
        from screens.app import BUILT_LISTENERS

        for listener in BUILT_LISTENERS:
            listener(self)
        self._start_scheduled = False
        self.route_flips: list[float] = []  # wall times of the first frame drawn after each route change
        self._route_changed = False
        from kivy.core.window import Window
        self.frame_log.attach(Window, self.navigator)

        Window.bind(on_flip=self._on_flip)
        return self.root_widget

    def _add_demo_bar(self) -> None:
        if self.demo is not None and self.demo_bar is None:  # `kiosk demo`: cards, notes and QR scans by touch
            from screens.demo_panel import DemoBar

            self.demo_bar = DemoBar(self.demo, lambda: self.session.language)
            self.root_widget.add_widget(self.demo_bar)

    def _on_flip(self, *_args: Any) -> None:
        """Frame bookkeeping: the start behind the window, the first attract frame, route-change frames."""
        if self.startup is not None and not self._start_scheduled:
            # the runtime starts once the attract content is on screen, or shortly after the first frame
            # when there is none to show yet; before that it would only slow the first frame down
            self._start_scheduled = True
            Clock.schedule_once(lambda _dt: self.startup.begin(), 0.3)
        if self.first_frame_at is None and self.navigator.flow is not None \
                and getattr(self.navigator.flow.view(), "step", "") == "ready":
            self.first_frame_at = time.time()
            log.info("first attract frame at %.3f", self.first_frame_at)
            self._report("FIRST_FRAME", self.first_frame_at)
            if self.startup is not None:
                self.startup.begin()
        if self._route_changed:
            self._route_changed = False
            self.route_flips.append(time.time())

    # --- navigation ------------------------------------------------------------------------------
    def show_route(self, route: Route, flow: Any) -> None:
        if route.name == "exit":
            self.stop()
            return
        screen = self._screen(route.screen)
        self.theme.set_modes(self.session.large_text, self.session.high_contrast)  # a wipe restores the defaults
        screen.bind_flow(flow)
        if flow is not None:
            flow.subscribe(lambda _view: self.refresh_header())
            flow.subscribe(lambda _view: self.frame_log.changed())
            if self.speaker.active:
                flow.subscribe(lambda view: self.speaker.say(
                    getattr(view, "prompt", "") or getattr(view, "greeting", ""), self.session.language))
        self.manager.current = route.screen
        self._route_changed = True
        self.frame_log.changed()
        if route.name == "attract" and hasattr(self, "quiet_gc"):
            self.quiet_gc.arm()  # collect and freeze once the attract page has been left alone a while
        self.refresh_header()
        if hasattr(self, "idle"):
            self.idle.touch()

    def _screen(self, name: str) -> Any:
        """The screen called `name`, built on first use."""
        screen = self.screens.get(name)
        if screen is None:
            screen = self._load_screen_class(name)(name=name)
            self.screens[name] = screen
            self.manager.add_widget(screen)
        return screen

    def prebuild(self) -> None:
        """Load the screens of a resident's journeys (their modules and kv rules) ahead of the first resident: a
        first visit otherwise costs up to a tenth of a second, the pay page's most. The widgets themselves are
        built on first use, as before (built ahead they would keep some 16 MiB more for pages that may never
        be needed)."""
        for name in PREBUILT_SCREENS:
            self._load_screen_class(name)
        self.prebuilt = True

    def refresh_header(self) -> None:
        language = self.session.language
        self.theme.set_language(language)
        root = self.root_widget
        site = self.navigator.ctx.site
        root.title = site.name(language) if site else ""
        root.start_over = translate(N_("Start over"), language)
        root.text_label = translate(N_("Large text"), language)
        root.contrast_label = translate(N_("High contrast"), language)
        if self.demo_bar is not None:
            self.demo_bar.refresh_language()

    def _left_alone(self) -> bool:
        route = self.navigator.route
        alone = time.monotonic() - self.idle.tracker.last_touch >= self.quiet_gc.settle_after_s - 0.05
        return route is not None and route.name == "attract" and alone

    # --- header actions -------------------------------------------------------------------------
    def set_language(self, language: str) -> None:
        if language in LANGUAGES:
            self.navigator.set_language(language)
            self.refresh_header()
            self.idle.touch()

    def toggle_large_text(self) -> None:
        self.session.large_text = not self.session.large_text
        self.theme.set_modes(self.session.large_text, self.session.high_contrast)
        self.idle.touch()

    def toggle_contrast(self) -> None:
        self.session.high_contrast = not self.session.high_contrast
        self.theme.set_modes(self.session.large_text, self.session.high_contrast)
        self.idle.touch()

    def start_over(self) -> None:
        self.navigator.end_session()

    def corner_tap(self, corner: str) -> None:
        if self.gesture.tap(corner, time.monotonic()):
            self.navigator.go("staff_unlock")

    # --- devices --------------------------------------------------------------------------------
    def _report(self, what: str, at: float) -> None:
        if os.environ.get("KIOSK_REPORT_FIRST_FRAME"):  # bench/app.py reads these lines
            print(f"{what} {at:.6f}", flush=True)

    def on_services_ready(self, event: ServicesReady) -> None:
        """The runtime behind the window is up: fresh attract content, the demo bar, the header."""
        self.services_ready_at = time.time()
        log.info("services ready")
        self._report("SERVICES_READY", self.services_ready_at)
        if getattr(self, "service_watchdog", None) is not None:
            self.service_watchdog.check_ready()  # READY=1 now, not at the next READY_CHECK_S: the kiosk is usable
        if event.demo is not None:
            self.demo = event.demo
            self._add_demo_bar()
        flow = self.navigator.flow
        if self.navigator.route is not None and self.navigator.route.name == "attract" and hasattr(flow, "reload"):
            flow.reload()
        self.refresh_header()
        rt = getattr(self.services, "rt", None)  # the office's restart waits for an idle kiosk (kiosk.fleet.actions)
        if rt is not None and hasattr(rt, "on_restart"):
            rt.on_restart = lambda reason: Clock.schedule_once(lambda _dt: self.restart_when_idle(reason))
        if self.prebuilt:  # done while the database was gone: the out-of-service page gives way to the first page
            self.quiet_gc.arm()  # at once; what the start made since is collected once the kiosk is left alone
            return
        self.prebuild()
        self.quiet_gc.settle()  # the start-up's garbage gone and the rest frozen, before anyone can be waiting

    def restart_when_idle(self, reason: str) -> None:
        """The office asked for a restart: the app ends (the service manager starts it again) once nobody is using
        the kiosk; until then it looks again every second."""
        route = self.navigator.route
        if self.session.identity is None and (route is None or route.name in ("attract", "out_of_service")):
            log.warning("restarting: %s", reason)
            self.stop()
            return
        Clock.schedule_once(lambda _dt: self.restart_when_idle(reason), 1.0)

    def _wait_for_the_database(self) -> None:
        """A start that found the estate database gone waits on the out-of-service page: the screens are loaded
        and the garbage settled meanwhile, so its return leaves only the runtime's own start."""
        if self.prebuilt or self.services_ready_at is not None:
            return
        self.prebuild()
        self.quiet_gc.settle()

    def on_start_failed(self, event: ServicesFailed) -> None:
        """The kiosk could not start (the command that started it reports why, with its exit code)."""
        log.error("the kiosk failed to start: %s", event.message)
        self.stop()

    def on_device_event(self, event: Any) -> None:
        """Device events, already on the UI thread via the bridge: card taps and health changes."""
        if isinstance(event, ServicesReady):
            self.on_services_ready(event)
            return
        if isinstance(event, ServicesFailed):
            self.on_start_failed(event)
            return
        if isinstance(event, DatabaseHealthChanged):  # the estate database gone or back (kiosk.app_runtime.offline)
            self.navigator.database_changed(event.up, event.cached_at)
            self.refresh_header()
            if not event.up:
                Clock.schedule_once(lambda _dt: self._wait_for_the_database(), 2.0)  # after the page's transition
            return
        # imported here, not with the window: kiosk.fleet.actions brings SQLAlchemy and the models, which the first
        # frame does not need (the runtime imports them behind the window; docs/benchmarks-app.md)
        from kiosk.fleet.actions import ServiceStateChanged

        if isinstance(event, ServiceStateChanged):  # the office paused, resumed, reloaded (kiosk.fleet.actions)
            self.navigator.service_state_changed()
            return
        health = getattr(event, "health", None)
        if health is not None and hasattr(event, "device"):
            self.navigator.device_changed(str(event.device), str(health), str(getattr(event, "reason", "")))
            return
        uid = getattr(event, "card_uid", None) or getattr(getattr(event, "uid", None), "hex", None) \
            or getattr(getattr(getattr(event, "tag", None), "uid", None), "hex", None)
        if uid is None:
            return
        self.frame_log.event("card")
        flow = self.navigator.flow
        identity = self.session.identity
        if flow is not None and hasattr(flow, "card_tapped"):
            flow.card_tapped(str(uid))
        elif identity is not None and (identity.card_uid or "").upper() == str(uid).upper():
            return  # the signed-in card seen again (the reader re-selected it after a card operation)
        elif self.navigator.route is not None and self.navigator.route.name != "staff_home":
            self.navigator.go("identify", card_uid=str(uid))

    def on_stop(self) -> None:
        if getattr(self, "service_watchdog", None) is not None:
            self.service_watchdog.stopping()
        if getattr(self, "input_wake", None) is not None:
            self.input_wake.stop()
        self.runner.shutdown()
        self.speaker.close()
