"""Direct-debit (bank collection) sign-up: account number validated, kept masked plus a keyed hash, never in clear."""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.receipt import ReceiptKind
from kiosk.errors import AlreadyDone, InvalidEntry
from kiosk.i18n import N_, translate
from kiosk.persistence.models import DirectDebitMandate, utcnow
from kiosk.services import audit, charges, receipts
from kiosk.services.charges import actor_of
from kiosk.services.payments import mask_unit
from kiosk.services.receipts import Till
from kiosk.services.references import unused_reference


@dataclass(frozen=True)
class BankOption:
    code: str
    name: str


@dataclass(frozen=True)
class MandateResult:
    mandate_id: int
    reference: str
    bank_code: str
    account_masked: str
    receipt_number: str


def bank_options(banks: Mapping[str, str]) -> tuple[BankOption, ...]:
    """The site's configured banks (code -> display name), sorted by code."""
    return tuple(BankOption(code, name) for code, name in sorted(banks.items()))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def normalize_account(text: str, *, require_luhn: bool = False) -> str:
    """Digits only (spaces and dashes dropped), 12-19 of them, Luhn-checked when the bank needs it."""
    digits = re.sub(r"[\s\-]", "", text)
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise InvalidEntry("account number must be 12-19 digits", field="account number")
    if require_luhn and not luhn_ok(digits):
        raise InvalidEntry("account number check digit is wrong", field="account number")
    return digits


def mask_account(digits: str) -> str:
    """'6222021234561234' -> '6222 **** **** 1234': first four and last four only."""
    return f"{digits[:4]} **** **** {digits[-4:]}"


def account_hash(digits: str, secret: bytes) -> str:
    """HMAC-SHA256 keyed with the site secret: lets staff match a number without storing it."""
    return hmac.new(secret, digits.encode("ascii"), hashlib.sha256).hexdigest()


def sign_up(session: Session, till: Till, *, household_id: int, bank_code: str, account_number: str,
            holder_name: str, banks: Mapping[str, str], secret: bytes, language: str,
            require_luhn: bool = False) -> MandateResult:
    """Record a mandate for bank collection of monthly fees and print a receipt with the masked number.

    The clear number is used only to build the mask and the keyed hash inside this call.
    """
    if bank_code not in banks:
        raise InvalidEntry(f"bank {bank_code!r}", field="bank")
    if not holder_name.strip():
        raise InvalidEntry("holder name", field="account holder")
    if len(secret) < 16:
        raise InvalidEntry("the direct-debit secret is too short", field="direct debit secret")
    digits = normalize_account(account_number, require_luhn=require_luhn)
    digest = account_hash(digits, secret)
    hh = charges.household(session, household_id)
    duplicate = session.scalars(select(DirectDebitMandate).where(
        DirectDebitMandate.household_id == household_id, DirectDebitMandate.account_hash == digest,
        DirectDebitMandate.status.in_(("submitted", "active")))).first()
    if duplicate is not None:
        raise AlreadyDone(duplicate.reference)
    mandate = DirectDebitMandate(household_id=household_id, bank_code=bank_code, account_masked=mask_account(digits),
                                 account_hash=digest, holder_name=holder_name.strip()[:60],
                                 reference=unused_reference(session, DirectDebitMandate.reference, "D", utcnow()),
                                 status="submitted")
    session.add(mandate)
    session.flush()
    audit.record(session, actor_of(till), "direct_debit.signed", mandate.reference, bank=bank_code,
                 account=mandate.account_masked)
    fields = ((translate(N_("Bank"), language), banks[bank_code]),
              (translate(N_("Account"), language), mandate.account_masked),
              (translate(N_("Account holder"), language), mandate.holder_name),
              (translate(N_("Reference"), language), mandate.reference))
    receipt, _doc = receipts.issue(session, till, kind=ReceiptKind.DIRECT_DEBIT, language=language,
                                   title=translate(N_("Direct debit sign-up"), language), household_id=hh.id,
                                   household_label=mask_unit(hh.unit_no), fields=fields,
                                   notes=(translate(N_("Monthly fees will be collected from this account."),
                                                    language),))
    return MandateResult(mandate.id, mandate.reference, bank_code, mandate.account_masked,
                         receipts.format_number(receipt.number))
