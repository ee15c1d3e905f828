"""The harness can fail: each check finds the fault it is there for, and a bug that only a crash exposes is
found by killing the kiosk at the kill point the bug opens, while a run without a kill passes."""
from __future__ import annotations

from sqlalchemy import select

from devices.sim.mifare_card import VirtualMifareCard
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import JournalEntry, JournalLine
from tests.crash import rig
from tests.support.chain_key import data_dir_factory


def _settled_world(sqlite_rig, name: str, flow: str) -> rig.World:
    world = rig.World(sqlite_rig.template, sqlite_rig.root / name)
    run = world.run(world.job("flow", flow=flow))
    assert run.done is not None and "receipt" in run.done["outcome"], run
    return world


def test_a_note_in_the_cash_box_that_the_ledger_never_saw_is_found(sqlite_rig):
    world = _settled_world(sqlite_rig, "finds-note", "pay_by_cash")
    try:
        assert rig.check_world(world) == []
        world.cash.cash_box.append(4)  # a 20-yuan note the kiosk never recorded
        assert any("the cash box holds" in f for f in rig.check_world(world))
    finally:
        world.close()


def test_money_taken_at_the_gateway_that_the_ledger_never_saw_is_found(sqlite_rig):
    world = _settled_world(sqlite_rig, "finds-qr", "pay_by_qr")
    try:
        assert rig.check_world(world) == []
        world.gateway.create({"order_id": "STRAY-1", "amount_fen": 500})
        world.gateway.pay("STRAY-1", notify="never")
        found = rig.check_world(world)
        assert any("the gateway took" in f for f in found) and any("STRAY-1" in f for f in found)
    finally:
        world.close()


def test_a_card_whose_chip_differs_from_its_ledger_is_found(sqlite_rig):
    world = _settled_world(sqlite_rig, "finds-card", "top_up_by_cash")
    try:
        uid = sqlite_rig.template.estate["households"][0]["card"]
        other = VirtualMifareCard.from_json(sqlite_rig.template.cards[uid])  # the card as it was before the top-up
        world.cards[uid].blocks[6] = other.blocks[6]
        assert any(f"card {uid} holds" in f for f in rig.check_world(world))
    finally:
        world.close()


def test_a_ledger_line_that_unbalances_an_entry_is_found(sqlite_rig):
    world = _settled_world(sqlite_rig, "finds-line", "pay_by_card")
    try:
        engine = make_engine(world.db_url)
        with unit_of_work(data_dir_factory(engine, world.data_dir)) as s:  # the kiosk's own key: a bug, no attack
            entry = s.scalars(select(JournalEntry).order_by(JournalEntry.id.desc())).first()
            line = s.scalars(select(JournalLine).where(JournalLine.entry_id == entry.id)).first()
            s.add(JournalLine(entry_id=entry.id, account_id=line.account_id, amount_fen=1))
        engine.dispose()
        assert any("journal_entries" in f and "summing to 1 fen" in f for f in rig.check_world(world))
    finally:
        world.close()


def test_a_payment_marked_done_before_its_ledger_entry_is_found_only_by_the_kill_between(sqlite_rig):
    fault = {"inject": "succeeded_before_ledger"}
    world = rig.World(sqlite_rig.template, sqlite_rig.root / "finds-dry")
    try:
        labels = world.run(world.job("flow", flow="pay_by_card", **fault)).points
    finally:
        world.close()
    point = labels.index("after db.commit payments") + 1  # the bug's own commit
    clean = rig.crash_run(sqlite_rig.template, "pay_by_card", 0, sqlite_rig.root / "finds-clean", **fault)
    assert clean.findings == []
    killed = rig.crash_run(sqlite_rig.template, "pay_by_card", point, sqlite_rig.root / "finds-kill", **fault)
    assert killed.label == "after db.commit payments"
    assert any("receipt" in f for f in killed.findings), killed.findings


def test_a_retry_after_the_restart_that_succeeds_empty_is_found(sqlite_rig):
    """Issue 15's own finding, planted again: a payment released by the restart, asked again with its key,
    answers an empty success (no receipt) instead of saying it was cancelled."""
    intent = next(n for n, label in enumerate(sqlite_rig.labels["pay_by_cash"], 1)  # the intent is on record
                  if label.startswith("after db.commit") and {"bills", "payments"} <= set(label.split()[-1].split(",")))
    honest = rig.crash_run(sqlite_rig.template, "pay_by_cash", intent, sqlite_rig.root / "finds-honest", retry=True)
    assert honest.findings == []
    planted = rig.crash_run(sqlite_rig.template, "pay_by_cash", intent, sqlite_rig.root / "finds-empty", retry=True,
                            inject="empty_success_on_retry")
    assert any("the retry answered receipt ''" in f for f in planted.findings), planted.findings
