"""Bounds on amounts that come from outside (import files, settings, the payment gateway).

One amount from outside is at most the site's per-item maximum (`limits.max_item_fen`, default 1,000,000 yuan);
the maximum itself is at most MAX_ITEM_CEILING_FEN, so a single item never comes near the 64-bit integer the
database stores money in. Sums are checked separately (an import refuses the row whose bill would take a
ledger account past BIGINT_MAX), and the ledger reads its sums in two halves that cannot overflow
(kiosk.persistence.sums)."""
from __future__ import annotations

BIGINT_MAX = 2**63 - 1  # PostgreSQL BIGINT, SQLite INTEGER
DEFAULT_MAX_ITEM_FEN = 100_000_000  # 1,000,000 yuan: one bill, fee, top-up or gateway order
MAX_ITEM_CEILING_FEN = 10**15  # the largest per-item maximum a site may configure (9,000 such items fit a BIGINT)


def yuan_text(fen: int) -> str:
    """'1000000.00': how a bound is named in an error line (no float)."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


def item_problem(fen: object, max_item_fen: int, *, allow_zero: bool = False) -> str | None:
    """Why `fen` is not an acceptable single amount, or None. Integer fen only (bool is not an amount)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        return f"{fen!r} is not a whole number of fen"
    if fen < 0 or (fen == 0 and not allow_zero):
        return f"{yuan_text(fen)} must be {'zero or more' if allow_zero else 'more than zero'}"
    if fen > max_item_fen:
        return f"{yuan_text(fen)} is above the maximum of {yuan_text(max_item_fen)} per item (limits.max_item_fen)"
    return None


def fits_bigint(total: int) -> bool:
    """Whether a sum can be stored in (and summed back out of) a 64-bit column."""
    return -BIGINT_MAX - 1 <= total <= BIGINT_MAX
