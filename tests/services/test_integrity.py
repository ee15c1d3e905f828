"""`kiosk audit verify`'s ledger invariants (kiosk.services.integrity) on both databases: a day of real use
verifies; an unbalanced entry, a negative liability, a bill paid twice, a receipt number gap and a card whose
value left its ledger account are each named; the day's chain heads are on the settlement slip and in its CSV."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod
from kiosk.errors import (AccountNegative, BillPaidTwice, CardValueMismatch, EntryUnbalanced, ReceiptNumberGap,
                          RowDeleted)
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import (Bill, Card, CardOperation, ChainLink, JournalEntry, JournalLine, Payment,
                                      PaymentItem, Receipt)
from kiosk.services import card_replacement, card_value, cards, integrity, ledger, payments, receipts, settlement, voids
from tests.services.helpers import cash
from tests.support.chain_key import TEST_AUDIT_KEY
from tests.support.tamper import report, tamper

TZ = "Asia/Shanghai"


def _verify(factory):
    with unit_of_work(factory) as s:
        return integrity.verify(s, TEST_AUDIT_KEY)


def _problems(rep, error):
    return [p for p in rep.problems if isinstance(p.error, error)]


def _a_day(factory, mini):
    """Bills by cash, a top-up written to the card, a card replaced with its balance, a void."""
    hh0, hh1 = mini.household_ids
    paid = payments.pay_bills(factory, mini.till, key="d1", household_id=hh1, bill_ids=mini.bill_ids[hh1][:1],
                              method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 20_000))
    with unit_of_work(factory) as s:
        uid = s.get(Card, mini.card_ids[hh0]).uid_hex
    written = []
    card_value.top_up(factory, mini.till, key="d2", card_uid=uid, amount_fen=5_000, method=PaymentMethod.CASH,
                      language="en", move_money=cash(factory, mini.till, 5_000), write_card=written.append)
    card_replacement.replace_card(factory, mini.till, key="d3", household_id=hh0, old_card_id=mini.card_ids[hh0],
                            new_uid="0A0B0CFF", method=PaymentMethod.CASH, fee_fen=2_000, language="en",
                            move_money=cash(factory, mini.till, 2_000), write_card=written.append)
    with unit_of_work(factory) as s:
        voids.void_receipt(s, mini.till, number=paid.receipt_number, reason="wrong bill", actor="staff:x",
                           language="en")
    assert len(written) == 2


def test_a_day_of_payments_top_ups_a_replacement_and_a_void_verifies(factory, mini):
    _a_day(factory, mini)
    rep = _verify(factory)
    assert rep.ok, [str(p) for p in rep.problems]
    assert rep.counts["receipts"] == 4 and rep.counts["cards"] == 1 and rep.counts["journal_entries"] > 10
    with unit_of_work(factory) as s:  # the void changed the paid receipt: its second version is linked
        voided = s.scalars(select(Receipt.id).where(Receipt.voided.is_(True))).one()
        assert s.scalars(select(ChainLink.version).where(ChainLink.kind == "receipt", ChainLink.row_id == voided)
                         .order_by(ChainLink.version)).all() == [1, 2]


def test_the_days_chain_heads_are_on_the_settlement_slip_and_in_its_csv(factory, mini):
    _a_day(factory, mini)
    day = datetime.now(ZoneInfo(TZ)).date()
    with unit_of_work(factory) as s:
        report_ = settlement.daily_settlement(s, mini.till.site_id, day, TZ)
        _number, doc = settlement.settlement_slip(s, mini.till, report_, language="en", actor="staff:x")
        last = s.scalars(select(ChainLink).where(ChainLink.chain == "K01").order_by(ChainLink.seq.desc())).first()
    [head] = report_.chain_heads
    assert (head.chain, head.seq, head.mac) == ("K01", last.seq, last.mac)
    printed = dict(doc.fields)["Audit chain head"]
    assert printed == f"K01:{last.seq}:{last.mac[:8]} {last.mac[8:16]} {last.mac[16:24]} {last.mac[24:32]}"
    rows = [r for r in csv.reader(io.StringIO(settlement.to_csv(report_))) if r[0] == "chain_head"]
    assert [(r[3], r[4], r[11]) for r in rows] == [("K01", str(last.seq), last.mac)]
    with unit_of_work(factory) as s:  # what the slip printed is what verify --head checks
        assert integrity.verify(s, TEST_AUDIT_KEY, printed=[integrity.PrintedHead.parse(printed)]).ok
        assert not integrity.verify(s, TEST_AUDIT_KEY, printed=[integrity.PrintedHead.parse("K01:1:ffff")]).ok


@pytest.mark.breaks_ledger
def test_an_entry_that_does_not_balance_is_named(factory, mini):
    with unit_of_work(factory) as s:
        opening = ledger.account(s, AccountKind.OPENING)
        revenue = ledger.account(s, AccountKind.REVENUE, fee_kind="water")
        entry = JournalEntry(kind=str(EntryKind.REFUND), memo="written around ledger.post")
        s.add(entry)
        s.flush()
        s.add_all([JournalLine(entry_id=entry.id, account_id=opening.id, amount_fen=100),
                   JournalLine(entry_id=entry.id, account_id=revenue.id, amount_fen=-90)])
        entry_id = entry.id
    [problem] = _verify(factory).problems
    assert isinstance(problem.error, EntryUnbalanced) and problem.row_id == str(entry_id)
    assert problem.error.code == "E2216" and "summing to 10 fen" in problem.what


@pytest.mark.breaks_ledger
def test_a_stored_value_below_zero_is_named(factory, mini):
    with unit_of_work(factory) as s:
        credit = ledger.account(s, AccountKind.CREDIT, household_id=mini.household_ids[0])
        ledger.transfer(s, EntryKind.REFUND, credit, ledger.account(s, AccountKind.OPENING), 700)
    [problem] = _verify(factory).problems
    assert isinstance(problem.error, AccountNegative) and problem.row_id == f"credit:household:{mini.household_ids[0]}"


def test_a_bill_paid_twice_is_named(factory, mini):
    hh = mini.household_ids[0]
    bill_id = mini.bill_ids[hh][0]
    first = payments.pay_bills(factory, mini.till, key="p1", household_id=hh, bill_ids=[bill_id],
                               method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 20_000))
    assert _verify(factory).ok
    with unit_of_work(factory) as s:  # a second succeeded payment that claims the same bill
        twin = s.get(Payment, first.payment_id)
        copy = Payment(idempotency_key="p1-copy", request_hash=twin.request_hash, reference="P-COPY",
                       kiosk_id=twin.kiosk_id, household_id=hh, purpose=twin.purpose, method=twin.method,
                       amount_fen=twin.amount_fen, status="succeeded")
        s.add(copy)
        s.flush()
        s.add(PaymentItem(payment_id=copy.id, bill_id=bill_id, fee_kind="management", label="x", amount_fen=1))
    [problem] = _verify(factory).problems
    assert isinstance(problem.error, BillPaidTwice) and problem.row_id == str(bill_id)
    with unit_of_work(factory) as s:  # a bill marked paid by no payment at all
        other = s.get(Bill, mini.bill_ids[hh][1])
        other.status = "paid"
    assert [p.row_id for p in _problems(_verify(factory), BillPaidTwice)] == [str(bill_id), str(mini.bill_ids[hh][1])]


def _receipts(factory, mini, n):
    with unit_of_work(factory) as s:
        for _ in range(n):
            receipts.issue(s, mini.till, kind=ReceiptKind.CARD_LOSS, language="en", title="Card loss report")


def test_deleting_a_receipt_names_the_row_and_the_gap(factory, engine, mini):
    _receipts(factory, mini, 3)
    tamper(engine, "DELETE FROM print_jobs", "DELETE FROM receipts WHERE number = 2")
    rep = report(engine)
    assert isinstance(rep.first.error, RowDeleted) and rep.first.table == "receipts"
    [gap] = _problems(rep, ReceiptNumberGap)
    assert gap.error.params["number"] == 2 and gap.row_id == f"site {mini.till.site_id} no. 2"


def test_deleting_the_newest_receipt_is_a_gap_before_the_counter(factory, engine, mini):
    _receipts(factory, mini, 3)
    tamper(engine, "DELETE FROM print_jobs", "DELETE FROM receipts WHERE number = 3")
    [gap] = _problems(report(engine), ReceiptNumberGap)
    assert gap.error.params["number"] == 3 and "counter is at 4" in gap.what


def test_a_card_whose_value_left_its_ledger_account_is_named_unless_a_write_or_repair_is_queued(factory, mini):
    card_id = mini.card_ids[mini.household_ids[0]]
    with unit_of_work(factory) as s:  # the card was last written with 400.00; the ledger says 500.00
        s.add(CardOperation(card_id=card_id, kind="sync", old_value_fen=0, new_value_fen=40_000, old_counter=0,
                            new_counter=1, status="done"))
    [problem] = _verify(factory).problems
    assert isinstance(problem.error, CardValueMismatch) and problem.row_id == f"C{mini.household_ids[0]:06d}"
    with unit_of_work(factory) as s:  # flagged for staff repair: queued
        cards.flag_card(s, card_id, "E4005 tampered", "kiosk:K01")
    assert _verify(factory).ok
    with unit_of_work(factory) as s:
        s.get(Card, card_id).flagged_reason = ""
        card = s.get(Card, card_id)
        cards.record_card_write(s, card, kind="sync", old_value_fen=40_000, new_value_fen=50_000)  # pending
    assert _verify(factory).ok


def test_a_spend_written_to_the_card_but_not_yet_settled_is_queued_not_a_mismatch(factory, mini):
    """Killed between the verified card write and the settlement: the card holds less than the ledger until its
    next tap settles the payment (kiosk.cards.reconcile.orphaned_spend)."""
    hh = mini.household_ids[0]
    card_id = mini.card_ids[hh]
    with unit_of_work(factory) as s:
        payment, _ = payments.start_bill_payment(s, mini.till, key="o1", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.CARD,
                                                 card_id=card_id)
        s.add(CardOperation(card_id=card_id, payment_id=payment.id, kind="spend", old_value_fen=50_000,
                            new_value_fen=50_000 - payment.amount_fen, old_counter=0, new_counter=1, status="done"))
        payment_id = payment.id
    assert _verify(factory).ok
    with unit_of_work(factory) as s:  # settled: the ledger follows the card
        payments.settle_bill_payment(s, mini.till, s.get(Payment, payment_id), "en")
    assert _verify(factory).ok


def test_bills_imported_in_bulk_are_linked_and_verify(factory, mini):
    """A bill import writes its entries with bulk statements the ORM never sees (ledger.post_many): each is
    linked at commit from the values written, and those digests are the ones its rows show when read back."""
    from kiosk.services import imports

    with unit_of_work(factory) as s:
        unit = s.get(payments.Household, mini.household_ids[0]).unit_no
    rows = "".join(f"{unit},water,2026-{m:02d},{m}.{n:02d},2026-12-28,BULK-{m}-{n}\n" for m in range(1, 13)
                   for n in range(60))
    with unit_of_work(factory) as s:
        assert imports.import_bills(s, mini.till.site_id, "unit_no,kind,period,amount,due_date,external_ref\n" + rows,
                                    actor="staff:王芳").count == 720
    rep = _verify(factory)
    assert rep.ok, [str(p) for p in rep.problems[:3]]
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(ChainLink).where(ChainLink.kind == "journal_entry")) \
            == rep.counts["journal_entries"]
