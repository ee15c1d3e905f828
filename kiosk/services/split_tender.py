"""Split tender: the part of a payment that the household's account credit pays, the part its own method
(card balance, cash, QR) pays, the two balanced entries that spend them at settlement, and the receipt's
lines for each part."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event
from sqlalchemy.orm import Session

from kiosk.domain.money import Money
from kiosk.domain.payment_code import GATEWAY_NETWORK_LABELS, METHOD_WITH_NETWORK, network_of_payment
from kiosk.domain.terms import METHOD_LABELS, AccountKind, EntryKind, PaymentMethod
from kiosk.errors import CreditNotEnough, InsufficientBalance
from kiosk.i18n import N_, translate
from kiosk.persistence.models import Account, Payment
from kiosk.services import ledger
from kiosk.services.receipts import Till

_INFO_AFTER = "kiosk.split_tender.after"  # account id -> its balance after this transaction's spend


def source_account(session: Session, payment: Payment):  # type: ignore[no-untyped-def]
    """Where the money is spent from: the card's stored value, or the household's credit."""
    if payment.method == PaymentMethod.CARD:
        return ledger.account(session, AccountKind.STORED_VALUE, card_id=payment.card_id)
    return ledger.account(session, AccountKind.CREDIT, household_id=payment.household_id)


def first_spend(session: Session, payment: Payment) -> Account | None:
    """The account `post_parts` locks first for this payment (the credit part's, else the method's own; None:
    nothing to spend): the settlement locks it with the payment (kiosk.services.payment_locks.lock_payment)."""
    if credit_part(payment):
        return ledger.account(session, AccountKind.CREDIT, household_id=payment.household_id)
    return source_account(session, payment) if other_part(payment) else None


def credit_part(payment: Payment) -> int:
    """What the household's account credit pays of this payment."""
    return payment.amount_fen if payment.method == PaymentMethod.CREDIT else (payment.credit_fen or 0)


def other_part(payment: Payment) -> int:
    """What the payment's own method (card balance, cash, QR) must bring: the total less the credit part."""
    return payment.amount_fen - credit_part(payment)


def post_parts(session: Session, till: Till, payment: Payment, kind: EntryKind,
               destinations: Sequence[tuple[Account, int]]) -> None:
    """Spend the payment: the credit part first, then the other method's part, each one balanced journal
    entry from its (locked) liability account into `destinations` (filled in order). Neither account goes
    below zero. Runs in the settle transaction, with the payment's outcome."""
    parts: list[tuple[Account, int, str]] = []
    if credit_part(payment):
        parts.append((ledger.account(session, AccountKind.CREDIT, household_id=payment.household_id),
                      credit_part(payment), f"{payment.reference} credit"))
    if other_part(payment):
        parts.append((source_account(session, payment), other_part(payment), payment.reference))
    remaining = [(acct, fen) for acct, fen in destinations if fen]
    for source, fen, memo in parts:
        available = ledger.locked_liability(session, source)
        if fen > available:
            error = CreditNotEnough if source.kind == AccountKind.CREDIT else InsufficientBalance
            raise error(f"needs {fen}, has {available}", available_fen=available)
        lines, left, rest = [ledger.Posting(source, fen)], fen, []
        for acct, due in remaining:
            use = min(due, left)
            if use:
                lines.append(ledger.Posting(acct, -use))
                left -= use
            if due - use:
                rest.append((acct, due - use))
        remaining = rest
        ledger.post(session, kind, lines, payment_id=payment.id, kiosk_id=till.kiosk_id, memo=memo)
        session.info.setdefault(_INFO_AFTER, {})[source.id] = available - fen


def balance_after(session: Session, account: Account) -> int:
    """What a liability account holds after this transaction's post_parts spent from it: known from the balance
    read under its lock, so not read again (the receipt's "balance after", the outcome's); read if not spent."""
    known = session.info.get(_INFO_AFTER, {})
    return known[account.id] if account.id in known else ledger.liability_balance(session, account)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_after(session: Session, *_args: object) -> None:
    session.info.pop(_INFO_AFTER, None)


def method_label(payment: Payment, language: str) -> str:
    """'Cash', or 'Account credit + Cash' for a split payment."""
    label = translate(METHOD_LABELS[PaymentMethod(payment.method)], language)
    network = network_of_payment(payment.details) if payment.method == PaymentMethod.QR else ""
    if network in GATEWAY_NETWORK_LABELS:  # 扫码支付（微信支付）: the network that took it
        label = translate(METHOD_WITH_NETWORK, language, method=label,
                          network=translate(GATEWAY_NETWORK_LABELS[network], language))
    if credit_part(payment) and payment.method != PaymentMethod.CREDIT:
        return f"{translate(METHOD_LABELS[PaymentMethod.CREDIT], language)} + {label}"
    return label


def split_fields(session: Session, payment: Payment, language: str) -> tuple[tuple[str, str], ...]:
    """The receipt's lines for each part: credit used, what the other method paid, credit left."""
    if not credit_part(payment):
        return ()
    out: tuple[tuple[str, str], ...] = ((translate(N_("Paid from account credit"), language),
                                         _yuan(credit_part(payment))),)
    if other_part(payment):
        out += ((translate(N_("Paid by {method}"), language,
                           method=translate(METHOD_LABELS[PaymentMethod(payment.method)], language)),
                 _yuan(other_part(payment))),)
    left = ledger.liability_balance(session, ledger.account(session, AccountKind.CREDIT,
                                                            household_id=payment.household_id))
    return out + ((translate(N_("Account credit left"), language), _yuan(left)),)


def _yuan(fen: int) -> str:
    return Money(fen).plain()
