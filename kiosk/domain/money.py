"""Money as integer fen (1/100 yuan); floats are refused everywhere."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Money:
    """An amount in fen. Only ints go in; arithmetic stays in ints."""

    fen: int

    def __post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise TypeError(f"Money needs integer fen, got {type(self.fen).__name__}")

    @classmethod
    def yuan(cls, yuan: int, fen: int = 0) -> Money:
        return cls(int(yuan) * 100 + int(fen))

    @classmethod
    def parse(cls, text: str) -> Money:
        """Parse '12', '12.5', '12.50', '-3.05' exactly (no float on the way)."""
        raw = text.strip().replace(",", "")
        negative = raw.startswith("-")
        if raw[:1] in ("+", "-"):
            raw = raw[1:]
        whole, _, frac = raw.partition(".")
        if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
            raise ValueError(f"not an amount: {text!r}")
        fen = int(whole) * 100 + int((frac or "0").ljust(2, "0"))
        return cls(-fen if negative else fen)

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __bool__(self) -> bool:
        return self.fen != 0

    def plain(self) -> str:
        """'1234.50' style, the form used in CSV exports and receipts."""
        sign = "-" if self.fen < 0 else ""
        whole, frac = divmod(abs(self.fen), 100)
        return f"{sign}{whole}.{frac:02d}"

    def __str__(self) -> str:
        return f"¥{self.plain()}"


ZERO = Money(0)


def total(amounts: "list[Money] | tuple[Money, ...]") -> Money:
    return Money(sum(m.fen for m in amounts))
