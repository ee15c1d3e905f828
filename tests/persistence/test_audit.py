"""The keyed audit chain: a clean chain verifies; the issue's attack and every edit, deletion or insertion behind
the kiosk's back is named; kiosks append to their own chains without waiting on each other."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select, text

from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.errors import (AuditKeyMismatch, ChainLinkBroken, ChainNotBound, RowAltered, RowDeleted, RowNotLinked)
from kiosk.persistence import chain, chain_digest as cd
from kiosk.persistence.db import make_session_factory, unit_of_work
from kiosk.persistence.models import AuditEntry, ChainHead, ChainLink, JournalLine
from kiosk.services import audit, ledger
from tests.support.chain_key import bound_factory, write_secrets
from tests.support.tamper import report, tamper


def _write_rows(factory, n=5):
    with unit_of_work(factory) as s:
        for i in range(n):
            audit.record(s, "staff:li", "notice.create", f"notice:{i}", title=f"停水通知 {i}")


def _first(rep):
    assert not rep.ok, "verify passed"
    return rep.first


def test_a_clean_chain_verifies_and_counts_what_it_checked(factory):
    _write_rows(factory)
    with unit_of_work(factory) as s:
        rep = audit.verify(s)
    assert rep.ok, [str(p) for p in rep.problems]
    assert rep.counts["audit_log"] == 5 and rep.counts["chain_links"] == 5 and rep.counts["chains"] == 1
    assert rep.heads[0][:2] == ("K01", 5) and "verified" in rep.summary()


def test_the_issues_attack_fails_now_an_edited_row_with_recomputed_hashes_is_named(engine, factory):
    """Drop the triggers, edit audit row 3 and recompute everything the project's own code computes without the
    key: the row's digest in its link, the link's MAC (with a guessed key) and every later link, and the head."""
    _write_rows(factory)
    forged = b"\x00" * 32
    tamper(engine, "UPDATE audit_log SET details = '{\"title\": \"nothing happened\"}' WHERE id = 3")
    with unit_of_work(make_session_factory(engine)) as s:
        row = s.get(AuditEntry, 3)
        links = s.scalars(select(ChainLink).where(ChainLink.chain == "K01").order_by(ChainLink.seq)).all()
        prev, updates = cd.GENESIS_MAC, []
        for link in links:
            if link.row_id < 3:  # the links before the edit stay as they are
                prev = link.mac
                continue
            digest = cd.row_digest(cd.AUDIT, row) if link.row_id == 3 else link.digest
            mac = cd.link_mac(forged, chain=link.chain, seq=link.seq, prev_mac=prev, kind=link.kind,
                              row_id=link.row_id, version=link.version, digest=digest, at=link.at)
            updates.append(f"UPDATE chain_links SET digest = '{digest}', mac = '{mac}' WHERE id = {link.id}")
            prev = mac
    tamper(engine, *updates, f"UPDATE chain_heads SET last_mac = '{prev}' WHERE chain = 'K01'")
    first = _first(report(engine))
    assert isinstance(first.error, ChainLinkBroken) and first.row_id == "K01#3" and "audit_log 3" in first.what
    assert first.error.code == "E2214"


@pytest.mark.parametrize("sql, error, table, row_id", [
    ("UPDATE audit_log SET details = '{\"title\": \"x\"}' WHERE id = 3", RowAltered, "audit_log", "3"),
    ("UPDATE audit_log SET actor = 'someone-else' WHERE id = 5", RowAltered, "audit_log", "5"),
    ("DELETE FROM audit_log WHERE id = 2", RowDeleted, "audit_log", "2"),
    ("INSERT INTO audit_log (at, actor, action, subject, details, prev_hash, hash) "
     "VALUES ('2026-12-01 10:00:00.000000', 'x', 'staff.added', 'x', '{}', '', '')", RowNotLinked, "audit_log", "new"),
    ("DELETE FROM chain_links WHERE seq = 2", ChainLinkBroken, "chain_links", "K01#2"),
    ("DELETE FROM chain_links WHERE seq = 5", ChainLinkBroken, "chain_links", "K01#5"),  # the newest link
    ("UPDATE chain_links SET digest = '" + "0" * 64 + "' WHERE seq = 4", ChainLinkBroken, "chain_links", "K01#4"),
])
def test_every_change_behind_the_kiosks_back_names_its_row(factory, engine, sql, error, table, row_id):
    _write_rows(factory)
    tamper(engine, sql)
    if row_id == "new":  # the id the database gave the forged row (on PostgreSQL the kiosk takes ids ahead)
        with engine.connect() as conn:
            row_id = str(conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one())
    first = _first(report(engine))
    assert isinstance(first.error, error) and (first.table, first.row_id) == (table, row_id), str(first)


def test_a_balanced_edit_to_two_journal_lines_names_the_entry(factory, engine):
    with unit_of_work(factory) as s:
        opening = ledger.account(s, AccountKind.OPENING)
        credit = ledger.account(s, AccountKind.CREDIT, household_id=None)
        entry = ledger.transfer(s, EntryKind.CASH_IN, opening, credit, 5_000)
        lines = list(s.scalars(select(JournalLine.id).where(JournalLine.entry_id == entry.id)))
        entry_id = entry.id
    with unit_of_work(factory) as s:
        assert audit.verify(s).ok
    tamper(engine, f"UPDATE journal_lines SET amount_fen = amount_fen + 100000 WHERE id = {lines[0]}",
           f"UPDATE journal_lines SET amount_fen = amount_fen - 100000 WHERE id = {lines[1]}")
    rep = report(engine)
    first = _first(rep)
    assert isinstance(first.error, RowAltered) and (first.table, first.row_id) == ("journal_entries", str(entry_id))
    assert first.error.code == "E2211" and f"journal_entries {entry_id}" in str(first.error)


def test_a_row_edited_behind_the_kiosks_back_is_not_blessed_by_the_next_change(factory, engine):
    """Laundering: a legitimate later change of an edited row would link the edit; the commit refuses it."""
    from tests.support import estate
    from kiosk.services import receipts

    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=0, card_value_fen=0)
        receipt, _ = receipts.issue(s, mini.till, kind="card_loss", language="en", title="Card loss report")
        number = receipt.number
    tamper(engine, f"UPDATE receipts SET content = replace(content, 'Card loss', 'Paid 9999') WHERE number = {number}")
    with pytest.raises(RowAltered, match="receipts"):
        with unit_of_work(factory) as s:
            receipts.queue_reprint(s, receipts.find(s, mini.till.site_id, number), mini.till.kiosk_id)


def test_writing_audited_rows_without_the_audit_key_saves_nothing(engine):
    with pytest.raises(ChainNotBound):
        with unit_of_work(make_session_factory(engine)) as s:
            audit.record(s, "staff:li", "notice.create", "n")
    with unit_of_work(make_session_factory(engine)) as s:
        assert s.scalar(select(AuditEntry.id)) is None


def test_a_kiosk_with_another_estates_key_is_refused_before_it_writes(engine, factory):
    _write_rows(factory, 1)
    other = bound_factory(engine, chain="K02", key=b"\x07" * 32)
    with pytest.raises(AuditKeyMismatch) as caught:
        with unit_of_work(other) as s:
            audit.record(s, "kiosk:K02", "kiosk.started")
    assert caught.value.params["chain"] == "K01" and "audit_key" in caught.value.message
    rep = report(engine, key=b"\x07" * 32)
    assert isinstance(rep.first.error, AuditKeyMismatch) and rep.first.row_id == "K01"
    with pytest.raises(AuditKeyMismatch):  # what bootstrap.ensure_till runs at start, before anything is written
        with unit_of_work(other) as s:
            chain.check_key(s)


def test_each_kiosk_appends_to_its_own_chain(engine):
    k1, k2 = bound_factory(engine, "K01"), bound_factory(engine, "K02")
    _write_rows(k1, 2)
    _write_rows(k2, 3)
    _write_rows(k1, 1)
    with unit_of_work(k1) as s:
        heads = {h.chain: h.seq for h in s.scalars(select(ChainHead))}
        assert audit.verify(s).ok
    assert heads == {"K01": 3, "K02": 3}


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_kiosks_never_wait_on_each_others_chain(engine, backend):
    """K01 holds its chain head locked (a commit in progress) and a transaction with audited rows open; K02 pays,
    prints and audits meanwhile, each commit well under PostgreSQL's lock timeout. A second K01 writer does wait:
    the lock is real, and it is per kiosk."""
    k1, k2 = bound_factory(engine, "K01"), bound_factory(engine, "K02")
    _write_rows(k1, 1)
    _write_rows(k2, 1)
    held = k1()
    held.execute(select(ChainHead).where(ChainHead.chain == "K01").with_for_update())
    audit.record(held, "kiosk:K01", "payment.intent", "P-held")
    try:
        timings = []
        for n in range(5):
            started = time.monotonic()
            with unit_of_work(k2) as s:
                s.execute(text("SET LOCAL lock_timeout = '2s'"))
                opening = ledger.account(s, AccountKind.OPENING)
                credit = ledger.account(s, AccountKind.CREDIT, household_id=None)
                ledger.transfer(s, EntryKind.CASH_IN, opening, credit, 100 + n)
                audit.record(s, "kiosk:K02", "payment.succeeded", f"P-{n}")
            timings.append(time.monotonic() - started)
        assert max(timings) < 1.5, timings
        blocked: list[BaseException] = []

        def same_chain() -> None:
            try:
                with unit_of_work(k1) as s:
                    s.execute(text("SET LOCAL lock_timeout = '300ms'"))
                    audit.record(s, "kiosk:K01", "payment.intent", "P-waits")
            except BaseException as exc:  # noqa: BLE001 - the expected lock timeout
                blocked.append(exc)

        thread = threading.Thread(target=same_chain)
        thread.start()
        thread.join(10)
        assert blocked and "lock" in str(blocked[0]).lower()
    finally:
        held.commit()
        held.close()
    with unit_of_work(k1) as s:
        rep = audit.verify(s)
    assert rep.ok, [str(p) for p in rep.problems]
    assert {h[0]: h[1] for h in rep.heads} == {"K01": 2, "K02": 11}


def test_protected_fields_cover_every_column_of_the_protected_tables():
    """A column added to a protected table is unprotected until chain_digest.FIELDS lists it (with a new
    DIGEST_VERSION and a migration that re-links): this fails first."""
    from kiosk.persistence.models import Base

    for kind, table in cd.TABLES.items():
        assert set(cd.FIELDS[kind]) == set(Base.metadata.tables[table].columns.keys()), table
    assert set(cd.LINE_FIELDS) == set(Base.metadata.tables["journal_lines"].columns.keys())


def test_cli_audit_verify_says_verified_then_names_the_altered_row_with_exit_3(factory, engine, db_url, tmp_path):
    _write_rows(factory)
    data = tmp_path / "d"
    write_secrets(data)
    (data / "site.toml").write_text('[ui]\nlanguage = "en"\n', encoding="utf-8")
    cmd = [sys.executable, "-m", "kiosk", "audit", "verify", "--data-dir", str(data), "--db-url", db_url,
           "--config", str(data / "site.toml")]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("verified") and "5 audit rows" in ok.stdout, ok.stderr
    printed = ok.stdout.split("chain K01: link 5 ")[1][:32]
    head = subprocess.run(cmd + ["--head", f"K01:5:{printed[:8]} {printed[8:16]}"], capture_output=True, text=True)
    assert head.returncode == 0, head.stderr
    forged = subprocess.run(cmd + ["--head", "K01:5:00000000"], capture_output=True, text=True)
    assert forged.returncode == 3 and "E2214" in forged.stderr and "settlement slip" in forged.stderr
    tamper(engine, "UPDATE audit_log SET actor = 'someone-else' WHERE id = 4")
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 3 and "[E2211]" in bad.stderr and "audit_log 4" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    zh = subprocess.run(cmd[:-2], capture_output=True, text=True)  # the default language: Simplified Chinese
    assert zh.returncode == 3 and "[E2211]" in zh.stderr and "audit_log 4" in zh.stderr and "审计" in zh.stderr
