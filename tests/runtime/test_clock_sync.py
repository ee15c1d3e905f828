"""Clock synchronisation as timedatectl and chrony report it; "unknown" (not an error) where neither can say."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from kiosk.runtime import clock_sync
from kiosk.runtime.clock_sync import (
    NOT_SYNCHRONISED,
    SYNCHRONISED,
    UNKNOWN,
    ClockWatch,
    check_clock,
    parse_chrony_tracking,
    parse_timedatectl,
)

TIMEDATECTL = """Timezone=Asia/Shanghai
LocalRTC=no
CanNTP=yes
NTP=yes
NTPSynchronized={synced}
TimeUSec=Sun 2026-12-06 23:05:01 CST
RTCTimeUSec=Sun 2026-12-06 23:05:01 CST
"""

CHRONY = """Reference ID    : {ref}
Stratum         : 3
Ref time (UTC)  : Sun Dec 06 15:04:12 2026
System time     : 0.000012817 seconds fast of NTP time
Last offset     : +0.000003104 seconds
RMS offset      : 0.000021532 seconds
Frequency       : 11.470 ppm slow
Residual freq   : +0.001 ppm
Skew            : 0.036 ppm
Root delay      : 0.002394145 seconds
Root dispersion : 0.000436233 seconds
Update interval : 64.5 seconds
Leap status     : {leap}
"""


def test_timedatectl_says_whether_the_kernel_clock_is_ntp_synchronised() -> None:
    assert parse_timedatectl(TIMEDATECTL.format(synced="yes")) == (SYNCHRONISED, "NTPSynchronized=yes, NTP=yes")
    assert parse_timedatectl(TIMEDATECTL.format(synced="no"))[0] == NOT_SYNCHRONISED  # type: ignore[index]
    assert parse_timedatectl("Timezone=UTC\n") is None


def test_chrony_tracking_says_synchronised_unless_its_leap_status_or_reference_says_not() -> None:
    state, detail = parse_chrony_tracking(CHRONY.format(ref="C0A80101 (192.168.1.1)", leap="Normal"))  # type: ignore[misc]
    assert state == SYNCHRONISED and detail == "Leap status Normal, 0.000012817 seconds fast of NTP time"
    assert parse_chrony_tracking(CHRONY.format(ref="00000000 ()", leap="Not synchronised"))[0] == NOT_SYNCHRONISED  # type: ignore[index]
    assert parse_chrony_tracking("506 Cannot talk to daemon\n") is None


def test_a_machine_where_neither_tool_answers_is_unknown_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither timedatectl nor chronyc on this PATH
    found = check_clock()
    assert (found.state, found.source, found.synchronised) == (UNKNOWN, "", None)
    assert found.detail == "timedatectl not installed; chronyc not installed"
    assert found.summary() == "unknown"


def test_this_machine_gets_an_answer_and_the_watch_keeps_it_for_the_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock_sync, "_latest", None)
    watch = ClockWatch(every_s=3600).start()
    try:
        deadline = time.monotonic() + 10
        while clock_sync._latest is None and time.monotonic() < deadline:
            time.sleep(0.02)
        kept = clock_sync.latest()
        assert kept is clock_sync._latest and kept.state in (SYNCHRONISED, NOT_SYNCHRONISED, UNKNOWN)
        assert kept.source in ("timedatectl", "chronyc", "")
        assert kept.summary() == (f"{kept.state} ({kept.source})" if kept.source else kept.state)
    finally:
        watch.stop()
