"""The tax table: a row for every fee kind, each well formed, or invoicing refuses with one translated line;
the per-line arithmetic is exact in fen and within the bureau's ±0.06 yuan."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.tax import KNOWN_RATES, parse_rate, split_tax, within_tolerance
from kiosk.errors import TaxTableBadRow, TaxTableMissingRow
from kiosk.invoices.tax_table import FEE_KINDS, check_table, parse_row
from kiosk.ports import TaxPolicy

GOOD = {"goods_name": "物业管理服务", "tax_code": "3040502020200000000", "rate": "0.06"}


def test_the_example_table_covers_every_fee_kind_the_kiosk_charges(table):
    assert set(table.rows) == set(FEE_KINDS)
    assert table.row("management").rate_permille == 60 and table.row("electricity").rate_permille == 130
    assert table.row("top_up").policy is TaxPolicy.NOT_TAXABLE and table.row("top_up").rate == 0
    assert table.row("parking").policy is TaxPolicy.SIMPLIFIED and table.row("parking").rate_permille == 50


def test_a_missing_row_refuses_invoicing_naming_the_kind_in_every_language(table):
    raw = {kind: {"goods_name": r.goods_name, "tax_code": r.tax_code, "rate": str(r.rate), "policy": str(r.policy)}
           for kind, r in table.rows.items() if kind != "water"}
    with pytest.raises(TaxTableMissingRow) as err:
        check_table(raw)
    assert "water" in err.value.user_message("en") and "水" not in err.value.user_message("en")
    assert "water" in err.value.user_message("zh_Hans") and "税" in err.value.user_message("zh_Hans")
    assert "\n" not in str(err.value) and err.value.code == "E9101"


@pytest.mark.parametrize("change, words", [
    ({"tax_code": "30405020202"}, "19-digit"),
    ({"tax_code": 3040502020200000000}, "19-digit"),
    ({"rate": 0.06}, "rate must be text"),
    ({"rate": "6%"}, "rate must be text"),
    ({"rate": "0.07"}, "rate must be text"),
    ({"goods_name": ""}, "goods_name"),
    ({"policy": "cheap"}, "policy must be one of"),
    ({"policy": "not_taxable"}, 'needs the rate "0"'),
    ({"rate": "0"}, "needs the policy not_taxable or exempt"),
    ({"policy": "simplified"}, "simplified levy"),
    ({"invoiceable": "yes"}, "invoiceable must be true or false"),
    ({"colour": "red"}, "unknown key colour"),
])
def test_a_malformed_row_refuses_invoicing_with_one_line_saying_what_is_wrong(change, words):
    with pytest.raises(TaxTableBadRow) as err:
        parse_row("management", {**GOOD, **change})
    line = str(err.value)
    assert words in line and "management" in line and "\n" not in line
    assert err.value.user_message("zh_Hant") != err.value.user_message("en")


def test_a_row_without_a_required_key_is_refused():
    with pytest.raises(TaxTableBadRow, match="rate is missing"):
        parse_row("water", {"goods_name": "水费", "tax_code": "1100301010000000000"})


@pytest.mark.parametrize("included, rate, excluded, tax", [
    (10_000, "0.06", 9_434, 566),   # 100.00 management fee: 94.34 + 5.66
    (10_600, "0.06", 10_000, 600),
    (12_345, "0.09", 11_326, 1_019),
    (10_000, "0.13", 8_850, 1_150),
    (1, "0.13", 1, 0),
    (53, "0.015", 52, 1),
    (10_000, "0", 10_000, 0),
])
def test_line_amounts_follow_the_documented_rounding(included, rate, excluded, tax):
    line = split_tax(included, parse_rate(rate))
    assert (line.excluded_fen, line.tax_fen) == (excluded, tax)


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from(KNOWN_RATES))
def test_every_line_adds_up_exactly_and_stays_within_the_tolerance(included, rate):
    line = split_tax(included, rate)
    assert line.excluded_fen + line.tax_fen == included
    assert within_tolerance(line, rate) and within_tolerance(line.negated(), rate)
    # the rounding is to the nearest fen: |E x (1 + r) - A| <= (1 + r) / 2
    assert abs(line.excluded_fen * (1 + rate) - included) <= (1 + rate) / 2


def test_rates_are_never_floats():
    with pytest.raises(ValueError):
        parse_rate(0.06)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        split_tax(100.0, Decimal("0.06"))  # type: ignore[arg-type]
