"""Daily settlement (日结) for finance: totals by fee kind and method, receipt range, voids, credits; CSV; slip."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from kiosk.domain import site_clock
from kiosk.domain.money import Money
from kiosk.domain.receipt import ReceiptDocument, ReceiptItem, ReceiptKind
from kiosk.domain.terms import FEE_LABELS, METHOD_LABELS, FeeKind, PaymentMethod, PaymentStatus
from kiosk.i18n import N_, translate
from kiosk.invoices import figures as invoice_figures
from kiosk.invoices.figures import InvoiceFigures
from kiosk.persistence.chain import chain_heads_at
from kiosk.persistence.chain_digest import short_mac
from kiosk.persistence.models import Kiosk, Payment, PaymentItem, Receipt
from kiosk.domain.payment_code import GATEWAY_NETWORK_LABELS, METHOD_WITH_NETWORK, network_of_payment
from kiosk.services import audit, credit_report, gateway_reconcile, payments, receipts
from kiosk.services.credit_report import CreditFigures
from kiosk.services.gateway_reconcile import NetworkTotals
from kiosk.services.csv_export import CsvWriter
from kiosk.services.receipts import Till

DEFAULT_TZ = site_clock.DEFAULT_ZONE
COUNTED = (str(PaymentStatus.SUCCEEDED), str(PaymentStatus.VOIDED))  # money that was taken that day
CSV_COLUMNS = ("record", "day", "local_time", "reference", "receipt_number", "purpose", "fee_kind", "method", "status",
               "amount_fen", "amount_yuan", "note")


@dataclass(frozen=True)
class PaymentLine:
    reference: str
    local_time: datetime
    receipt_number: str
    purpose: str
    method: str
    status: str
    amount_fen: int
    items: tuple[tuple[str, int], ...]  # (fee kind, fen)
    credit_fen: int = 0  # the part paid from account credit (split tender; all of it with the credit method)
    network: str = ""  # QR: the network that took it (wechatpay, alipay; "" when not recorded)


@dataclass(frozen=True)
class VoidLine:
    receipt_number: str
    void_receipt_number: str
    payment_reference: str
    method: str
    amount_fen: int
    reason: str
    local_time: datetime


@dataclass(frozen=True)
class CreditLine:
    payment_reference: str
    method: str
    status: str
    credited_fen: int


@dataclass(frozen=True)
class ChainHeadLine:
    """A chain's last link of the day (kiosk.persistence.chain): printed so that rewriting history needs the paper."""

    chain: str
    seq: int
    mac: str
    local_time: datetime

    @property
    def printed(self) -> str:
        """'K01:1234:3f2a9c01 77de0a4b 11223344 55667788': what `kiosk audit verify --head` takes back."""
        return f"{self.chain}:{self.seq}:{short_mac(self.mac)}"


@dataclass(frozen=True)
class Settlement:
    site_id: int
    day: date
    tz: str
    start_utc: datetime
    end_utc: datetime
    by_kind: tuple[tuple[str, int], ...]  # sorted by kind
    by_method: tuple[tuple[str, int], ...]  # sorted by method
    payment_count: int
    gross_fen: int
    first_receipt: str  # "" when no receipt was issued that day
    last_receipt: str
    receipt_count: int
    voids: tuple[VoidLine, ...]
    voided_fen: int
    credits: tuple[CreditLine, ...]
    credited_fen: int
    payments: tuple[PaymentLine, ...]
    credit: CreditFigures = CreditFigures((), (), 0)  # account credit created and used, per method
    invoices: InvoiceFigures = InvoiceFigures()  # e-invoices of the day's payments, red letters of the day
    chain_heads: tuple[ChainHeadLine, ...] = ()  # every audit chain's last link before the day's end
    gateway: tuple[NetworkTotals, ...] = ()  # the day's newest `kiosk report gateway` run, per network (none: not run)

    @property
    def qr_by_network(self) -> tuple[tuple[str, int], ...]:
        """The QR part of the day's payments per network that took it (sorted; "" = not recorded)."""
        out: dict[str, int] = {}
        for p in self.payments:
            if p.method == PaymentMethod.QR and p.amount_fen - p.credit_fen:
                out[p.network] = out.get(p.network, 0) + p.amount_fen - p.credit_fen
        return tuple(sorted(out.items()))

    @property
    def net_fen(self) -> int:
        return self.gross_fen - self.voided_fen


def day_bounds(day: date, tz_name: str = DEFAULT_TZ) -> tuple[datetime, datetime, ZoneInfo]:
    """[start, end) of the site's local calendar day, in UTC (kiosk.domain.site_clock.day_bounds)."""
    tz = site_clock.zone_named(tz_name)
    start, end = site_clock.day_bounds(day, tz)
    return start, end, tz


def daily_settlement(session: Session, site_id: int, day: date, tz_name: str = DEFAULT_TZ) -> Settlement:
    start, end, tz = day_bounds(day, tz_name)
    kiosk_ids = select(Kiosk.id).where(Kiosk.site_id == site_id).scalar_subquery()
    rows = session.scalars(select(Payment).where(Payment.kiosk_id.in_(kiosk_ids), Payment.completed_at >= start,
                                                 Payment.completed_at < end).order_by(Payment.completed_at, Payment.id)).all()
    counted = [p for p in rows if p.status in COUNTED]
    ids = [p.id for p in counted]
    items: dict[int, list[tuple[str, int]]] = {}
    if ids:
        for item in session.scalars(select(PaymentItem).where(PaymentItem.payment_id.in_(ids)).order_by(PaymentItem.id)):
            items.setdefault(item.payment_id, []).append((item.fee_kind, item.amount_fen))
    first_receipts = _first_receipt_numbers(session, ids)
    lines = tuple(PaymentLine(p.reference, p.completed_at.astimezone(tz), first_receipts.get(p.id, ""), p.purpose,  # type: ignore[union-attr]
                              p.method, p.status, p.amount_fen, tuple(items.get(p.id, ())), payments.credit_part(p),
                              network_of_payment(p.details) if p.method == PaymentMethod.QR else "")
                  for p in counted)
    by_kind: dict[str, int] = {}
    by_method: dict[str, int] = {}
    for line in lines:  # a split payment counts under each of its tenders: credit, and the method for the rest
        for method, fen in ((str(PaymentMethod.CREDIT), line.credit_fen), (line.method, line.amount_fen - line.credit_fen)):
            if fen:
                by_method[method] = by_method.get(method, 0) + fen
        for kind, fen in line.items:
            by_kind[kind] = by_kind.get(kind, 0) + fen
    low, high, count = session.execute(select(func.min(Receipt.number), func.max(Receipt.number), func.count())
                                       .where(Receipt.site_id == site_id, Receipt.issued_at >= start,
                                              Receipt.issued_at < end)).one()
    voids = _voids(session, site_id, start, end, tz)
    credits = tuple(CreditLine(p.reference, p.method, p.status, credit_report.kept_as_credit(p))
                    for p in rows if credit_report.kept_as_credit(p) > 0)
    kiosks = list(session.scalars(select(Kiosk.id).where(Kiosk.site_id == site_id)))
    return Settlement(site_id, day, tz_name, start, end, tuple(sorted(by_kind.items())), tuple(sorted(by_method.items())),
                      len(lines), sum(line.amount_fen for line in lines),
                      receipts.format_number(low) if low is not None else "",
                      receipts.format_number(high) if high is not None else "", int(count), voids,
                      sum(v.amount_fen for v in voids), credits, sum(c.credited_fen for c in credits), lines,
                      credit_report.figures(session, rows, kiosks, start, end),
                      invoice_figures.figures(session, site_id, ids, start, end),
                      tuple(ChainHeadLine(chain, seq, mac, at.astimezone(tz))
                            for chain, seq, mac, at in chain_heads_at(session, end)),
                      gateway_reconcile.latest_totals(session, site_id, day))


def _first_receipt_numbers(session: Session, payment_ids: list[int]) -> dict[int, str]:
    if not payment_ids:
        return {}
    found: dict[int, str] = {}
    for pid, number in session.execute(select(Receipt.payment_id, Receipt.number)
                                       .where(Receipt.payment_id.in_(payment_ids), Receipt.kind != str(ReceiptKind.VOID))
                                       .order_by(Receipt.number)):
        found.setdefault(pid, receipts.format_number(number))
    return found


def _voids(session: Session, site_id: int, start: datetime, end: datetime, tz: ZoneInfo) -> tuple[VoidLine, ...]:
    """Voids performed during the day (the original payment may be from an earlier day). Read from the day's void
    receipts of the site (a void receipt is numbered in its original's site) to the receipts they void."""
    void = aliased(Receipt)
    rows = session.execute(select(Receipt, void, Payment).join(void, void.id == Receipt.void_receipt_id)
                           .join(Payment, Payment.id == Receipt.payment_id)
                           .where(void.site_id == site_id, void.issued_at >= start, void.issued_at < end)).all()
    rows = sorted(rows, key=lambda r: r[1].number)  # sorted here: an ORDER BY number leads SQLite down the site's
    # every receipt in the (site_id, number) key instead of the day's range
    return tuple(VoidLine(receipts.format_number(orig.number), receipts.format_number(v.number), pay.reference,
                          pay.method, pay.amount_fen, orig.void_reason, v.issued_at.astimezone(tz))
                 for orig, v, pay in rows)


def to_csv(report: Settlement) -> str:
    """Stable columns (CSV_COLUMNS): one row per payment item, then totals, voids and credits; fen and yuan.
    Written through the one CSV writer (kiosk.services.csv_export): text cells escaped, amounts as numbers."""
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.row(CSV_COLUMNS)
    day = report.day.isoformat()

    def row(record: str, amount: int, *, local: str = "", ref: str = "", number: str = "", purpose: str = "",
            kind: str = "", method: str = "", status: str = "", note: str = "") -> None:
        writer.row((record, day, local, ref, number, purpose, kind, method, status, amount, Decimal(Money(amount).plain()),
                    note))

    for p in report.payments:
        for kind, fen in p.items:
            row("item", fen, local=p.local_time.isoformat(timespec="seconds"), ref=p.reference, number=p.receipt_number,
                purpose=p.purpose, kind=kind, method=p.method, status=p.status)
    for kind, fen in report.by_kind:
        row("total_kind", fen, kind=kind)
    for method, fen in report.by_method:
        row("total_method", fen, method=method)
    for network, fen in report.qr_by_network:  # the QR total split by the network that took each payment
        row("total_network", fen, method=f"qr:{network or 'unknown'}")
    row("total", report.gross_fen, note=f"{report.payment_count} payments; receipts "
                                         f"{report.first_receipt}-{report.last_receipt}")
    for v in report.voids:
        row("void", -v.amount_fen, local=v.local_time.isoformat(timespec="seconds"), ref=v.payment_reference,
            number=v.void_receipt_number, method=v.method, note=f"voids {v.receipt_number}: {v.reason}")
    for c in report.credits:
        row("credit", c.credited_fen, ref=c.payment_reference, method=c.method, status=c.status)
    for p in report.payments:  # split tender: what account credit paid of each payment
        if p.credit_fen:
            row("credit_used", p.credit_fen, local=p.local_time.strftime("%H:%M:%S"), ref=p.reference,
                number=p.receipt_number, purpose=p.purpose, method=p.method, status=p.status)
    for source, fen in report.credit.created:
        row("total_credit_created", fen, method=source)
    for method, fen in report.credit.used:
        row("total_credit_used", fen, method=method)
    inv = report.invoices
    for record, count, fen in (("total_invoiced", inv.invoiced_count, inv.invoiced_fen),
                               ("total_invoice_pending", inv.pending_count, inv.pending_fen),
                               ("total_invoice_failed", inv.failed_count, inv.failed_fen),
                               ("total_red_letter", inv.red_count, inv.red_fen)):
        if inv.any:
            row(record, fen, note=f"{count} invoices")
    for t in report.gateway:  # the day's trade bills against the ledger (kiosk report gateway)
        row("gateway_matched", t.matched_fen, method=t.network, note=f"{t.matched_count} matched")
        row("gateway_unmatched", t.unmatched_fen, method=t.network, note=f"{t.unmatched_count} not matched")
    row("net", report.net_fen)
    for h in report.chain_heads:  # the full MAC of each chain's last link of the day
        row("chain_head", 0, local=h.local_time.isoformat(timespec="seconds"), ref=h.chain, number=str(h.seq),
            note=h.mac)
    return out.getvalue()


def kind_label(kind: str, language: str) -> str:
    if kind == "top_up":
        return translate(N_("Card top-up"), language)
    try:
        return translate(FEE_LABELS[FeeKind(kind)], language)
    except ValueError:
        return kind


def settlement_slip(session: Session, till: Till, report: Settlement, *, language: str,
                    actor: str) -> tuple[str, ReceiptDocument]:
    """Print and keep the day's slip (ReceiptKind.SETTLEMENT); returns its number and document."""
    items = tuple(ReceiptItem(kind_label(kind, language), fen) for kind, fen in report.by_kind)

    def y(fen: int) -> str:
        return Money(fen).plain()

    fields: tuple[tuple[str, str], ...] = ((translate(N_("Business day"), language), report.day.isoformat()),)
    fields += tuple((translate(METHOD_LABELS[PaymentMethod(m)], language), y(fen)) for m, fen in report.by_method)
    fields += tuple((translate(METHOD_WITH_NETWORK, language, method=translate(METHOD_LABELS[PaymentMethod.QR], language),
                               network=translate(GATEWAY_NETWORK_LABELS[n], language)), y(fen))
                    for n, fen in report.qr_by_network if n in GATEWAY_NETWORK_LABELS)
    fields += ((translate(N_("Payments"), language), str(report.payment_count)),
               (translate(N_("Receipt numbers"), language),
                f"{report.first_receipt}-{report.last_receipt}" if report.first_receipt else "-"),
               (translate(N_("Voids"), language), f"{len(report.voids)} / {y(report.voided_fen)}"),
               (translate(N_("Credited (no change given)"), language), y(report.credited_fen)))
    fields += credit_report.slip_fields(report.credit, language)
    fields += invoice_figures.slip_fields(report.invoices, language)
    fields += tuple(field for t in report.gateway for field in (
        (translate(N_("Bill matched ({network})"), language, network=t.network), f"{t.matched_count} / {y(t.matched_fen)}"),
        (translate(N_("Bill not matched ({network})"), language, network=t.network),
         f"{t.unmatched_count} / {y(t.unmatched_fen)}")))
    fields += ((translate(N_("Net"), language), y(report.net_fen)),)
    fields += tuple((translate(N_("Audit chain head"), language), h.printed) for h in report.chain_heads)
    notes = tuple(translate(N_("Void {number}: {reason}"), language, number=v.receipt_number, reason=v.reason)
                  for v in report.voids)
    receipt, doc = receipts.issue(session, till, kind=ReceiptKind.SETTLEMENT, language=language,
                                  title=translate(N_("Daily settlement"), language), items=items,
                                  total_fen=report.gross_fen, fields=fields, notes=notes)
    audit.record(session, actor, "settlement.printed", report.day.isoformat(), gross_fen=report.gross_fen,
                 net_fen=report.net_fen, receipt=receipts.format_number(receipt.number))
    return receipts.format_number(receipt.number), doc
