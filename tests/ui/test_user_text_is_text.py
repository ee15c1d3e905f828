"""Notices, names, events and directory entries are shown as text: no label in screens/ turns Kivy markup on, so a
notice titled "[b]x[/b]" is drawn as those eight characters and one with "\\x1b@" harms nothing (window-free)."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from kivy.core.text.markup import MarkupLabel

from kiosk.flows.navigator import Navigator
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from screens.widgets import KButton, KFigure, KLabel
from tests.flows.conftest import NOW
from tests.support.fakes.data import FakeNotice
from tests.support.fakes.services import FakeKioskServices

ROOT = Path(__file__).resolve().parents[2]
MARKUP_ON = re.compile(r"\bmarkup\s*[:=]\s*(?!False\b)\S")
INJECTED = ("[b]x[/b]", "[color=ff0000]付款成功[/color]", "\x1b@[size=200]x[/size]")


def test_no_widget_in_screens_turns_markup_on():
    """If a screen ever needs markup, every text from the services must go through kivy.utils.escape_markup
    first; until then no label has markup on, and this test says where one was turned on."""
    offenders = []
    for path in sorted((ROOT / "screens").rglob("*")):
        if path.suffix not in (".py", ".kv"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if MARKUP_ON.search(code) and "escape_markup" not in path.read_text(encoding="utf-8"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("widget", [KLabel, KFigure, KButton])
@pytest.mark.parametrize("text", INJECTED)
def test_markup_in_user_text_is_drawn_literally(widget, text):
    shown = widget(text=text)
    shown.texture_update()
    assert not shown.markup and not isinstance(shown._label, MarkupLabel)
    tags_only = widget(text="x")
    tags_only.texture_update()
    assert shown.texture.width > 4 * tags_only.texture.width  # the brackets and tag names are drawn too


def test_a_notice_titled_with_markup_reaches_the_label_as_it_was_written():
    fake = FakeKioskServices(now=NOW)
    nav = Navigator(fake, Session(), InlineRunner(), clock=lambda: NOW)
    now = fake.now()
    fake.notices.append(FakeNotice("NX", "general", {lang: "[b]x[/b]" for lang in ("zh_Hans", "zh_Hant", "en")},
                                   {lang: "\x1b@停水" for lang in ("zh_Hans", "zh_Hant", "en")},
                                   now - timedelta(hours=1), now + timedelta(days=1)))
    nav.go("notices")
    [row] = [r for r in nav.flow.view().rows if r.key == "NX"]
    assert row.title == "[b]x[/b]" and "\x1b@停水" in (row.body or row.detail)
    label = KLabel(text=row.title)
    label.texture_update()
    assert label.text == "[b]x[/b]" and not isinstance(label._label, MarkupLabel)
