"""The simulator's order checks on their own: the arithmetic and flags a real provider insists on."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.sim.tax_sim_checks import Refusal, check_line, name_problem
from devices.tax import nuonuo_protocol as wire
from tests.invoicing.conftest import LEAN

TAXED_RATES = (10, 15, 30, 50, 60, 90, 130)


def row(included: int, excluded: int, tax: int, rate: int = 60, **extra: str) -> dict[str, str]:
    return {"goodsName": "物业管理服务", "goodsCode": "3040502020200000000", "withTaxFlag": "1",
            "taxRate": wire.rate_text(rate), "taxIncludedAmount": wire.yuan(included),
            "taxExcludedAmount": wire.yuan(excluded), "tax": wire.yuan(tax), "num": "1",
            "price": wire.yuan(included), **extra}


@LEAN
@given(st.integers(min_value=1, max_value=10**11), st.sampled_from(TAXED_RATES))
def test_a_half_up_split_of_any_amount_at_any_rate_is_accepted(included: int, rate: int) -> None:
    excluded = (2 * included * 1000 + (1000 + rate)) // (2 * (1000 + rate))
    line = check_line(row(included, excluded, included - excluded, rate), 1)
    assert (line.included_fen, line.excluded_fen, line.tax_fen) == (included, excluded, included - excluded)


@LEAN
@given(st.integers(min_value=100, max_value=10**9), st.sampled_from(TAXED_RATES), st.integers(min_value=7, max_value=500))
def test_tax_further_than_six_fen_from_excluded_times_rate_is_refused(excluded: int, rate: int, off: int) -> None:
    exact = excluded * rate // 1000
    tax = exact + off + 1  # at least 7 fen above excluded x rate, whatever the rounding
    with pytest.raises(Refusal) as refused:
        check_line(row(excluded + tax, excluded, tax, rate), 1)
    assert refused.value.code == wire.BAD_TAX_ARITHMETIC


def test_parts_that_do_not_add_up_are_refused_even_within_tolerance() -> None:
    with pytest.raises(Refusal, match="≠"):
        check_line(row(10601, 10000, 600), 1)


def test_a_red_line_is_negative_and_a_blue_line_positive() -> None:
    assert check_line(row(-10600, -10000, -600, num="-1", price="106"), 1, red=True).included_fen == -10600
    with pytest.raises(Refusal, match="符号"):
        check_line(row(-10600, -10000, -600), 1)
    with pytest.raises(Refusal, match="符号"):
        check_line(row(10600, 10000, 600), 1, red=True)


def test_unit_price_times_quantity_must_match_the_amount() -> None:
    assert check_line(row(10600, 10000, 600, num="3", price="35.33333333"), 1).quantity == 3
    with pytest.raises(Refusal, match="单价"):
        check_line(row(10600, 10000, 600, num="3", price="35"), 1)


@pytest.mark.parametrize("changes, words", [
    ({"goodsCode": "304050202020000000"}, "19位"),
    ({"taxRate": "0.07"}, "税率表"),
    ({"taxRate": "0.06", "favouredPolicyFlag": "04"}, "税率必须为0"),
    ({"taxRate": "0.06", "favouredPolicyFlag": "01"}, "征收率"),
    ({"taxIncludedAmount": "106.001"}, "两位小数"),
    ({"goodsName": ""}, "goodsName"),
])
def test_malformed_lines_are_refused_naming_the_problem(changes: dict[str, str], words: str) -> None:
    with pytest.raises(Refusal, match=words):
        check_line({**row(10600, 10000, 600), **changes}, 1)


def test_names_allow_chinese_titles_with_brackets_and_refuse_markup_and_emoji() -> None:
    assert name_problem("阿里巴巴（中国）有限公司") == ""
    assert name_problem("ACME Trading (Shanghai) Co., Ltd.") == ""
    assert name_problem("某公司<b>") and name_problem("某公司\n") and name_problem("某公司🏢")
