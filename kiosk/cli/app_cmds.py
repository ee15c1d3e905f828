"""`kiosk run` (real hardware from settings) and `kiosk demo` (simulated devices, demo estate)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kiosk.cli.common import settings_from
from kiosk.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for name, help_text in (("run", "start the kiosk on the devices in the configuration"),
                            ("demo", "start the kiosk on simulated devices; seeds the demo estate on first run")):
        p = sub.add_parser(name, help=help_text, parents=[common])
        p.add_argument("--language", choices=("zh_Hans", "zh_Hant", "en"), help="start in this language")
        p.add_argument("--windowed", action="store_true", help="a window instead of full screen")
        p.add_argument("--orientation", choices=("auto", "portrait", "landscape"),
                       help="portrait 1080x1920 or landscape 1920x1080 (shrunk to fit the screen); auto: the screen's")
        p.add_argument("--size", type=_size, metavar="WxH", help="window size, e.g. 1280x800 (shrunk to fit the screen)")
        p.add_argument("--no-window", action="store_true",
                       help="run devices and services without the touchscreen (for soak tests and servers)")
        p.set_defaults(handler=_run, demo=name == "demo")


@dataclass
class Started:
    settings: Settings
    runtime: Any
    sims: Any = None


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1080x1920") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1080x1920")
    return width, height


def _settings(args: argparse.Namespace) -> Settings:
    settings = settings_from(args)
    ui = settings.ui
    size = getattr(args, "size", None)
    orientation = getattr(args, "orientation", None)
    if args.language or args.windowed or size or orientation:
        windowed = args.windowed or bool(size or orientation)  # a size asked for is a window of that size
        settings = replace(settings, ui=replace(
            ui, language=args.language or ui.language, fullscreen=ui.fullscreen and not windowed,
            borderless=ui.borderless and not windowed, orientation=orientation or ui.orientation,
            width=size[0] if size else (0 if orientation else ui.width),
            height=size[1] if size else (0 if orientation else ui.height)))
    return settings


def _start(args: argparse.Namespace, bus: Any = None, prepared: dict[str, Any] | None = None) -> Started:
    """Settings (a bad technician file already fails here), database, devices, runtime — started. `prepared`:
    what `_prepare` made while the database was gone (taken once: a second start makes its own)."""
    from kiosk import bootstrap
    from kiosk.app_runtime.usable import wait_usable
    from kiosk.app_runtime.wiring import build_runtime, start_runtime

    settings = _settings(args)
    db = bootstrap.open_database(settings)
    if args.demo:
        from kiosk.app_runtime.demo import start_demo_runtime
        from kiosk.cli.seed_cmds import print_report, seed_if_empty

        report = seed_if_empty(settings, db)
        if report is not None:
            print_report(report)
        rt, sims = start_demo_runtime(settings, db, bus, (prepared or {}).pop("sims", None))
        print("simulated devices: " + ", ".join(f"{k} {v}" for k, v in sims.urls.items()), flush=True)
        print(f"printed receipts: {settings.data_dir / 'printer-sim'}", flush=True)
        wait_usable(rt)
        return Started(rt.settings, rt, sims)
    rt = build_runtime(settings, db, bus)
    start_runtime(rt)
    wait_usable(rt)  # the window's ServicesReady, and so READY=1, mean a journey works (docs/deploy.md)
    return Started(settings, rt)


def _prepare(args: argparse.Namespace, prepared: dict[str, Any]) -> None:
    """What needs no database, done while a kiosk started without it waits: the runtime's modules and, for
    `kiosk demo`, the simulators."""
    from kiosk.app_runtime.wiring import prepare_without_database

    prepare_without_database()
    if args.demo:
        from kiosk.app_runtime.demo import start_demo_simulators

        prepared["sims"] = start_demo_simulators(_settings(args))


def stop_unused(prepared: dict[str, Any]) -> None:
    """Simulators prepared for a start that never came (the window closed while the database was gone)."""
    sims = prepared.pop("sims", None)
    if sims is not None:
        sims.stop()


def _start_proven(args: argparse.Namespace, bus: Any = None, prepared: dict[str, Any] | None = None) -> Started:
    """A technician file that has never started is proven by this start, or replaced by the last good one."""
    from kiosk.app_runtime import technician_config
    from kiosk.settings import resolve_data_dir

    return technician_config.start_with_fallback(
        resolve_data_dir(args.data_dir), lambda: _start(args, bus, prepared),
        lambda s: technician_config.devices_opened(s.runtime, 15), lambda s: s.runtime.stop())


def demo_controls(started: Started) -> Any:
    if started.sims is None:
        return None
    from kiosk.app_runtime.demo_controls import DemoControls

    return DemoControls(started.sims, started.runtime)


def run_in_window(settings: Settings, start: Callable[[Any], Started],
                  prepare: Callable[[], None] | None = None) -> int:
    """Open the window on the attract screen first, then `start(bus)` the runtime behind it.

    The window greets people from the last known attract content while the database and devices open
    (see kiosk/flows/starting.py). A start that fails closes the window and is raised here, so the
    command exits with the error's code, as it would without a window. `prepare`: what needs no database,
    done first while the database is gone, so that only what needs it is left for its return."""
    from kiosk.flows.attract_snapshot import AttractSnapshot, snapshot_path
    from kiosk.flows.starting import BackgroundStart, StartingServices
    from kiosk.runtime.events import EventBus
    from screens.app import run_app

    from kiosk.flows.public_cache import PublicCache, cache_path

    bus = EventBus()
    services = StartingServices(AttractSnapshot(snapshot_path(settings.data_dir)),
                                cache=PublicCache(cache_path(settings.data_dir)))
    startup: BackgroundStart[Started] = BackgroundStart(lambda: start(bus), services, bus,
                                                        lambda s: s.runtime.services, demo_controls,
                                                        probe=database_probe(settings), prepare=prepare)
    try:
        return run_app(services, settings, bus, None, startup)
    finally:
        started = startup.finish()  # raises the start's failure, if it failed
        if started is not None:
            started.runtime.stop()
        sys.stdout.flush()


def database_probe(settings: Settings) -> Callable[[], tuple[bool, str]] | None:
    """For a central (PostgreSQL) database: asks whether it answers, within seconds (kiosk.persistence.db_health),
    so that a kiosk started while it is gone shows out of service at once and keeps trying. None for SQLite."""
    if not settings.database.url or settings.database.url.startswith("sqlite"):
        return None
    from kiosk.persistence.db_health import probe, probe_engine

    engine = probe_engine(settings.database.url)

    def ask() -> tuple[bool, str]:
        result = probe(engine)
        return result.up, result.reason
    return ask


def _run(args: argparse.Namespace) -> int:
    prepared: dict[str, Any] = {}
    try:
        if args.no_window:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # before any thread starts
            return run_without_window(_settings(args), lambda bus: _start_proven(args, bus, prepared),
                                      lambda: _prepare(args, prepared))
        return run_in_window(_settings(args), lambda bus: _start_proven(args, bus, prepared),  # bad config: 2
                             lambda: _prepare(args, prepared))
    finally:
        stop_unused(prepared)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def is_stop_signal(got: signal.struct_siginfo | None) -> bool:
    """Did `signal.sigtimedwait(STOP_SIGNALS, ...)` return a stop signal? CPython 3.11's sigtimedwait returns an
    uninitialised siginfo (a garbage si_signo such as -171662528) instead of None when a wait interrupted by another
    signal (EINTR) finds its timeout already over, which happens on a loaded machine: taken as "stopped", the kiosk
    ended with 0 before it ran (the remote-restart process test, about 1 run in 25 under load)."""
    return got is not None and got.si_signo in STOP_SIGNALS


def run_without_window(settings: Settings, start: Callable[[Any], Started], prepare: Callable[[], None],
                       *, retry_s: float = 1.0) -> int:
    """`kiosk run --no-window`: the windowed kiosk's start (kiosk.flows.starting.BackgroundStart) without the
    window. A central database that does not answer is waited for as the windowed kiosk does: one line says so,
    what needs no database is prepared meanwhile, and the kiosk starts as soon as it answers; SIGINT/SIGTERM stop
    the wait. A bad configuration or any other failed start still exits with its error's code.
    The caller blocks STOP_SIGNALS before any thread starts."""
    from kiosk.flows.attract_snapshot import AttractSnapshot, snapshot_path
    from kiosk.flows.starting import BackgroundStart, DatabaseHealthChanged, StartingServices
    from kiosk.i18n import N_, translate
    from kiosk.runtime.events import EventBus

    bus = EventBus()
    language = settings.ui.language

    def said(event: DatabaseHealthChanged) -> None:
        line = (N_("The estate database answers again; the kiosk is in service.") if event.up else
                N_("The estate database does not answer ({reason}); waiting for it. Ctrl-C stops the kiosk."))
        print(translate(line, language, reason=event.reason), flush=True)
    bus.subscribe(DatabaseHealthChanged, said)
    services = StartingServices(AttractSnapshot(snapshot_path(settings.data_dir)))
    startup: BackgroundStart[Started] = BackgroundStart(lambda: start(bus), services, bus, lambda s: s.runtime.services,
                                                        probe=database_probe(settings), retry_s=retry_s,
                                                        prepare=prepare)
    startup.begin()
    stopped = False
    while startup.started is None and startup.error is None:
        if is_stop_signal(signal.sigtimedwait(STOP_SIGNALS, 0.2)):
            stopped = True  # stopped while waiting for the database
            break
    started = startup.finish()  # re-raises a failed start; None when stopped before it began
    if started is None:
        return 0
    try:
        if not stopped:
            print("kiosk running without a window; Ctrl-C stops it", flush=True)
            signal.sigwait(STOP_SIGNALS)
        return 0
    finally:
        started.runtime.stop()
        sys.stdout.flush()
