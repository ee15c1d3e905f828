"""`kiosk audit verify`: the keyed chain and the ledger invariants, checked from the rows as they are now.

Kivy-free and side-effect free (it only reads), so the crash harness calls `verify(session, key)` directly
after every kill. What is checked, in this order (the first problem found is the one named):
1. every chain: the head's key id is this key's, links numbered 1..n without a gap, every MAC recomputed
   with the key, the head at the last link;
2. every protected row: audit rows, journal entries with their lines, card operations and receipts each
   have a link, and their content now has the digest of their newest link; every link's row still exists;
   the old SHA-256 chain of the audit rows written before migration 0009 ends in the sealed hash;
3. the ledger: each entry has two or more non-zero lines that sum to zero (no line without its entry);
   no stored value, credit or suspense account below zero;
4. no bill paid twice: a bill is in at most one succeeded payment, and a bill marked paid is paid by a
   succeeded payment that includes it;
5. receipt numbers of each site run 1..n without a gap, and the site's counter is at n + 1;
6. each card (not replaced) whose value the kiosk has recorded (a done card write) holds what its
   stored-value account says, unless a card write is still pending for it, its last write is a spend whose
   payment has not settled (the next tap settles it or gives the value back), or it is flagged for repair.
Balances are not cached anywhere (an account's balance is always the sum of its lines), so there is no
stored balance to compare; the card values are what is stored beside the ledger.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from kiosk.domain.terms import AccountKind, CardStatus, PaymentStatus
from kiosk.errors import (AccountNegative, AuditChainBroken, AuditKeyMismatch, BillPaidTwice, CardValueMismatch,
                          ChainLinkBroken, EntryUnbalanced, KioskError, ReceiptNumberGap, RowAltered, RowDeleted,
                          RowNotLinked)
from kiosk.persistence import chain_digest as cd
from kiosk.persistence.models import (Account, AuditEntry, Bill, Card, CardOperation, ChainHead, ChainLink,
                                      JournalEntry, JournalLine, Payment, PaymentItem, Receipt, ReceiptCounter)

BATCH = 2000
LIABILITIES = (str(AccountKind.STORED_VALUE), str(AccountKind.CREDIT), str(AccountKind.SUSPENSE))


@dataclass(frozen=True)
class Problem:
    """One thing that does not hold: the table and row, what is wrong (English, for logs) and its error."""

    table: str
    row_id: str
    what: str
    error: KioskError

    def __str__(self) -> str:
        return f"{self.table} {self.row_id}: {self.what}"


@dataclass(frozen=True)
class PrintedHead:
    """A chain head as printed on a settlement slip: the link at `seq` of `chain` must have this MAC prefix."""

    chain: str
    seq: int
    mac_prefix: str

    @classmethod
    def parse(cls, text: str) -> PrintedHead:
        """'K01:1234:3f2a9c01 77de0a4b ...' (the slip's line: chain, link number, MAC prefix)."""
        chain, seq, mac = text.strip().split(":", 2)
        return cls(chain.strip(), int(seq.strip().lstrip("#")), "".join(mac.split()).lower())


@dataclass
class IntegrityReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    heads: list[tuple[str, int, str]] = field(default_factory=list)  # chain, seq, mac of every chain's head
    limit: int = 50

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def full(self) -> bool:
        return len(self.problems) >= self.limit

    def add(self, problem: Problem) -> None:
        if not self.full:
            self.problems.append(problem)

    # compatibility with the old ChainReport (audit.verify's callers)
    @property
    def entries(self) -> int:
        return self.counts.get("audit_log", 0)

    @property
    def broken_at(self) -> str | None:
        return self.first.row_id if self.first else None

    @property
    def reason(self) -> str:
        return self.first.what if self.first else ""

    def summary(self) -> str:
        c = self.counts
        return (f"verified: {c.get('chains', 0)} chains, {c.get('chain_links', 0)} links; "
                f"{c.get('audit_log', 0)} audit rows, {c.get('journal_entries', 0)} journal entries "
                f"({c.get('journal_lines', 0)} lines), {c.get('card_operations', 0)} card operations, "
                f"{c.get('receipts', 0)} receipts; ledger balanced, {c.get('bills_paid', 0)} paid bills once each, "
                f"receipt numbers without gaps, {c.get('cards', 0)} card values")


@dataclass
class _Latest:
    version: int
    digest: str
    versions: int = 1


def verify(session: Session, key: bytes, *, printed: Sequence[PrintedHead] = (), limit: int = 50) -> IntegrityReport:
    """Run every check; the report lists up to `limit` problems in the order above."""
    report = IntegrityReport(limit=limit)
    latest = _check_chains(session, key, report, printed)
    _check_audit_rows(session, report, latest)
    _check_entries(session, report, latest)
    _check_rows(session, report, latest, cd.CARD_OPERATION, CardOperation)
    _check_rows(session, report, latest, cd.RECEIPT, Receipt)
    for (kind, row_id), _ in sorted(latest.items()):
        if kind != cd.SEAL:
            _add(report, RowDeleted, cd.TABLES[kind], row_id, "in the audit chain but no longer in the database")
    _check_liabilities(session, report)
    _check_bills(session, report)
    _check_receipt_numbers(session, report)
    _check_card_values(session, report)
    return report


def _add(report: IntegrityReport, error: type[KioskError], table: str, row_id: Any, what: str,
         **params: Any) -> None:
    text = f"{table} {row_id}: {what}"
    report.add(Problem(table, str(row_id), what, error(text, table=table, row_id=row_id, **params)))


def _stream(session: Session, query: Any) -> Iterable[Any]:
    return session.execute(query.execution_options(yield_per=BATCH))


# --- 1. chains -----------------------------------------------------------------------------------
def _check_chains(session: Session, key: bytes, report: IntegrityReport,
                  printed: Sequence[PrintedHead]) -> dict[tuple[str, int], _Latest]:
    own = cd.key_id(key)
    heads = {h.chain: h for h in session.scalars(select(ChainHead).order_by(ChainHead.chain))}
    for h in heads.values():
        if h.key_id != own:
            report.add(Problem("chain_heads", h.chain, f"written with key id {h.key_id}, this key is {own}",
                               AuditKeyMismatch(f"chain {h.chain}: key id {h.key_id}, ours {own}", chain=h.chain,
                                                key_id=h.key_id, own_key_id=own)))
    wanted = {(p.chain, p.seq): p for p in printed}
    latest: dict[tuple[str, int], _Latest] = {}
    chain, expected, prev_mac, links = "", 0, cd.GENESIS_MAC, 0
    ends: dict[str, tuple[int, str]] = {}

    def broken(name: str, seq: Any, what: str) -> None:
        report.add(Problem("chain_links", f"{name}#{seq}", what,
                           ChainLinkBroken(f"chain {name} link {seq}: {what}", chain=name, seq=seq)))

    for link in _stream(session, select(ChainLink).order_by(ChainLink.chain, ChainLink.seq)):
        link = link[0]
        links += 1
        if link.chain != chain:
            if chain:
                ends[chain] = (expected - 1, prev_mac)
            chain, expected, prev_mac = link.chain, 1, cd.GENESIS_MAC
            if chain not in heads:
                broken(chain, link.seq, "a chain without a head row")
        if link.seq != expected:
            broken(chain, expected, f"link {expected} is missing (next is {link.seq}): links were removed")
            expected = link.seq
        mac = cd.link_mac_of(key, link, prev_mac)
        if mac != link.mac:
            covers = cd.TABLES.get(link.kind, link.kind)
            broken(chain, link.seq, f"the MAC of the link of {covers} {link.row_id} does not match: the link was "
                                    "altered or written without the key")
        found = wanted.pop((chain, link.seq), None)
        if found is not None and not link.mac.startswith(found.mac_prefix):
            broken(chain, link.seq, "it is not the link printed on the settlement slip: history was rewritten")
        prev_mac, expected = link.mac, expected + 1
        row = (link.kind, link.row_id)
        seen = latest.get(row)
        if seen is None:
            latest[row] = _Latest(link.version, link.digest)
        else:
            seen.versions += 1
            if link.version > seen.version:
                seen.version, seen.digest = link.version, link.digest
    if chain:
        ends[chain] = (expected - 1, prev_mac)
    for name, h in heads.items():
        last_seq, last_mac = ends.get(name, (0, cd.GENESIS_MAC))
        if (h.seq, h.last_mac) != (last_seq, last_mac):
            broken(name, h.seq, f"the head says link {h.seq} but the chain ends at link {last_seq}: "
                                "the newest links were removed or the head was moved")
        report.heads.append((name, int(h.seq), h.last_mac))
    for p in wanted.values():
        broken(p.chain, p.seq, "the link printed on the settlement slip is not in the chain: history was rewritten")
    for (kind, row_id), seen in sorted(latest.items()):
        if kind in cd.TABLES and seen.versions != seen.version:
            _add(report, RowAltered, cd.TABLES[kind], row_id, f"{seen.versions} links for {seen.version} versions")
    report.counts["chains"] = len(heads)
    report.counts["chain_links"] = links
    return latest


def _match(report: IntegrityReport, latest: dict[tuple[str, int], _Latest], kind: str, row_id: int,
           digest: str) -> None:
    seen = latest.pop((kind, row_id), None)
    table = cd.TABLES[kind]
    if seen is None:
        _add(report, RowNotLinked, table, row_id, "no link in any audit chain: written outside the kiosk")
    elif seen.digest != digest:
        _add(report, RowAltered, table, row_id, "its content does not match its newest link: the row was altered")


# --- 2. rows -------------------------------------------------------------------------------------
def _check_audit_rows(session: Session, report: IntegrityReport, latest: dict[tuple[str, int], _Latest]) -> None:
    count, legacy_prev, legacy_rows = 0, cd.GENESIS_MAC, 0
    for (entry,) in _stream(session, select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        _match(report, latest, cd.AUDIT, entry.id, cd.row_digest(cd.AUDIT, entry))
        if entry.prev_hash or entry.hash:  # written before the keyed chain: the old chain must still hold
            legacy_rows += 1
            expected = cd.legacy_digest(legacy_prev, entry.at, entry.actor, entry.action, entry.subject, entry.details)
            if entry.prev_hash != legacy_prev or entry.hash != expected:
                report.add(Problem("audit_log", str(entry.id), "the old SHA-256 chain does not hold here",
                                   AuditChainBroken(f"audit_log {entry.id}: old chain broken", entry_id=entry.id)))
            legacy_prev = entry.hash
    seals = [(row_id, s.digest) for (kind, row_id), s in latest.items() if kind == cd.SEAL]
    if legacy_rows and not seals:
        report.add(Problem("audit_log", "-", "old chain rows but no seal link",
                           AuditChainBroken("audit_log: the old chain was never sealed", entry_id="-")))
    for row_id, digest in seals:
        if legacy_rows and digest != legacy_prev:
            report.add(Problem("audit_log", str(row_id), "the old chain does not end in the sealed hash",
                               AuditChainBroken(f"audit_log {row_id}: seal mismatch", entry_id=row_id)))
    for key in [k for k in latest if k[0] == cd.SEAL]:
        latest.pop(key)
    report.counts["audit_log"] = count


def _check_entries(session: Session, report: IntegrityReport, latest: dict[tuple[str, int], _Latest]) -> None:
    """Entries joined with their lines in one ordered pass: digest and balance together."""
    query = (select(JournalEntry, JournalLine.id, JournalLine.entry_id, JournalLine.account_id,
                    JournalLine.amount_fen)
             .outerjoin(JournalLine, JournalLine.entry_id == JournalEntry.id)
             .order_by(JournalEntry.id, JournalLine.id))
    entries = lines = 0
    current: Any = None
    current_lines: list[dict[str, Any]] = []

    def close() -> None:
        if current is None:
            return
        _match(report, latest, cd.JOURNAL_ENTRY, current.id, cd.entry_digest(current, current_lines))
        amounts = [line["amount_fen"] for line in current_lines]
        if len(amounts) < 2 or sum(amounts) != 0 or 0 in amounts:
            _add(report, EntryUnbalanced, "journal_entries", current.id,
                 f"{len(amounts)} lines summing to {sum(amounts)} fen")

    for row in _stream(session, query):
        entry = row[0]
        if current is None or entry.id != current.id:
            close()
            current, current_lines = entry, []
            entries += 1
        if row.id is not None:
            lines += 1
            current_lines.append({"id": row.id, "entry_id": row.entry_id, "account_id": row.account_id,
                                  "amount_fen": row.amount_fen})
    close()
    orphan = aliased(JournalEntry)
    for line_id, entry_id in session.execute(
            select(JournalLine.id, JournalLine.entry_id).outerjoin(orphan, orphan.id == JournalLine.entry_id)
            .where(orphan.id.is_(None)).order_by(JournalLine.id).limit(report.limit)):
        _add(report, RowNotLinked, "journal_lines", line_id, f"a line of entry {entry_id}, which does not exist")
    report.counts["journal_entries"] = entries
    report.counts["journal_lines"] = lines


def _check_rows(session: Session, report: IntegrityReport, latest: dict[tuple[str, int], _Latest], kind: str,
                model: type) -> None:
    count = 0
    for (row,) in _stream(session, select(model).order_by(model.id)):  # type: ignore[attr-defined]
        count += 1
        _match(report, latest, kind, row.id, cd.row_digest(kind, row))
    report.counts[cd.TABLES[kind]] = count


# --- 3-6. the ledger and what is stored beside it ------------------------------------------------
def _check_liabilities(session: Session, report: IntegrityReport) -> None:
    rows = session.execute(select(Account.code, func.sum(JournalLine.amount_fen))
                           .join(JournalLine, JournalLine.account_id == Account.id)
                           .where(Account.kind.in_(LIABILITIES)).group_by(Account.code)
                           .having(func.sum(JournalLine.amount_fen) > 0).order_by(Account.code)).all()
    for code, total in rows:
        _add(report, AccountNegative, "accounts", code, f"balance {-int(total)} fen")


def _check_bills(session: Session, report: IntegrityReport) -> None:
    succeeded = str(PaymentStatus.SUCCEEDED)
    twice = session.execute(select(PaymentItem.bill_id, func.count(func.distinct(PaymentItem.payment_id)))
                            .join(Payment, Payment.id == PaymentItem.payment_id)
                            .where(Payment.status == succeeded, PaymentItem.bill_id.is_not(None))
                            .group_by(PaymentItem.bill_id).having(func.count(func.distinct(PaymentItem.payment_id)) > 1)
                            .order_by(PaymentItem.bill_id)).all()
    for bill_id, payments in twice:
        _add(report, BillPaidTwice, "bills", bill_id, f"in {payments} succeeded payments")
    paying = exists().where(PaymentItem.bill_id == Bill.id, PaymentItem.payment_id == Bill.payment_id,
                            Payment.id == PaymentItem.payment_id, Payment.status == succeeded)
    wrong = session.execute(select(Bill.id, Bill.payment_id).where(Bill.status == "paid", ~paying)
                            .order_by(Bill.id).limit(report.limit)).all()
    for bill_id, payment_id in wrong:
        _add(report, BillPaidTwice, "bills", bill_id, f"marked paid by payment {payment_id}, which did not pay it")
    report.counts["bills_paid"] = int(session.scalar(select(func.count()).select_from(Bill)
                                                     .where(Bill.status == "paid")) or 0)


def _check_receipt_numbers(session: Session, report: IntegrityReport) -> None:
    counters = dict(session.execute(select(ReceiptCounter.site_id, ReceiptCounter.next_number)).all())
    site, expected = None, 1
    for site_id, number in _stream(session, select(Receipt.site_id, Receipt.number)
                                   .order_by(Receipt.site_id, Receipt.number)):
        if site_id != site:
            if site is not None:
                _counter_at(report, site, expected, counters.pop(site, None))
            site, expected = site_id, 1
        if number != expected:
            missing = f"{expected}" if number == expected + 1 else f"{expected}-{number - 1}"
            _add(report, ReceiptNumberGap, "receipts", f"site {site_id} no. {missing}",
                 f"numbers {missing} missing before {number}", number=expected, site=site_id)
        expected = number + 1
    if site is not None:
        _counter_at(report, site, expected, counters.pop(site, None))
    for site_id, next_number in sorted(counters.items()):
        if next_number != 1:
            _add(report, ReceiptNumberGap, "receipts", f"site {site_id} no. 1",
                 f"the counter is at {next_number} but the site has no receipt", number=1, site=site_id)


def _counter_at(report: IntegrityReport, site: int, expected: int, next_number: int | None) -> None:
    if next_number is not None and next_number != expected:
        _add(report, ReceiptNumberGap, "receipts", f"site {site} no. {expected}",
             f"the counter is at {next_number}: numbers {expected}-{next_number - 1} were taken but are missing",
             number=expected, site=site)


def _check_card_values(session: Session, report: IntegrityReport) -> None:
    recorded: dict[int, int] = {}
    last_spend: dict[int, int] = {}  # card -> payment of its last done write, when that write was a spend
    for card_id, value, kind, payment_id in _stream(
            session, select(CardOperation.card_id, CardOperation.new_value_fen, CardOperation.kind,
                            CardOperation.payment_id).where(CardOperation.status == "done")
            .order_by(CardOperation.card_id, CardOperation.new_counter, CardOperation.id)):
        recorded[card_id] = value  # the last one per card wins: its highest counter
        if kind == "spend" and payment_id is not None:
            last_spend[card_id] = payment_id
        else:
            last_spend.pop(card_id, None)
    pending = set(session.scalars(select(CardOperation.card_id).where(CardOperation.status == "pending").distinct()))
    # A spend written to the card whose payment has not succeeded (the kiosk stopped between the verified write
    # and the settlement, or the settlement was refused) is settled or given back at the card's next tap
    # (kiosk.cards.reconcile.orphaned_spend): queued like a pending write.
    unsettled = set(session.scalars(select(Payment.id).where(Payment.id.in_(set(last_spend.values())),
                                                           Payment.status != str(PaymentStatus.SUCCEEDED))))
    pending |= {card_id for card_id, payment_id in last_spend.items() if payment_id in unsettled}
    balances = {card_id: -int(total) for card_id, total in session.execute(
        select(Account.card_id, func.sum(JournalLine.amount_fen)).join(JournalLine, JournalLine.account_id == Account.id)
        .where(Account.kind == str(AccountKind.STORED_VALUE), Account.card_id.is_not(None)).group_by(Account.card_id))}
    checked = 0
    for card_id, card_no, status, flagged in session.execute(
            select(Card.id, Card.card_no, Card.status, Card.flagged_reason).order_by(Card.id)):
        if status == str(CardStatus.REPLACED) or card_id not in recorded:
            continue
        checked += 1
        ledger_value = balances.get(card_id, 0)
        if recorded[card_id] != ledger_value and card_id not in pending and not flagged:
            _add(report, CardValueMismatch, "cards", card_no,
                 f"the last card write left {recorded[card_id]} fen, the ledger says {ledger_value} fen")
    report.counts["cards"] = checked


