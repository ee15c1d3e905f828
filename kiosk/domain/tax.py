"""VAT on one invoice line, in integer fen: tax-excluded + tax = tax-included, exactly, within the bureau's tolerance.

The kiosk charges tax-included amounts (a bill of 100.00 yuan is 100.00 with its tax in it). An invoice line
states three amounts: tax-included A, tax-excluded E and tax T. The rule here:

    E = A / (1 + r), rounded to the fen, half up (away from zero for a negative line)
    T = A - E

so E + T = A holds exactly, by construction. The rate r is a decimal fraction given as text ("0.06", "0.015")
and turned into an exact fraction p/q (never a float), so E is computed in integers:
E = floor((2·A·q + (q + p)) / (2·(q + p))) for A >= 0. The bureau (and the provider) accepts a line when
|E·r - T| <= 0.06 yuan (6 fen); with this rounding the difference is below one fen, whatever A and r.

A red-letter line is the negative of the blue line it reverses (-A, -E, -T): never recomputed, so a blue and
its red cancel to zero fen.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

TOLERANCE_FEN = 6  # ±0.06 yuan per line between E·r and T
# The VAT rates and levy rates (简易征收) a line may carry; 0 for 免税 / 不征税 / 零税率.
KNOWN_RATES = tuple(Decimal(r) for r in ("0", "0.01", "0.015", "0.03", "0.05", "0.06", "0.09", "0.13"))


class RateError(ValueError):
    """A rate that is not a decimal fraction in KNOWN_RATES."""


def parse_rate(text: str) -> Decimal:
    """'0.06' -> Decimal('0.06'); refuses floats, percent signs, and rates the bureau does not use."""
    if not isinstance(text, str):
        raise RateError(f"a rate is written as text like \"0.06\", got {type(text).__name__}")
    try:
        rate = Decimal(text.strip())
    except InvalidOperation as exc:
        raise RateError(f"{text!r} is not a decimal rate like \"0.06\"") from exc
    if not rate.is_finite() or rate not in KNOWN_RATES:
        raise RateError(f"{text!r} is not one of {', '.join(str(r) for r in KNOWN_RATES)}")
    return rate


@dataclass(frozen=True)
class LineTax:
    included_fen: int  # A: what the resident paid for the line
    excluded_fen: int  # E
    tax_fen: int  # T = A - E

    def negated(self) -> LineTax:
        return LineTax(-self.included_fen, -self.excluded_fen, -self.tax_fen)


def split_tax(included_fen: int, rate: Decimal) -> LineTax:
    """The line's tax-excluded amount and tax from its tax-included amount (the rule in the module's doc)."""
    if isinstance(included_fen, bool) or not isinstance(included_fen, int):
        raise TypeError("split_tax needs integer fen")
    frac = Fraction(rate)
    p, q = frac.numerator, frac.denominator
    magnitude = abs(included_fen)
    excluded = (2 * magnitude * q + (q + p)) // (2 * (q + p))
    if included_fen < 0:
        excluded = -excluded
    return LineTax(included_fen, excluded, included_fen - excluded)


def within_tolerance(line: LineTax, rate: Decimal) -> bool:
    """What the bureau checks: E + T = A, and |E·r - T| <= 6 fen (exact arithmetic)."""
    if line.excluded_fen + line.tax_fen != line.included_fen:
        return False
    return abs(Fraction(rate) * line.excluded_fen - line.tax_fen) <= TOLERANCE_FEN
