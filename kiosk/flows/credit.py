"""Account credit as a choice on every pay page: alone when it covers the total, else first with card
balance, cash or QR for the rest (split tender); the words the resident reads before confirming."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.flows.records import MONEY_METHODS, PAYMENT_METHOD_LABELS, PaymentMethod
from kiosk.i18n import N_

SPLIT = "credit+"  # option keys: "credit" (alone), "credit+cash" (credit first, cash for the rest), "cash"


@dataclass(frozen=True)
class MethodPick:
    """What the resident chose: `method` brings `total - credit_fen` (nothing when it is CREDIT)."""

    method: PaymentMethod
    credit_fen: int

    @property
    def key(self) -> str:
        if self.method is PaymentMethod.CREDIT or not self.credit_fen:
            return self.method.value
        return SPLIT + self.method.value


def choices(credit_fen: int, total_fen: int) -> tuple[MethodPick, ...]:
    """Every way to pay `total_fen`, credit first: credit alone when it covers the total, else credit with
    each money method; then each money method alone (the resident may keep the credit)."""
    picks: list[MethodPick] = []
    if credit_fen > 0 and total_fen > 0:
        if credit_fen >= total_fen:
            picks.append(MethodPick(PaymentMethod.CREDIT, total_fen))
        else:
            picks += [MethodPick(m, credit_fen) for m in MONEY_METHODS]
    return tuple(picks) + tuple(MethodPick(m, 0) for m in MONEY_METHODS)


def parse(key: str, credit_fen: int, total_fen: int) -> MethodPick | None:
    return next((p for p in choices(credit_fen, total_fen) if p.key == key), None)


def label(pick: MethodPick, t: Callable[..., str], money: Callable[[int], str]) -> str:
    """The button: 'Account credit ¥30.00', 'Account credit ¥30.00 + Cash', 'Cash'."""
    name = t(PAYMENT_METHOD_LABELS[pick.method])
    if pick.method is PaymentMethod.CREDIT:
        return f"{name} {money(pick.credit_fen)}"
    if pick.credit_fen:
        return f"{t(PAYMENT_METHOD_LABELS[PaymentMethod.CREDIT])} {money(pick.credit_fen)} + {name}"
    return name


def confirm_text(pick: MethodPick, total_fen: int, t: Callable[..., str], money: Callable[[int], str]) -> str:
    """What the confirm page says about the money: 'Account credit -¥30.00, rest ¥70.00 by Cash'."""
    if pick.method is PaymentMethod.CREDIT:
        return t(N_("Account credit -{credit}"), credit=money(pick.credit_fen))
    name = t(PAYMENT_METHOD_LABELS[pick.method])
    if pick.credit_fen:
        return t(N_("Account credit -{credit}, rest {rest} by {method}"), credit=money(pick.credit_fen),
                 rest=money(total_fen - pick.credit_fen), method=name)
    return name
