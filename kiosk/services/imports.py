"""CSV import of bills and notices: every row validated first; one bad row and nothing is imported."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain import site_clock
from kiosk.domain.money import Money
from kiosk.domain.terms import BILLABLE_FEES, AccountKind, EntryKind
from kiosk.errors import ImportFileError
from kiosk.persistence.models import Bill, Household
from kiosk.services import audit, ledger, notices
from kiosk.services.notices import NoticeDraft

BILL_COLUMNS = ("unit_no", "kind", "period", "amount", "due_date", "external_ref")
NOTICE_COLUMNS = ("category", "audience_tier", "publish_at", "expire_at", "pinned", "title_zh_hans", "title_zh_hant",
                  "title_en", "body_zh_hans", "body_zh_hant", "body_en")
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_TRUE, _FALSE = {"1", "yes", "true", "y", "是"}, {"", "0", "no", "false", "n", "否"}
T = TypeVar("T")
Problem = tuple[int, str]  # (line number in the file, reason)


@dataclass(frozen=True)
class ImportResult:
    kind: str  # "bills" / "notices"
    count: int
    total_fen: int = 0


@dataclass(frozen=True)
class _BillRow:
    household_id: int
    kind: str
    period: str
    amount_fen: int
    due_date: date
    external_ref: str


def problems_of(error: ImportFileError) -> tuple[Problem, ...]:
    """The (line, reason) list an ImportFileError carries."""
    return tuple(error.params.get("problems", ()))


def _rows(data: bytes | str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; UTF-8 with or without BOM; the header must name every column."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail([(1, f"the file is not UTF-8 text (byte {exc.start})")]) from exc
    else:
        text = data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in columns if c not in header]
    if missing:
        raise _fail([(1, f"missing column(s): {', '.join(missing)}")])
    index = {name: header.index(name) for name in columns}
    start = reader.line_num
    for values in reader:
        line = start + 1
        start = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield line, {"__error__": f"expected {len(header)} fields, found {len(values)}"}
            continue
        yield line, {name: values[i].strip() for name, i in index.items()}


def _fail(problems: list[Problem]) -> ImportFileError:
    detail = "; ".join(f"line {line}: {reason}" for line, reason in problems[:20])
    return ImportFileError(detail, count=len(problems), problems=tuple(problems))


def _validate_all(data: bytes | str, columns: tuple[str, ...],
                  parse: Callable[[dict[str, str]], T]) -> list[tuple[int, T]]:
    good: list[tuple[int, T]] = []
    problems: list[Problem] = []
    for line, row in _rows(data, columns):
        if "__error__" in row:
            problems.append((line, row["__error__"]))
            continue
        try:
            good.append((line, parse(row)))
        except ValueError as exc:
            problems.append((line, str(exc)))
    if problems:
        raise _fail(problems)
    return good


def import_bills(session: Session, site_id: int, data: bytes | str, *, actor: str) -> ImportResult:
    """Columns BILL_COLUMNS. Each bill goes on the ledger as BILL_ISSUED (Dr receivable:household,
    Cr revenue:kind). A duplicate external_ref (in the file or already imported) is a bad row."""
    units = {unit: hh_id for unit, hh_id in
             session.execute(select(Household.unit_no, Household.id).where(Household.site_id == site_id))}
    seen: set[str] = set()

    def parse(row: dict[str, str]) -> _BillRow:
        reasons = []
        household_id = units.get(row["unit_no"])
        if household_id is None:
            reasons.append(f"unknown unit {row['unit_no']!r}")
        if row["kind"] not in {str(k) for k in BILLABLE_FEES}:
            reasons.append(f"unknown fee kind {row['kind']!r}")
        if not _PERIOD.match(row["period"]):
            reasons.append(f"period {row['period']!r} is not YYYY-MM")
        amount = 0
        try:
            amount = Money.parse(row["amount"]).fen
            if amount <= 0:
                reasons.append(f"amount {row['amount']!r} must be positive")
        except ValueError:
            reasons.append(f"amount {row['amount']!r} is not yuan like 123.45")
        due = date.min
        try:
            due = date.fromisoformat(row["due_date"])
        except ValueError:
            reasons.append(f"due_date {row['due_date']!r} is not YYYY-MM-DD")
        ref = row["external_ref"]
        if not ref or len(ref) > 64:
            reasons.append("external_ref must be 1-64 characters")
        elif ref in seen:
            reasons.append(f"external_ref {ref!r} appears twice in the file")
        seen.add(ref)
        if reasons:
            raise ValueError("; ".join(reasons))
        return _BillRow(household_id, row["kind"], row["period"], amount, due, ref)  # type: ignore[arg-type]

    rows = _validate_all(data, BILL_COLUMNS, parse)
    refs = [r.external_ref for _line, r in rows]
    known: set[str] = set()
    for chunk in range(0, len(refs), 500):
        known |= set(session.scalars(select(Bill.external_ref).where(Bill.external_ref.in_(refs[chunk:chunk + 500]))))
    if known:
        raise _fail([(line, f"external_ref {r.external_ref!r} was already imported")
                     for line, r in rows if r.external_ref in known])
    for _line, r in rows:
        bill = Bill(household_id=r.household_id, kind=r.kind, period=r.period, amount_fen=r.amount_fen,
                    due_date=r.due_date, external_ref=r.external_ref, status="open")
        session.add(bill)
        session.flush()
        ledger.transfer(session, EntryKind.BILL_ISSUED,
                        ledger.account(session, AccountKind.RECEIVABLE, household_id=r.household_id),
                        ledger.account(session, AccountKind.REVENUE, fee_kind=r.kind), r.amount_fen,
                        memo=f"bill {r.external_ref}")
    total = sum(r.amount_fen for _line, r in rows)
    audit.record(session, actor, "import.bills", str(site_id), count=len(rows), total_fen=total)
    return ImportResult("bills", len(rows), total)


def import_notices(session: Session, site_id: int, data: bytes | str, *, actor: str,
                   tz_name: str = site_clock.DEFAULT_ZONE) -> ImportResult:
    """Columns NOTICE_COLUMNS. Times are ISO 8601; without an offset they are site-local time."""
    tz = site_clock.zone_named(tz_name)

    def moment(text: str, name: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} {text!r} is not a date and time like 2026-12-01 09:00") from None
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)

    def parse(row: dict[str, str]) -> NoticeDraft:
        pinned = row["pinned"].lower()
        if pinned not in _TRUE | _FALSE:
            raise ValueError(f"pinned {row['pinned']!r} is not yes/no")
        draft = NoticeDraft(category=row["category"], publish_at=moment(row["publish_at"], "publish_at"),
                            expire_at=moment(row["expire_at"], "expire_at"), pinned=pinned in _TRUE,
                            audience_tier=row["audience_tier"] or None,
                            **{k: row[k] for k in NOTICE_COLUMNS if k.startswith(("title_", "body_"))})
        problems = notices.validate(draft)
        if problems:
            raise ValueError("; ".join(problems))
        return draft

    drafts = _validate_all(data, NOTICE_COLUMNS, parse)
    for _line, draft in drafts:
        notices.add_notice(session, site_id, draft, actor=actor, audited=False)
    audit.record(session, actor, "import.notices", str(site_id), count=len(drafts))
    return ImportResult("notices", len(drafts))
