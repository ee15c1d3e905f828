"""The daily bill reconciled (`kiosk report gateway --date D`): each network's trade bill against the ledger.

For the site's day (kiosk.domain.site_clock: the day's half-open UTC range) the ledger side is every gateway
movement the kiosks of the site booked on the gateway clearing account (kiosk.services.payments): a payment
(`gateway <txn>`, keyed by its out_trade_no, the order id in `gateway_orders`) and a refund (`gateway refund
<refund id>`, keyed by the refund id). The bill side is what each network's driver returns from `trade_bill(day)`:
SUCCESS rows keyed by out_trade_no, REFUND rows by out_refund_no. A key found once on each side with equal
integer-fen amounts is `matched`; anything else is one finding with a reason:

- bill_only: on the network's bill, not on our ledger (money we do not know of);
- ledger_only: on our ledger, not on the bill (money we booked that the network does not list);
- amount_differs: on both, the amounts differ;
- duplicate: the key appears more than once on one side;
- bill_unavailable: the network's bill could not be had (not ready yet, refused, unreachable): nothing of that
  network is matched, its ledger movements are listed with this reason.

`record_run` stores each network's totals (table gateway_reconciliations) so that the daily settlement of that
day shows them (`latest_totals`).
"""
from __future__ import annotations

import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.domain import site_clock
from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.errors import KioskError
from kiosk.persistence.models import (GatewayOrderRecord, GatewayReconciliationRun, JournalEntry, JournalLine, Kiosk,
                                     Payment)
from kiosk.persistence.models.base import utcnow
from kiosk.ports import BillRow, TradeBillSource
from kiosk.services import ledger
from kiosk.services.csv_export import CsvWriter

MATCHED = "matched"
REASONS = {
    "bill_only": "on the network's bill, not on the ledger",
    "ledger_only": "on the ledger, not on the network's bill",
    "amount_differs": "amounts differ",
    "duplicate": "found more than once",
    "bill_unavailable": "the network's bill could not be downloaded",
}
CSV_COLUMNS = ("day", "network", "kind", "key", "status", "bill_fen", "ledger_fen", "payment_reference",
               "transaction_id", "note")
UNKNOWN_NETWORK = "unknown"


@dataclass(frozen=True)
class LedgerMovement:
    """A gateway payment or refund as our ledger booked it."""

    kind: str  # payment | refund
    key: str  # out_trade_no (payment) or refund id (refund)
    amount_fen: int
    payment_reference: str
    gateway_txn: str
    booked_at: datetime
    network: str = ""  # the network that took it, from its gateway order record ("" before migration 0013)


@dataclass(frozen=True)
class Finding:
    network: str
    kind: str  # payment | refund
    key: str
    status: str  # MATCHED or one of REASONS
    bill_fen: int | None
    ledger_fen: int | None
    payment_reference: str = ""
    transaction_id: str = ""
    note: str = ""

    @property
    def matched(self) -> bool:
        return self.status == MATCHED

    @property
    def amount_fen(self) -> int:
        """What the finding is worth in the totals: the bill's amount when the bill has it, else the ledger's."""
        return self.bill_fen if self.bill_fen is not None else (self.ledger_fen or 0)


@dataclass(frozen=True)
class NetworkTotals:
    network: str
    matched_count: int
    matched_fen: int
    unmatched_count: int
    unmatched_fen: int


@dataclass(frozen=True)
class GatewayReconciliation:
    day: date
    tz: str
    networks: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def all_matched(self) -> bool:
        return all(f.matched for f in self.findings)

    def totals(self) -> tuple[NetworkTotals, ...]:
        names = list(self.networks) + sorted({f.network for f in self.findings} - set(self.networks))
        out = []
        for name in names:
            mine = [f for f in self.findings if f.network == name]
            ok = [f for f in mine if f.matched]
            bad = [f for f in mine if not f.matched]
            out.append(NetworkTotals(name, len(ok), sum(f.amount_fen for f in ok), len(bad),
                                     sum(f.amount_fen for f in bad)))
        return tuple(out)


def ledger_movements(session: Session, site_id: int, day: date, tz_name: str) -> list[LedgerMovement]:
    """The site's gateway payments and refunds booked on the clearing account during the site's day."""
    start, end = site_clock.day_bounds(day, site_clock.zone_named(tz_name))
    clearing = ledger.account(session, AccountKind.GATEWAY_CLEARING)
    kiosk_ids = select(Kiosk.id).where(Kiosk.site_id == site_id).scalar_subquery()
    rows = session.execute(select(JournalEntry, JournalLine.amount_fen)
                           .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
                           .where(JournalLine.account_id == clearing.id, JournalEntry.kiosk_id.in_(kiosk_ids),
                                  JournalEntry.created_at >= start, JournalEntry.created_at < end)
                           .order_by(JournalEntry.created_at, JournalEntry.id)).all()
    orders: dict[int, list[GatewayOrderRecord]] = {}
    payment_ids = sorted({entry.payment_id for entry, _ in rows if entry.payment_id is not None})
    if payment_ids:
        for record in session.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.payment_id.in_(payment_ids))
                                      .order_by(GatewayOrderRecord.id)):
            orders.setdefault(record.payment_id, []).append(record)
    references = _references(session, payment_ids)
    out = []
    for entry, amount in rows:
        reference = references.get(entry.payment_id or 0, "")
        records = orders.get(entry.payment_id or 0, [])
        if entry.kind == str(EntryKind.REFUND) and entry.memo.startswith("gateway refund "):
            refund_id = entry.memo.removeprefix("gateway refund ")
            record = next((r for r in records if r.refund_id == refund_id or refund_id == f"{r.order_id}-late"), None)
            out.append(LedgerMovement("refund", refund_id, abs(amount), reference, "", entry.created_at,
                                      record.network if record is not None else ""))
        elif entry.kind == str(EntryKind.CASH_IN) and entry.memo.startswith("gateway "):
            txn = entry.memo.removeprefix("gateway ")
            record = next((r for r in records if r.gateway_txn == txn), None) or (records[-1] if records else None)
            key = record.order_id if record is not None else f"txn:{txn}"
            out.append(LedgerMovement("payment", key, abs(amount), reference, txn, entry.created_at,
                                      record.network if record is not None else ""))
    return out


def _references(session: Session, payment_ids: list[int]) -> dict[int, str]:
    if not payment_ids:
        return {}
    return {pid: ref for pid, ref in session.execute(select(Payment.id, Payment.reference)
                                                     .where(Payment.id.in_(payment_ids)))}


def download_bills(networks: Mapping[str, TradeBillSource], day: date) -> dict[str, list[BillRow] | KioskError]:
    """Each network's bill of the day, or the error that kept it from us (one network's failure stops no other)."""
    bills: dict[str, list[BillRow] | KioskError] = {}
    for name, source in networks.items():
        try:
            bills[name] = list(source.trade_bill(day))
        except KioskError as exc:
            bills[name] = exc
    return bills


def reconcile(movements: list[LedgerMovement], bills: Mapping[str, list[BillRow] | KioskError], day: date,
              tz_name: str) -> GatewayReconciliation:
    """Match the ledger's movements with the bills. A ledger movement belongs to the network whose bill lists its
    key; one no bill lists belongs to the network its order record names (migration 0013), else to the only
    network when there is one (else `unknown`)."""
    findings: list[Finding] = []
    on_bill: dict[tuple[str, str], list[tuple[str, BillRow]]] = {}
    for name, bill in bills.items():
        if isinstance(bill, KioskError):
            findings.append(Finding(name, "bill", "", "bill_unavailable", None, None,
                                    note=f"{bill.code}: {bill}"[:300]))
            continue
        for row in bill:
            key = ("refund", row.out_refund_no) if row.state == "REFUND" else ("payment", row.out_trade_no)
            on_bill.setdefault(key, []).append((name, row))
    ours: dict[tuple[str, str], list[LedgerMovement]] = {}
    for move in movements:
        ours.setdefault((move.kind, move.key), []).append(move)
    fallback = next(iter(bills)) if len(bills) == 1 else UNKNOWN_NETWORK
    for key in list(on_bill) + [k for k in ours if k not in on_bill]:
        theirs, mine = on_bill.get(key, []), ours.get(key, [])
        recorded = next((m.network for m in mine if m.network), "")
        network = theirs[0][0] if theirs else (recorded or fallback)
        bill_fen = sum(row.amount_fen for _, row in theirs) if theirs else None
        ledger_fen = sum(m.amount_fen for m in mine) if mine else None
        base = dict(network=network, kind=key[0], key=key[1], bill_fen=bill_fen, ledger_fen=ledger_fen,
                    payment_reference=mine[0].payment_reference if mine else "",
                    transaction_id=theirs[0][1].transaction_id if theirs else (mine[0].gateway_txn if mine else ""))
        if len(theirs) > 1 or len(mine) > 1:
            status, note = "duplicate", f"{len(theirs)} time(s) on the bill, {len(mine)} on the ledger"
        elif not mine:
            status, note = "bill_only", REASONS["bill_only"]
        elif not theirs:
            unavailable = isinstance(bills.get(network), KioskError)
            status = "bill_unavailable" if unavailable else "ledger_only"
            note = REASONS[status]
        elif bill_fen != ledger_fen:
            status, note = "amount_differs", f"bill {bill_fen} fen, ledger {ledger_fen} fen"
        else:
            status, note = MATCHED, ""
        findings.append(Finding(status=status, note=note, **base))  # type: ignore[arg-type]
    return GatewayReconciliation(day, tz_name, tuple(bills), tuple(findings))


def record_run(session: Session, site_id: int, report: GatewayReconciliation) -> str:
    """Keep the run's totals per network (append-only); returns the run's id."""
    run = f"{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    session.add_all([GatewayReconciliationRun(site_id=site_id, day=report.day, network=t.network, run=run,
                                              matched_count=t.matched_count, matched_fen=t.matched_fen,
                                              unmatched_count=t.unmatched_count, unmatched_fen=t.unmatched_fen)
                     for t in report.totals()])
    session.flush()
    return run


def latest_totals(session: Session, site_id: int, day: date) -> tuple[NetworkTotals, ...]:
    """The newest run's totals for the site's day, per network; () when no reconciliation of that day was run."""
    newest = session.scalar(select(func.max(GatewayReconciliationRun.id))
                            .where(GatewayReconciliationRun.site_id == site_id, GatewayReconciliationRun.day == day))
    if newest is None:
        return ()
    run = session.get(GatewayReconciliationRun, newest)
    assert run is not None
    rows = session.scalars(select(GatewayReconciliationRun).where(
        GatewayReconciliationRun.site_id == site_id, GatewayReconciliationRun.day == day,
        GatewayReconciliationRun.run == run.run).order_by(GatewayReconciliationRun.id))
    return tuple(NetworkTotals(r.network, r.matched_count, r.matched_fen, r.unmatched_count, r.unmatched_fen)
                 for r in rows)


def to_csv(report: GatewayReconciliation) -> str:
    """One row per finding (CSV_COLUMNS), through the one CSV writer (text cells escaped)."""
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.row(CSV_COLUMNS)
    day = report.day.isoformat()
    for f in report.findings:
        writer.row((day, f.network, f.kind, f.key, f.status, "" if f.bill_fen is None else f.bill_fen,
                    "" if f.ledger_fen is None else f.ledger_fen, f.payment_reference, f.transaction_id, f.note))
    return out.getvalue()


def to_json(report: GatewayReconciliation) -> dict[str, object]:
    return {"day": report.day.isoformat(), "tz": report.tz, "all_matched": report.all_matched,
            "totals": [t.__dict__ for t in report.totals()],
            "findings": [{"network": f.network, "kind": f.kind, "key": f.key, "status": f.status,
                          "bill_fen": f.bill_fen, "ledger_fen": f.ledger_fen,
                          "payment_reference": f.payment_reference, "transaction_id": f.transaction_id,
                          "note": f.note} for f in report.findings]}
