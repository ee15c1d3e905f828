"""Money is integer fen: parsed exactly, floats refused."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from kiosk.domain.money import Money


@pytest.mark.parametrize("text, fen", [("12", 1200), ("12.5", 1250), ("12.05", 1205), ("-3.05", -305),
                                       ("1,234.50", 123450), ("0.01", 1)])
def test_parse_is_exact(text, fen):
    assert Money.parse(text).fen == fen


@pytest.mark.parametrize("text", ["", "abc", "1.234", "1.2.3", "--1", "1e3", ".5"])
def test_parse_refuses_what_is_not_an_amount(text):
    with pytest.raises(ValueError):
        Money.parse(text)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        Money(12.5)  # type: ignore[arg-type]


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_plain_text_round_trips(fen):
    assert Money.parse(Money(fen).plain()).fen == fen
