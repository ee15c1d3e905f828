"""Cards: identify, issue, loss / freeze / unfreeze, top-up and replacement, with the card-write seam."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, CardKind, CardStatus, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import (AlreadyDone, CardBlocked, CardFrozen, CardRemoved, CardReplaced, CardTampered, CardUnknown,
                          CardWritePending, InsufficientBalance, InvalidEntry)
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation, JournalEntry, Payment, Receipt
from kiosk.services import audit, card_replacement, card_value, cards, ledger
from tests.services.helpers import audit_actions, cash


def _hh(mini):
    hh = mini.household_ids[0]
    return hh, mini.card_ids[hh]


def _uid(factory, card_id):
    with unit_of_work(factory) as s:
        return s.get(Card, card_id).uid_hex


def _balance(factory, card_id):
    with unit_of_work(factory) as s:
        return cards.card_balance(s, card_id)


def test_tapped_card_identifies_its_household_with_ledger_balance(factory, mini):
    hh, card_id = _hh(mini)
    with unit_of_work(factory) as s:
        who = cards.identify_card(s, "0a:0b:0c:00")
    assert who.household_id == hh and who.card_id == card_id and who.balance_fen == 50_000
    assert who.unit_masked == "1-**01"


@pytest.mark.parametrize("status,error", [(CardStatus.LOST, CardBlocked), (CardStatus.FROZEN, CardFrozen),
                                          (CardStatus.REPLACED, CardReplaced)])
def test_unusable_card_is_refused_with_its_own_error(factory, mini, status, error):
    _hh_id, card_id = _hh(mini)
    uid = _uid(factory, card_id)
    with unit_of_work(factory) as s:
        s.get(Card, card_id).status = str(status)
    with pytest.raises(error):
        with unit_of_work(factory) as s:
            cards.identify_card(s, uid)


def test_unknown_and_malformed_uids_are_refused(factory, mini):
    with pytest.raises(CardUnknown):
        with unit_of_work(factory) as s:
            cards.identify_card(s, "DEADBEEF")
    with pytest.raises(InvalidEntry):
        with unit_of_work(factory) as s:
            cards.identify_card(s, "not-a-uid")


def test_issuing_a_card_opens_an_empty_stored_value_account_and_refuses_a_known_uid(factory, mini):
    hh, _card = _hh(mini)
    with unit_of_work(factory) as s:
        new, write = cards.issue_card(s, household_id=hh, uid="11223344", kind=CardKind.VEHICLE, actor="staff:wang")
    assert new.balance_fen == 0 and new.kind == CardKind.VEHICLE and new.status == CardStatus.ACTIVE
    assert (write.kind, write.new_value_fen, write.new_counter) == ("issue", 0, 0)
    assert cards.perform_card_write(factory, write, lambda _w: None, "staff:wang") == (True, "")
    with unit_of_work(factory) as s:
        state = cards.ledger_card_state(s, new.card_id)
    assert (state.counter, state.value_fen, state.pending) == (0, 0, ())
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            cards.issue_card(s, household_id=hh, uid="11:22:33:44", kind=CardKind.SMART, actor="staff:wang")
    assert "card.issued" in audit_actions(factory)


def test_reported_loss_blocks_at_once_and_is_lifted_only_as_a_loss_never_by_unfreezing(factory, mini):
    hh, card_id = _hh(mini)
    uid = _uid(factory, card_id)
    with unit_of_work(factory) as s:
        res = cards.report_loss(s, mini.till, household_id=hh, card_id=card_id, language="zh_Hans")
    assert res.status == CardStatus.LOST and res.receipt_number == "00000001"
    with pytest.raises(CardBlocked):
        with unit_of_work(factory) as s:
            cards.identify_card(s, uid)
    with pytest.raises(CardBlocked):
        with unit_of_work(factory) as s:
            cards.unfreeze_card(s, mini.till, household_id=hh, card_id=card_id, language="en")
    with pytest.raises(CardBlocked):  # a lost card is not frozen: even staff lift it as a loss
        with unit_of_work(factory) as s:
            cards.unfreeze_card(s, mini.till, household_id=hh, card_id=card_id, language="en", actor="staff:li",
                                by_staff=True)
    with unit_of_work(factory) as s:
        cards.lift_loss(s, mini.till, household_id=hh, card_id=card_id, language="en", actor="staff:li",
                        by_staff=True, reason="found at the desk")
        assert cards.identify_card(s, uid).status == CardStatus.ACTIVE
    assert {"card.reported_lost", "card.loss_lifted"} <= set(audit_actions(factory))


def test_frozen_card_is_unfrozen_by_its_holder(factory, mini):
    hh, card_id = _hh(mini)
    with unit_of_work(factory) as s:
        cards.freeze_card(s, card_id=card_id, actor="staff:li")
    with unit_of_work(factory) as s:
        res = cards.unfreeze_card(s, mini.till, household_id=hh, card_id=card_id, language="zh_Hant")
    assert res.status == CardStatus.ACTIVE and res.receipt_number
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            cards.unfreeze_card(s, mini.till, household_id=hh, card_id=card_id, language="en")


def test_another_households_card_cannot_be_reported(factory, mini):
    other = mini.household_ids[1]
    with pytest.raises(CardUnknown):
        with unit_of_work(factory) as s:
            cards.report_loss(s, mini.till, household_id=other, card_id=mini.card_ids[mini.household_ids[0]],
                              language="en")


def test_cash_top_up_is_final_on_the_ledger_only_after_the_card_is_written(factory, mini):
    _hh_id, card_id = _hh(mini)
    seen: list[cards.CardWrite] = []

    def write(w):
        with unit_of_work(factory) as s:  # the operation is committed as pending before the write,
            assert s.get(CardOperation, w.operation_id).status == "pending"
            assert cards.card_balance(s, card_id) == 50_000  # and the ledger waits for the verified card
            assert s.scalars(select(Payment.status)).one() == "intent"
        seen.append(w)

    out = card_value.top_up(factory, mini.till, key="t1", card_uid=_uid(factory, card_id), amount_fen=10_000,
                            method=PaymentMethod.CASH, language="zh_Hans",
                            move_money=cash(factory, mini.till, 5_000, 5_000), write_card=write)
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written
    assert (out.balance_before_fen, out.balance_after_fen) == (50_000, 60_000)
    assert seen[0].new_value_fen == 60_000 and (seen[0].old_counter, seen[0].new_counter) == (0, 1)
    assert [value for _label, value in out.outcome.document.fields][2:] == ["500.00", "600.00"]
    assert _balance(factory, card_id) == 60_000
    with unit_of_work(factory) as s:
        assert s.get(CardOperation, seen[0].operation_id).status == "done"


def test_top_up_replay_with_same_key_does_not_add_value_twice(factory, mini):
    _hh_id, card_id = _hh(mini)
    kw = dict(key="t2", card_uid=_uid(factory, card_id), amount_fen=2_000, method=PaymentMethod.CASH, language="en")
    first = card_value.top_up(factory, mini.till, move_money=cash(factory, mini.till, 2_000), **kw)
    again = card_value.top_up(factory, mini.till, move_money=cash(factory, mini.till, 2_000), **kw)
    assert again.outcome.replayed and again.outcome.receipt_number == first.outcome.receipt_number
    assert _balance(factory, card_id) == 52_000


def test_card_pulled_during_top_up_keeps_the_intent_open_and_the_money_as_credit(factory, mini):
    hh, card_id = _hh(mini)

    def pulled(_w):
        raise CardRemoved()

    with pytest.raises(CardWritePending) as info:
        card_value.top_up(factory, mini.till, key="t3", card_uid=_uid(factory, card_id), amount_fen=1_000,
                          method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 1_000),
                          write_card=pulled)
    assert info.value.params["reference"].startswith("P")
    assert _balance(factory, card_id) == 50_000  # nothing final before the card is verified
    with unit_of_work(factory) as s:
        assert s.scalars(select(CardOperation.status)).all() == ["pending"]
        assert s.scalars(select(Payment.status)).one() == "intent"
        assert ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh)) == 1_000
        state = cards.ledger_card_state(s, card_id)
    assert (state.counter, state.value_fen, len(state.pending)) == (0, 50_000, 1)
    # the same key later (the card back on the reader) resumes the open write: no second payment, value once
    seen = []
    out = card_value.top_up(factory, mini.till, key="t3", card_uid=_uid(factory, card_id), amount_fen=1_000,
                            method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 1_000),
                            write_card=seen.append)
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written and len(seen) == 1
    assert seen[0].operation_id == state.pending[0].operation_id
    assert _balance(factory, card_id) == 51_000


def test_card_refused_while_writing_cancels_the_top_up_and_keeps_the_money_as_credit(factory, mini):
    hh, card_id = _hh(mini)

    def refused(_w):
        raise CardTampered()

    with pytest.raises(CardTampered):
        card_value.top_up(factory, mini.till, key="t5", card_uid=_uid(factory, card_id), amount_fen=1_000,
                          method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 1_000),
                          write_card=refused)
    assert _balance(factory, card_id) == 50_000
    with unit_of_work(factory) as s:
        assert s.scalars(select(CardOperation.status)).all() == ["cancelled"]
        assert s.scalars(select(Payment.status)).one() == "cancelled"
        assert ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh)) == 1_000


def test_top_up_without_a_writer_settles_and_leaves_the_card_write_for_the_next_tap(factory, mini):
    _hh_id, card_id = _hh(mini)
    out = card_value.top_up(factory, mini.till, key="t6", card_uid=_uid(factory, card_id), amount_fen=1_000,
                            method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 1_000))
    assert out.outcome.status is PaymentStatus.SUCCEEDED and not out.card_written
    assert _balance(factory, card_id) == 51_000
    with unit_of_work(factory) as s:
        assert [(w.kind, w.new_value_fen) for w in cards.pending_card_writes(s, card_id)] == [("top_up", 51_000)]


def test_top_up_without_enough_money_in_fails_and_keeps_what_arrived_as_credit(factory, mini):
    hh, card_id = _hh(mini)
    with pytest.raises(InsufficientBalance):
        card_value.top_up(factory, mini.till, key="t4", card_uid=_uid(factory, card_id), amount_fen=10_000,
                          method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 5_000))
    assert _balance(factory, card_id) == 50_000
    with unit_of_work(factory) as s:
        credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
        assert ledger.liability_balance(s, credit) == 5_000


def test_replacement_charges_the_fee_moves_the_balance_and_blocks_the_old_card_for_ever(factory, mini):
    hh, old_id = _hh(mini)
    with unit_of_work(factory) as s:
        cards.report_loss(s, mini.till, household_id=hh, card_id=old_id, language="en")
    writes = []
    out = card_replacement.replace_card(factory, mini.till, key="r1", household_id=hh, old_card_id=old_id,
                                  new_uid="A1B2C3D4", method=PaymentMethod.CARD, fee_fen=2_000, language="zh_Hans",
                                  write_card=writes.append)
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.transferred_fen == 48_000 and out.card_written
    assert (writes[0].kind, writes[0].new_value_fen, writes[0].uid_hex) == ("issue", 48_000, "A1B2C3D4")
    assert _balance(factory, old_id) == 0 and _balance(factory, out.new_card_id) == 48_000
    with unit_of_work(factory) as s:
        old = s.get(Card, old_id)
        assert old.status == CardStatus.REPLACED and old.replaced_by_id == out.new_card_id
        assert s.get(Payment, out.outcome.payment_id).purpose == "card_replacement"
        kinds = set(s.scalars(select(JournalEntry.kind).where(JournalEntry.payment_id == out.outcome.payment_id)))
        assert kinds == {EntryKind.CARD_FEE, EntryKind.BALANCE_TRANSFER}
        revenue = ledger.account(s, AccountKind.REVENUE, fee_kind="card_fee")
        assert ledger.balance(s, revenue) == -2_000
        assert s.scalars(select(Receipt.kind).where(Receipt.payment_id == out.outcome.payment_id)).one() == \
            "card_replacement"
    # the replaced card is refused everywhere
    with pytest.raises(CardReplaced):
        with unit_of_work(factory) as s:
            cards.identify_card(s, "0A0B0C00")
    with pytest.raises(CardReplaced):
        card_value.top_up(factory, mini.till, key="r2", card_uid="0A0B0C00", amount_fen=100,
                          method=PaymentMethod.CASH, language="en")
    with pytest.raises(CardReplaced):
        with unit_of_work(factory) as s:
            cards.report_loss(s, mini.till, household_id=hh, card_id=old_id, language="en")
    with pytest.raises(CardReplaced):
        card_replacement.replace_card(factory, mini.till, key="r3", household_id=hh, old_card_id=old_id,
                                new_uid="A1B2C3D5", method=PaymentMethod.CASH, fee_fen=2_000, language="en")
    with unit_of_work(factory) as s:
        assert audit.verify(s).ok


def test_replacement_paid_in_cash_keeps_the_whole_balance(factory, mini):
    hh, old_id = _hh(mini)
    out = card_replacement.replace_card(factory, mini.till, key="r4", household_id=hh, old_card_id=old_id,
                                  new_uid="A1B2C3D6", method=PaymentMethod.CASH, fee_fen=2_000, language="en",
                                  move_money=cash(factory, mini.till, 5_000))
    assert out.transferred_fen == 50_000 and not out.card_written  # no writer given
    with unit_of_work(factory) as s:
        pending = cards.pending_card_writes(s, out.new_card_id)
        assert [(w.kind, w.new_value_fen) for w in pending] == [("issue", 50_000)]  # left for the next tap
        credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
        assert ledger.liability_balance(s, credit) == 3_000  # no change given: credited
    assert "credited" in " ".join(out.outcome.document.notes)


def test_replacement_onto_an_already_registered_uid_is_refused_before_money_moves(factory, mini):
    hh, old_id = _hh(mini)
    with pytest.raises(AlreadyDone):
        card_replacement.replace_card(factory, mini.till, key="r5", household_id=hh, old_card_id=old_id,
                                new_uid="0A0B0C01", method=PaymentMethod.CARD, fee_fen=2_000, language="en")
    assert _balance(factory, old_id) == 50_000
