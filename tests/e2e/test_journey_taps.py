"""Fewest taps, measured waits: the main resident journeys of bench/journeys.py by real clicks on `kiosk run` (the
wire-level simulators in their own processes) in a portrait 1080x1920 window. The tap counts are asserted; the
waiting is a benchmark figure (docs/benchmarks-app.md), so here it is only required to be measured: every tap
answered by a drawn frame, device time apart, nothing negative."""
from __future__ import annotations

import math
import shutil

import pytest

from bench.journeys import TAP_TARGETS, Journey, measure

pytestmark = pytest.mark.xvfb
PORTRAIT = (1080, 1920)


@pytest.fixture(scope="module")
def journeys() -> dict[str, Journey]:
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (scripts/setup --test)")
    from tests.e2e.harness import Xvfb

    with Xvfb(size=PORTRAIT, own=True) as x:
        return {j.name: j for j in measure("run", x.display, PORTRAIT, "zh_Hans")}


def test_paying_every_bill_from_the_card_takes_three_taps_after_the_card_tap(journeys):
    pay = journeys["pay_all_from_card"]
    assert [w.tap for w in pay.waits] == [False, True, True, True]  # the card on the reader, then three taps
    assert [w.answer for w in pay.waits] == [("household", "ready"), ("pay_fees", "confirm"), ("pay_fees", "done"),
                                             ("household", "ready")]  # the confirmation before charging stays
    assert pay.taps <= 3


def test_every_journey_takes_at_most_six_taps(journeys):
    assert set(journeys) == set(TAP_TARGETS)
    for name, journey in journeys.items():
        assert journey.taps <= TAP_TARGETS[name] <= 6, journey.line()


def test_the_lost_card_is_reported_after_a_pin_sign_in_counted_apart(journeys):
    lost = journeys["report_card_lost"]
    assert lost.sign_in and all(w.tap for w in lost.sign_in)  # unit number and PIN on the keypad
    assert lost.waits[-1].answer == ("goodbye", "")


def test_waiting_is_measured_for_every_tap(journeys):
    for journey in journeys.values():
        for wait in journey.waits:
            assert wait.frames >= 1 and wait.answered > wait.start, (journey.name, wait.what)
            assert 0 <= wait.device_s <= wait.answered - wait.start, (journey.name, wait.what)
            assert math.isfinite(wait.waiting_s) and wait.waiting_s >= 0
        assert 0 < journey.waiting_s < 60
    # the card's balance written and the note taken are device time, told apart from the kiosk's
    assert journeys["pay_all_from_card"].device_s > 0 and journeys["top_up_100_cash"].device_s > 0
