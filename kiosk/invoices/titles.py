"""Invoice titles: the buyer checked before anything is sent, masked for the screen, saved per household for reuse.

A personal buyer is a name (1-50 characters); a company is a title (1-100 characters) and its unified social
credit code, whose check character (GB 32100) is verified here, so a wrong code never reaches the provider.
Titles take Chinese characters, letters, digits, spaces and the punctuation company names use (() （） · & - . ,);
anything else (control characters, emoji, quotes, angle brackets) is refused with InvoiceTitleInvalid.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.domain import credit_code
from kiosk.errors import InvalidTaxId, InvoiceTitleInvalid, NotFound
from kiosk.i18n import N_
from kiosk.persistence.db import insert_ignoring_conflict
from kiosk.persistence.models import SavedInvoiceTitle, utcnow
from kiosk.ports import BuyerKind, InvoiceBuyer

NAME_MAX = {BuyerKind.PERSONAL: 50, BuyerKind.COMPANY: 100}
_ALLOWED = re.compile(r"^[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff ()（）·•&＆\-－.．,，、'’]+$")
_PHONE = re.compile(r"^1\d{10}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def _invalid(problem: str, **params: object) -> InvoiceTitleInvalid:
    return InvoiceTitleInvalid(problem=problem, problem_params=params)


def clean_name(kind: BuyerKind, text: str) -> str:
    """The name or title as it will be sent (NFKC-folded full-width letters, spaces collapsed), or refused."""
    folded = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not folded:
        raise _invalid(N_("the name is empty."))
    limit = NAME_MAX[kind]
    if len(folded) > limit:
        raise _invalid(N_("it has {count} characters; at most {max} are allowed."), count=len(folded), max=limit)
    if not _ALLOWED.match(folded):
        bad = next(ch for ch in folded if not _ALLOWED.match(ch))
        raise _invalid(N_("the character {char} cannot be on an invoice."),
                       char=repr(bad) if not bad.isprintable() else bad)
    return folded


def make_buyer(kind: BuyerKind | str, name: str, tax_id: str = "", *, phone: str = "", email: str = "") -> InvoiceBuyer:
    """The buyer, every field checked: InvoiceTitleInvalid, InvalidTaxId (GB 32100 check character) when wrong."""
    kind = BuyerKind(kind)
    clean = clean_name(kind, name)
    code = credit_code.normalize(tax_id or "")
    if kind is BuyerKind.COMPANY:
        if credit_code.problem(code):
            raise InvalidTaxId(credit_code.problem(code), tax_id=code or "-")
    elif code:
        raise _invalid(N_("a personal invoice has no tax ID."))
    phone = (phone or "").strip()
    if phone and not _PHONE.match(phone):
        raise _invalid(N_("the mobile number must be 11 digits starting with 1."))
    email = (email or "").strip()
    if email and not _EMAIL.match(email):
        raise _invalid(N_("the e-mail address is not valid."))
    return InvoiceBuyer(kind, clean, code if kind is BuyerKind.COMPANY else "", phone, email)


def mask_name(kind: BuyerKind | str, name: str) -> str:
    """'张三丰' -> '张*丰', '张三' -> '张*', '上海阳光物业管理有限公司' -> '上海****公司': the holder knows it again."""
    if BuyerKind(kind) is BuyerKind.PERSONAL:
        if len(name) <= 2:
            return name[:1] + "*"
        return name[0] + "*" * min(len(name) - 2, 3) + name[-1]
    if len(name) <= 4:
        return name[:1] + "*" * (len(name) - 1)
    return name[:2] + "****" + name[-2:]


def mask_tax_id(tax_id: str) -> str:
    return f"{tax_id[:4]}**********{tax_id[-4:]}" if len(tax_id) == credit_code.LENGTH else ""


@dataclass(frozen=True)
class SavedTitle:
    """A title the household used before, as the screen shows it (masked) and reuses it (by id)."""

    title_id: int
    kind: BuyerKind
    name_masked: str
    tax_id_masked: str
    last_used_at: datetime


def remember(session: Session, household_id: int | None, buyer: InvoiceBuyer, now: datetime | None = None) -> None:
    """Keep (or refresh) the title for the household; two kiosks saving the same title at once keep one row."""
    if household_id is None:
        return
    now = now or utcnow()
    key = (SavedInvoiceTitle.household_id == household_id, SavedInvoiceTitle.buyer_kind == str(buyer.kind),
           SavedInvoiceTitle.name == buyer.name, SavedInvoiceTitle.tax_id == buyer.tax_id)
    done = session.execute(update(SavedInvoiceTitle).where(*key)
                           .values(use_count=SavedInvoiceTitle.use_count + 1, last_used_at=now)
                           .execution_options(synchronize_session=False))
    if not done.rowcount:
        insert_ignoring_conflict(session, SavedInvoiceTitle, household_id=household_id, buyer_kind=str(buyer.kind),
                                 name=buyer.name, tax_id=buyer.tax_id, use_count=1, last_used_at=now)


def saved_titles(session: Session, household_id: int, limit: int = 5) -> tuple[SavedTitle, ...]:
    rows = session.scalars(select(SavedInvoiceTitle).where(SavedInvoiceTitle.household_id == household_id)
                           .order_by(SavedInvoiceTitle.last_used_at.desc(), SavedInvoiceTitle.id.desc())
                           .limit(limit)).all()
    return tuple(SavedTitle(r.id, BuyerKind(r.buyer_kind), mask_name(r.buyer_kind, r.name), mask_tax_id(r.tax_id),
                            r.last_used_at) for r in rows)


def saved_buyer(session: Session, household_id: int, title_id: int) -> InvoiceBuyer:
    """The full title behind a masked one, only for the household that saved it."""
    row = session.get(SavedInvoiceTitle, title_id)
    if row is None or row.household_id != household_id:
        raise NotFound(f"saved title {title_id}")
    return InvoiceBuyer(BuyerKind(row.buyer_kind), row.name, row.tax_id)
