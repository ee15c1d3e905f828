"""Issue 14's layout proof: every page a resident or staff member reaches (tests/support/layout_walk.py), in
zh_Hans, zh_Hant and en, normal and large text, at 1080x1920 and 1280x800, has no clipped or overflowing text,
no text below the theme's minimum, no touch target below the minimum and no overlapping targets
(tests/support/layout_audit.py). One walk per size, both sizes at once; one test per size, language and text
size, so a failure says at once where.

CI's budget: every run walks Simplified Chinese in normal text and English in large text (the kiosk's default and
the pass where text overflows first) plus one of the four other passes, in turn from one commit to the next (the
crash slice's rotation key), so every pass runs within four commits, in half the time of all six.
KIOSK_LAYOUT_ALL=1 walks all twelve.

Run it while working on a page: `python -m tests.support.layout_audit --size 1080x1920 --only pay-fees`."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.crash.selection import rotation_key
from tests.support.layout_walk import Pass, findings_of, run_walks, summarize

# the walk (both sizes at once) runs in the first test's setup: about 1.5 minutes on a quiet 2-core machine
pytestmark = [pytest.mark.xvfb, pytest.mark.timeout(900)]

SIZES = ((1080, 1920), (1280, 800))
LANGUAGES = ("zh_Hans", "zh_Hant", "en")
ALL_PASSES = tuple(Pass(lang) for lang in LANGUAGES) + tuple(Pass(lang, True) for lang in reversed(LANGUAGES))
ALWAYS = (Pass("zh_Hans"), Pass("en", True))


def passes_this_run() -> tuple[Pass, ...]:
    if os.environ.get("KIOSK_LAYOUT_ALL") == "1":
        return ALL_PASSES
    others = [p for p in ALL_PASSES if p not in ALWAYS]
    return ALWAYS + (others[rotation_key() % len(others)],)


PASSES = passes_this_run()


@pytest.fixture(scope="module")
def walks():
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (scripts/setup --test)")
    return run_walks(SIZES, PASSES)


def test_the_walk_reaches_every_page_it_names(walks):
    """A page renamed or a step that moved breaks the walk before it can hide a layout fault."""
    problems = [p for result in walks.values() for p in result.problems]
    assert not problems, "\n".join(problems)
    assert all(result.pages >= 100 * len(PASSES) for result in walks.values())


@pytest.mark.parametrize("one", PASSES, ids=lambda p: p.name.replace(" ", "-"))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_page_fits_its_text_and_touch_targets(walks, size, one):
    findings = findings_of(walks[size].findings, size, one)
    assert not findings, f"{len(findings)} layout findings:\n{summarize(findings)}"
