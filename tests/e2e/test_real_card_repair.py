"""Staff card repair in the real window on the real runtime: a flagged card, staff sign-in by the hidden
gesture, "Card repair", the card laid on the simulated reader through the demo bar, rewritten from the ledger
by touch; the database shows the flag cleared, the repair audited and the ledger's balance unchanged."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.i18n import format_money
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Card, CardOperation
from kiosk.services import cards as card_service
from tests.e2e.harness import RealKioskProcess
from tests.e2e.test_real_journeys import Db, _staff_sign_in, _tap_card

pytestmark = pytest.mark.xvfb


@pytest.fixture
def real(display, tmp_path):  # type: ignore[no-untyped-def]
    with RealKioskProcess(display, tmp_path / "data") as app:
        app.wait_for_text("您好，和悦花园", 30)
        yield app


def test_staff_rewrite_a_flagged_card_from_the_ledger_by_touch(real):  # type: ignore[no-untyped-def]
    db = Db(real.data_dir)
    card_id, uid, _ = db.card("1-0101")
    balance = db.balance(card_id)
    with unit_of_work(db.factory) as s:  # as the card station flags a card whose MAC failed at a tap
        card_service.flag_card(s, card_id, "E4005 MAC does not match the card's contents", "kiosk:K01")
    _staff_sign_in(real)
    real.click("卡片修复")
    real.wait_for_route("staff_cards")
    real.wait_for_text("E4005 卡内数据未通过安全校验 (MAC does not match")
    _tap_card(real, "1-0101 resident")
    real.wait_for_text("按账本重写", 20)
    assert real.state()["route"] == "staff_cards"  # the tap came to the repair page, not to a resident sign-in
    real.click("按账本重写")
    real.click("确认重写")
    real.wait_for_text(f"卡片已修复：余额 {format_money(balance, 'zh_Hans')}", 30)
    with unit_of_work(db.factory) as s:
        card = s.get(Card, card_id)
        assert card.flagged_reason == "" and card_service.card_balance(s, card_id) == balance
        assert s.scalars(select(CardOperation.status).where(CardOperation.kind == "repair")).all() == ["done"]
        repaired = s.scalars(select(AuditEntry).where(AuditEntry.action == "card.repaired")).one()
        assert repaired.actor == "staff:staff01" and repaired.subject == card.card_no
    db.assert_ledger_balanced()
