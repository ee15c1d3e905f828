"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, the last a check character.

Layout: registration authority (1) + institution category (1) + administrative division (6 digits) +
organisation code (9, GB 11714) + check character (1). The alphabet is the digits and the capital
letters without I, O, Z, S and V (31 characters); character i (0-based, of the first 17) weighs
3**i mod 31 and the check character is the one whose value makes the weighted sum a multiple of 31.
Only the shape and the check character are verified here (what a tax provider refuses up front).
"""
from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, ...
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def normalize(text: str) -> str:
    """What a resident typed, as the code is stored: spaces dropped, letters upper-case."""
    return "".join(text.split()).upper()


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code (ValueError on a foreign character)."""
    if len(first17) != LENGTH - 1:
        raise ValueError(f"need {LENGTH - 1} characters, got {len(first17)}")
    try:
        total = sum(_VALUE[ch] * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not allowed in a credit code") from exc
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str:
    """Why `code` (already normalized) is not a valid credit code, or "" when it is."""
    if len(code) != LENGTH:
        return f"a credit code has {LENGTH} characters, this has {len(code)}"
    bad = [ch for ch in code if ch not in _VALUE]
    if bad:
        return f"character {bad[0]!r} is not allowed in a credit code"
    if not code[2:8].isdigit():
        return "characters 3 to 8 (the administrative division) must be digits"
    expected = check_character(code[:-1])
    if code[-1] != expected:
        return f"check character is {code[-1]!r}, expected {expected!r}"
    return ""


def is_valid(code: str) -> bool:
    return not problem(code)
