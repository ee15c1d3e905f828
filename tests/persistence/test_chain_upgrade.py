"""Migration 0009 on a database with data: the old SHA-256 chain is verified and sealed into the keyed chain, the
existing journal entries, card operations, receipts and audit rows are linked, and the first verify passes."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text

from kiosk.errors import AuditChainBroken, ConfigError, RowAltered
from kiosk.persistence import chain_digest as cd
from kiosk.persistence import schema
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import (Account, AuditEntry, Building, Card, CardOperation, ChainLink, Household, JournalEntry,
                                      JournalLine, Kiosk, Receipt, ReceiptCounter, Site)
from kiosk.services import audit
from tests.support.chain_key import TEST_AUDIT_KEY, bound_factory, write_secrets
from tests.support.databases import database
from tests.support.tamper import report, tamper

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
PREVIOUS = "0008"  # the revision before the keyed chain: a kiosk at it has rows to seal


def _old_estate(engine: Engine, audit_rows: int = 4) -> str:
    """What a kiosk at the previous revision (PREVIOUS) left: an estate, two balanced entries, a card write, two receipts and audit rows
    on the old plain SHA-256 chain with its audit_head. Returns the old head hash."""
    with engine.begin() as conn:
        def put(model, **values):
            return conn.execute(model.__table__.insert().values(**values)).inserted_primary_key[0]

        site = put(Site, code="HY", name_zh_hans="和悦", name_zh_hant="和悅", name_en="Heyue")
        kiosk = put(Kiosk, site_id=site, code="K01", name="Lobby", out_of_service=False, out_of_service_reason="")
        building = put(Building, site_id=site, code="1", name="1栋")
        hh = put(Household, site_id=site, building_id=building, unit_no="1-0101", holder_name="李", phone="",
                 pin_hash="", pin_failed=0, created_at=T0)
        card = put(Card, uid_hex="0A0B0C0D", card_no="C1", kind="resident", household_id=hh, status="active",
                   issue_seq=1, flagged_reason="", issued_at=T0, frozen_by_staff=False, plate="")
        sv = put(Account, code=f"stored_value:card:{card}", kind="stored_value", card_id=card)
        opening = put(Account, code="opening", kind="opening")
        for n, amount in enumerate((30_000, 2_500)):
            entry = put(JournalEntry, created_at=T0 + timedelta(minutes=n), kind="top_up", memo="opening balance",
                        kiosk_id=kiosk)
            put(JournalLine, entry_id=entry, account_id=opening, amount_fen=amount)
            put(JournalLine, entry_id=entry, account_id=sv, amount_fen=-amount)
        put(CardOperation, card_id=card, kind="issue", old_value_fen=0, new_value_fen=32_500, old_counter=0,
            new_counter=0, status="done", created_at=T0, resolved_at=T0 + timedelta(seconds=3))
        for number in (1, 2):
            put(Receipt, site_id=site, number=number, kind="card_loss", kiosk_id=kiosk, household_id=hh,
                issued_at=T0 + timedelta(hours=number), language="zh_Hans", content=json.dumps({"n": number}),
                reprint_count=0, voided=False, void_reason="")
        put(ReceiptCounter, site_id=site, next_number=3)
        prev = cd.GENESIS_MAC
        for n in range(audit_rows):
            at, details = T0 + timedelta(seconds=n), json.dumps({"n": n, "title": "停水通知"}, ensure_ascii=False)
            digest = cd.legacy_digest(prev, at, "staff:li", "notice.create", f"notice:{n}", details)
            last = put(AuditEntry, at=at, actor="staff:li", action="notice.create", subject=f"notice:{n}",
                       details=details, prev_hash=prev, hash=digest)
            prev = digest
        conn.execute(text("INSERT INTO audit_head (id, last_hash, last_entry_id) VALUES (1, :h, :i)"),
                     {"h": prev, "i": last})
    return prev


@pytest.fixture
def old_db(backend, tmp_path):
    with database(backend, tmp_path, migrated=False) as url:
        engine = make_engine(url)
        schema.upgrade(engine, PREVIOUS)
        yield engine
        engine.dispose()


def test_upgrade_seals_the_old_chain_and_the_first_verify_passes(old_db):
    old_head = _old_estate(old_db)
    schema.upgrade(old_db, audit_key=TEST_AUDIT_KEY)
    rep = report(old_db)
    assert rep.ok, [str(p) for p in rep.problems]
    assert (rep.counts["audit_log"], rep.counts["journal_entries"], rep.counts["journal_lines"],
            rep.counts["card_operations"], rep.counts["receipts"]) == (4, 2, 4, 1, 2)
    with unit_of_work(make_session_factory(old_db)) as s:
        first = s.scalars(select(ChainLink).order_by(ChainLink.id)).first()
        assert (first.chain, first.seq, first.kind, first.digest) == ("upgrade@0009", 1, cd.SEAL, old_head)
    assert rep.heads == [("upgrade@0009", 10, rep.heads[0][2])]  # the seal + 4 + 2 + 1 + 2 links
    kiosk = bound_factory(old_db, "K01")
    with unit_of_work(kiosk) as s:  # the kiosk writes on in its own chain
        audit.record(s, "kiosk:K01", "kiosk.started")
    assert report(old_db).ok
    schema.downgrade(old_db, PREVIOUS)  # and back: audit_head at the sealed hash again
    with old_db.connect() as conn:
        assert conn.execute(text("SELECT last_hash FROM audit_head")).scalar() == old_head


def test_the_old_attack_on_a_sealed_row_is_named_after_the_upgrade(old_db):
    """The attack of the issue on a row from before the upgrade: edit it, recompute the whole old chain and the old
    head with the project's old function. The old chain holds again, but the keyed link of the row does not."""
    _old_estate(old_db)
    schema.upgrade(old_db, audit_key=TEST_AUDIT_KEY)
    statements, prev = [], cd.GENESIS_MAC
    with old_db.connect() as conn:
        rows = conn.execute(text("SELECT id, at, actor, action, subject, details FROM audit_log ORDER BY id")).all()
    with unit_of_work(make_session_factory(old_db)) as s:
        ats = {e.id: e.at for e in s.scalars(select(AuditEntry))}
    for row in rows:
        details = '{"n": 9, "title": "nothing"}' if row.id == 2 else row.details
        digest = cd.legacy_digest(prev, ats[row.id], row.actor, row.action, row.subject, details)
        statements.append(f"UPDATE audit_log SET details = '{details}', prev_hash = '{prev}', hash = '{digest}' "
                          f"WHERE id = {row.id}")
        prev = digest
    tamper(old_db, *statements)
    first = report(old_db).first
    assert isinstance(first.error, RowAltered) and (first.table, first.row_id) == ("audit_log", "2")


def test_a_broken_old_chain_is_sealed_as_found_and_verify_keeps_naming_it(old_db):
    _old_estate(old_db)
    tamper(old_db, "UPDATE audit_log SET actor = 'nobody' WHERE id = 3")
    schema.upgrade(old_db, audit_key=TEST_AUDIT_KEY)
    first = report(old_db).first
    assert isinstance(first.error, AuditChainBroken) and first.row_id == "3" and first.error.code == "E2200"


def test_upgrading_a_database_with_rows_without_the_key_changes_nothing(old_db):
    _old_estate(old_db)
    with pytest.raises(ConfigError, match="audit_key"):
        schema.upgrade(old_db)
    assert schema.current_revision(old_db) == PREVIOUS


def test_kiosk_db_upgrade_then_audit_verify_from_the_command_line(tmp_path):
    data = tmp_path / "data"
    write_secrets(data)
    url = f"sqlite:///{data / 'kiosk.sqlite3'}"
    engine = make_engine(url)
    schema.upgrade(engine, PREVIOUS)
    _old_estate(engine)
    engine.dispose()

    def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data-dir", str(data)], capture_output=True,
                              text=True, timeout=120)

    up = kiosk("db", "upgrade")
    assert up.returncode == 0 and f"schema {PREVIOUS} -> " in up.stdout and "backup" in up.stdout, up.stderr
    verified = kiosk("audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("verified") and "2 receipts" in verified.stdout
