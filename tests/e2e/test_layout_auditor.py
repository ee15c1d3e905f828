"""The layout auditor (tests/support/layout_audit.py) finds what it must on a tiny window with known faults
(tests/support/audit_sample.py) and nothing on the widgets that are fine: proof that the layout audit can fail."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.harness import ROOT

pytestmark = pytest.mark.xvfb


@pytest.fixture(scope="module")
def findings(display):
    env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "tests.support.audit_sample"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def rules_for(findings, text):
    return sorted(f["rule"] for f in findings if text in f["text"])


def test_a_label_whose_lines_are_cut_off_by_its_box_is_clipped(findings):
    assert rules_for(findings, "clipped: a long sentence") == ["text-clipped"]


def test_a_label_shortened_with_an_ellipsis_is_clipped(findings):
    assert rules_for(findings, "shortened: a long sentence") == ["text-clipped"]
    assert "ellipsis" in next(f["measured"] for f in findings if f["text"].startswith("shortened"))


def test_text_wider_than_its_label_overflows_and_text_past_the_window_edge_is_outside(findings):
    assert rules_for(findings, "overflowing label text") == ["text-overflow"]
    assert rules_for(findings, "off the edge") == ["outside-window"]


def test_type_below_the_minimum_is_found_with_measured_and_required_sizes(findings):
    (tiny,) = [f for f in findings if f["text"] == "tiny type"]
    assert (tiny["rule"], tiny["measured"], tiny["required"]) == ("font-size", "font 14px", ">= 24px")


def test_a_button_below_the_touch_minimum_is_found(findings):
    (small,) = [f for f in findings if f["text"] == "S"]
    assert (small["rule"], small["measured"], small["widget"]) == ("touch-size", "40x40", "Button")


def test_overlapping_buttons_and_texts_drawn_over_each_other_are_found(findings):
    assert rules_for(findings, "left of pair") == ["touch-overlap"]
    assert "right of pair" in next(f["text"] for f in findings if f["rule"] == "touch-overlap")
    assert rules_for(findings, "first of two texts") == ["text-overlap"]


def test_content_wider_than_a_scroll_view_that_cannot_scroll_sideways_is_found(findings):
    assert rules_for(findings, "wide content") == ["scroll-overflow"]


def test_text_and_a_touch_target_under_the_scroll_bar_of_their_scroll_view_are_found(findings):
    assert rules_for(findings, "under the bar ¥1.00") == ["under-scroll-bar"]
    assert rules_for(findings, "pressed under the bar") == ["under-scroll-bar"]


def test_fine_widgets_hidden_widgets_rows_out_of_view_and_a_band_over_the_rows_give_no_finding(findings):
    for text in ("fine", "hidden button", "folded button"):
        assert rules_for(findings, text) == [], text
    assert len(findings) == 11, [f"{f['rule']} {f['text']}" for f in findings]
