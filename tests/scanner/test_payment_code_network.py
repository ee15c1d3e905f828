"""The payment code's network follows the providers' published prefixes and lengths, and nothing else."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.payment_code import Network, masked, network_of, problem

DIGITS = st.text(alphabet="0123456789", min_size=0, max_size=30)


@given(st.sampled_from(["10", "11", "12", "13", "14", "15"]), st.text("0123456789", min_size=16, max_size=16))
def test_eighteen_digits_starting_10_to_15_are_wechat(prefix: str, rest: str) -> None:
    assert network_of(prefix + rest) is Network.WECHAT
    assert problem(prefix + rest) == ""


@given(st.sampled_from(["25", "26", "27", "28", "29", "30"]), st.integers(14, 22), st.data())
def test_sixteen_to_twenty_four_digits_starting_25_to_30_are_alipay(prefix: str, rest_len: int,
                                                                    data: st.DataObject) -> None:
    code = prefix + data.draw(st.text("0123456789", min_size=rest_len, max_size=rest_len))
    assert network_of(code) is Network.ALIPAY


@given(DIGITS)
def test_any_digit_string_is_classified_exactly_by_the_published_rule(code: str) -> None:
    expected = None
    if len(code) == 18 and code[:2] in {"10", "11", "12", "13", "14", "15"}:
        expected = Network.WECHAT
    elif 16 <= len(code) <= 24 and code[:2] in {"25", "26", "27", "28", "29", "30"}:
        expected = Network.ALIPAY
    assert network_of(code) is expected
    assert (problem(code) == "") == (expected is not None)


@given(st.text(min_size=1, max_size=30).filter(lambda s: any(not ("0" <= c <= "9") for c in s)))
def test_anything_with_a_non_ascii_digit_is_no_payment_code(code: str) -> None:
    assert network_of(code) is None
    assert problem(code)


def test_unicode_digits_are_not_taken_for_ascii_ones() -> None:
    assert network_of("13" + "٣" * 16) is None  # Arabic-Indic three passes str.isdigit()


def test_a_wechat_prefix_with_an_alipay_length_is_refused_with_the_reason() -> None:
    assert network_of("1" + "3" * 19) is None
    assert "18 digits" in problem("1" + "3" * 19)
    assert "neither" in problem("9" * 18)


@given(DIGITS)
def test_a_masked_code_never_shows_more_than_four_of_its_digits(code: str) -> None:
    shown = masked(code)
    assert len(shown) == len(code)
    assert sum(ch != "*" for ch in shown) <= 4
