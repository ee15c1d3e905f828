"""What every `kiosk sim ...` command does around its simulator: SIGTERM stops it like Ctrl-C, a port that cannot
be had is one line and exit status 4, and an HTTP simulator prints its base URL as its first line (then what it
says about itself) and serves until it is stopped."""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

EXIT_DEVICE = 4  # same as a DeviceError (kiosk.cli.main.EXIT_DEVICE)


class HttpSimulator(Protocol):
    url: str

    def start(self) -> None: ...
    def stop(self) -> None: ...


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """`kill PID` (what tests and scripts send) ends the simulator the way Ctrl-C does: through its finally."""
    signal.signal(signal.SIGTERM, _interrupt)


def cannot_listen(port: int, exc: OSError) -> int:
    print(f"kiosk: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
    return EXIT_DEVICE


def serve_http(sim: HttpSimulator, about: Callable[[], Iterable[str]]) -> int:
    """Start `sim`, print its URL (the first line, which tests and scripts read) and then `about()`'s lines, and
    serve until SIGTERM or Ctrl-C; the simulator is stopped on the way out."""
    stop_on_sigterm()
    sim.start()
    try:
        print(sim.url, flush=True)
        for line in about():
            print(line, flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
