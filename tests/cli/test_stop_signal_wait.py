"""`kiosk run/demo --no-window` stops only for a real SIGINT/SIGTERM: CPython 3.11's sigtimedwait hands back an
uninitialised siginfo when an interrupted wait runs out of time (seen under load as si_signo -171662528), and
that once ended a starting kiosk with exit 0 before it ran."""
from __future__ import annotations

import os
import signal
import threading

from kiosk.cli.app_cmds import STOP_SIGNALS, is_stop_signal

GARBAGE = signal.struct_siginfo((-171662528, 0, 0, 0, 0, 0, 0))  # what the loaded machine's wait returned


def test_a_garbage_siginfo_or_a_timeout_is_not_a_stop_and_a_real_sigterm_is() -> None:
    assert not is_stop_signal(GARBAGE)
    assert not is_stop_signal(None)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        assert not is_stop_signal(signal.sigtimedwait(STOP_SIGNALS, 0.05))  # a real timeout
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
        got = signal.sigtimedwait(STOP_SIGNALS, 5)
        assert is_stop_signal(got) and got.si_pid == os.getpid()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
