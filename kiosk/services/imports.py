"""CSV import of bills and notices: every row validated first; one bad row and nothing is imported.

Whatever the file holds (random bytes, another encoding, a field of a megabyte, a row of the wrong width,
an amount of 2**63 fen), the answer is an ImportResult or one ImportFileError (E2100) whose problems name
each bad line. Bills are checked against the site's per-item maximum (`limits.max_item_fen`) and against
the sums the ledger must hold (a household's receivable, a fee kind's revenue stay within a BIGINT), then
written with bulk statements in the caller's one transaction: 100,000 bills in a few seconds
(bench/imports.py), so an import never holds the database long enough to stall a kiosk."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain import site_clock
from kiosk.domain.bounds import BIGINT_MAX, DEFAULT_MAX_ITEM_FEN, fits_bigint, item_problem, yuan_text
from kiosk.domain.terms import BILLABLE_FEES, AccountKind, EntryKind
from kiosk.errors import ImportFileError
from kiosk.persistence.bulk import collector_paused, insert_rows
from kiosk.persistence.models import Bill, Household, utcnow
from kiosk.services import audit, ledger, notices
from kiosk.services.notices import NoticeDraft

BILL_COLUMNS = ("unit_no", "kind", "period", "amount", "due_date", "external_ref")
NOTICE_COLUMNS = ("category", "audience_tier", "publish_at", "expire_at", "pinned", "title_zh_hans", "title_zh_hant",
                  "title_en", "body_zh_hans", "body_zh_hant", "body_en")
MAX_FILE_BYTES = 64 * 1024 * 1024  # 100,000 bills are about 6 MB
MAX_FIELD_CHARS = 10_000  # longer than any notice body; a longer field is a bad row, not a memory problem
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$", re.ASCII)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_AMOUNT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$", re.ASCII)  # yuan: 1234.5, "1,234.50"
_TRUE, _FALSE = {"1", "yes", "true", "y", "是"}, {"", "0", "no", "false", "n", "否"}
_IN_CHUNK = 500  # values per IN (...) list: well below every database's parameter limit
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


def shown(text: str, width: int = 40) -> str:
    """A value quoted in a reason, cut short: a megabyte field must not make a megabyte error line."""
    return repr(text) if len(text) <= width else repr(text[:width]) + f"… ({len(text)} characters)"


def _text_of(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if len(data) > MAX_FILE_BYTES:
        raise _fail([(1, f"the file is larger than {MAX_FILE_BYTES} bytes")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fail([(line, f"the file is not UTF-8 text (byte {exc.start})")]) from None


def _rows(data: bytes | str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; UTF-8 with or without BOM; the header must name every column. A row the
    csv module cannot read (an unclosed quote, a field past its limit) ends the file as one bad line."""
    text = _text_of(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # an unclosed quote is an error, not a field
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise _fail([(1, f"the header cannot be read as CSV ({exc})")]) from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise _fail([(1, f"missing column(s): {', '.join(missing)}")])
    index = {name: header.index(name) for name in columns}
    width = len(header)
    start = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = (f"a field is longer than {csv.field_size_limit()} characters" if "field limit" in str(exc)
                      else f"cannot be read as CSV ({exc})")
            yield start + 1, {"__error__": f"{reason}; nothing after it was read"}
            return
        line = start + 1
        start = reader.line_num
        if not "".join(values).strip():
            continue
        if len(values) != width:
            yield line, {"__error__": f"expected {width} fields, found {len(values)}"}
            continue
        longest = max(map(len, values))
        if longest > MAX_FIELD_CHARS:
            yield line, {"__error__": f"a field is {longest} characters long; at most {MAX_FIELD_CHARS} are read"}
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


@lru_cache(maxsize=4096)  # a file repeats a few due dates
def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if _DAY.match(text) else None
    except ValueError:
        return None


def parse_amount(text: str, max_item_fen: int) -> tuple[int, str | None]:
    """(fen, None) for a yuan amount within (0, max_item_fen], else (0, reason)."""
    if len(text) > 24 or not _AMOUNT.match(text):
        return 0, f"amount {shown(text)} is not yuan like 123.45"
    whole, _, frac = text.replace(",", "").lstrip("+").partition(".")
    fen = int(whole) * 100 + (int(frac.ljust(2, "0")) if frac else 0) * (-1 if whole.startswith("-") else 1)
    problem = item_problem(fen, max_item_fen)
    return (fen, None) if problem is None else (0, f"amount {problem}")


def import_bills(session: Session, site_id: int, data: bytes | str, *, actor: str,
                 max_item_fen: int = DEFAULT_MAX_ITEM_FEN) -> ImportResult:
    """Columns BILL_COLUMNS. Each bill goes on the ledger as BILL_ISSUED (Dr receivable:household,
    Cr revenue:kind). A duplicate external_ref (in the file or already imported), an amount above
    `max_item_fen`, or a bill that would take a household's or a fee kind's total past a BIGINT is a bad row."""
    with collector_paused():  # 100,000 rows make a million small objects; the chain's links pause it at commit
        return _import_bills(session, site_id, data, actor=actor, max_item_fen=max_item_fen)


def _import_bills(session: Session, site_id: int, data: bytes | str, *, actor: str,
                  max_item_fen: int) -> ImportResult:
    units = {unit: hh_id for unit, hh_id in
             session.execute(select(Household.unit_no, Household.id).where(Household.site_id == site_id))}
    kinds = {str(k) for k in BILLABLE_FEES}
    seen: set[str] = set()

    def parse(row: dict[str, str]) -> _BillRow:
        reasons = []
        household_id = units.get(row["unit_no"])
        if household_id is None:
            reasons.append(f"unknown unit {shown(row['unit_no'])}")
        if row["kind"] not in kinds:
            reasons.append(f"unknown fee kind {shown(row['kind'])}")
        if not _PERIOD.match(row["period"]):
            reasons.append(f"period {shown(row['period'])} is not YYYY-MM")
        amount, amount_problem = parse_amount(row["amount"], max_item_fen)
        if amount_problem:
            reasons.append(amount_problem)
        due = _day(row["due_date"])
        if due is None:
            reasons.append(f"due_date {shown(row['due_date'])} is not YYYY-MM-DD")
            due = date.min
        ref = row["external_ref"]
        if not ref or len(ref) > 64:
            reasons.append("external_ref must be 1-64 characters")
        elif ref in seen:
            reasons.append(f"external_ref {shown(ref)} appears twice in the file")
        seen.add(ref)
        if reasons:
            raise ValueError("; ".join(reasons))
        return _BillRow(household_id, row["kind"], row["period"], amount, due, ref)  # type: ignore[arg-type]

    rows = _validate_all(data, BILL_COLUMNS, parse)
    _refuse_known_refs(session, rows)
    receivables = ledger.ensure_accounts(session, AccountKind.RECEIVABLE, "household_id",
                                         sorted({r.household_id for _l, r in rows}))
    revenues = ledger.ensure_accounts(session, AccountKind.REVENUE, "fee_kind", sorted({r.kind for _l, r in rows}))
    _refuse_overflowing_sums(session, rows, receivables, revenues)
    _write_bills(session, rows, receivables, revenues)
    total = sum(r.amount_fen for _line, r in rows)
    audit.record(session, actor, "import.bills", str(site_id), count=len(rows), total_fen=total)
    return ImportResult("bills", len(rows), total)


def _refuse_known_refs(session: Session, rows: list[tuple[int, _BillRow]]) -> None:
    refs = [r.external_ref for _line, r in rows]
    known: set[str] = set()
    for chunk in range(0, len(refs), _IN_CHUNK):
        known |= set(session.scalars(select(Bill.external_ref).where(Bill.external_ref.in_(refs[chunk:chunk + _IN_CHUNK]))))
    if known:
        raise _fail([(line, f"external_ref {shown(r.external_ref)} was already imported")
                     for line, r in rows if r.external_ref in known])


def _refuse_overflowing_sums(session: Session, rows: list[tuple[int, _BillRow]], receivables: dict[Any, int],
                             revenues: dict[Any, int]) -> None:
    """Walk the file in order adding each bill to its household's receivable and its kind's revenue, from
    their balances now: the first row that would take one past a BIGINT, and every one after it, is bad."""
    running = ledger.balances(session, [*receivables.values(), *revenues.values()])
    problems: list[Problem] = []
    for line, r in rows:
        receivable, revenue = receivables[r.household_id], revenues[r.kind]
        running[receivable] += r.amount_fen
        running[revenue] -= r.amount_fen
        if not fits_bigint(running[receivable]):
            problems.append((line, f"the household's bills would total {yuan_text(running[receivable])}, more than "
                                   f"the {yuan_text(BIGINT_MAX)} a ledger account can hold"))
        elif not fits_bigint(running[revenue]):
            problems.append((line, f"the {r.kind} bills would total {yuan_text(-running[revenue])}, more than "
                                   f"the {yuan_text(BIGINT_MAX)} a ledger account can hold"))
    if problems:
        raise _fail(problems)


def _write_bills(session: Session, rows: list[tuple[int, _BillRow]], receivables: dict[Any, int],
                 revenues: dict[Any, int]) -> None:
    """Bills, then one balanced BILL_ISSUED entry per bill: three bulk statements, whatever the count."""
    now = utcnow()
    insert_rows(session, Bill.__table__,
                ("household_id", "kind", "period", "amount_fen", "due_date", "external_ref", "status", "created_at"),
                [(r.household_id, r.kind, r.period, r.amount_fen, r.due_date, r.external_ref, "open", now)
                 for _line, r in rows])
    ledger.post_many(session, EntryKind.BILL_ISSUED, [
        (f"bill {r.external_ref}", [(receivables[r.household_id], r.amount_fen), (revenues[r.kind], -r.amount_fen)])
        for _line, r in rows], at=now)


def import_notices(session: Session, site_id: int, data: bytes | str, *, actor: str,
                   tz_name: str = site_clock.DEFAULT_ZONE) -> ImportResult:
    """Columns NOTICE_COLUMNS. Times are ISO 8601; without an offset they are site-local time."""
    tz = site_clock.zone_named(tz_name)

    def moment(text: str, name: str) -> datetime:
        try:
            if len(text) > 40:
                raise ValueError
            value = datetime.fromisoformat(text)
            value = value if value.tzinfo is not None else value.replace(tzinfo=tz)
            value.astimezone(timezone.utc)  # stored in UTC: the first or last day of the calendar may not fit
        except (ValueError, OverflowError):
            raise ValueError(f"{name} {shown(text)} is not a date and time like 2026-12-01 09:00") from None
        return value

    def parse(row: dict[str, str]) -> NoticeDraft:
        pinned = row["pinned"].lower()
        if pinned not in _TRUE | _FALSE:
            raise ValueError(f"pinned {shown(row['pinned'])} is not yes/no")
        draft = NoticeDraft(category=row["category"], publish_at=moment(row["publish_at"], "publish_at"),
                            expire_at=moment(row["expire_at"], "expire_at"), pinned=pinned in _TRUE,
                            audience_tier=row["audience_tier"] or None,
                            **{k: row[k] for k in NOTICE_COLUMNS if k.startswith(("title_", "body_"))})
        problems = notices.validate(draft)
        if problems:
            raise ValueError("; ".join(p if len(p) <= 200 else p[:200] + "…" for p in problems))
        return draft

    drafts = _validate_all(data, NOTICE_COLUMNS, parse)
    for _line, draft in drafts:
        notices.add_notice(session, site_id, draft, actor=actor, audited=False)
    audit.record(session, actor, "import.notices", str(site_id), count=len(drafts))
    return ImportResult("notices", len(drafts))
