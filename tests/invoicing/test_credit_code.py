"""GB 32100 unified social credit codes: published codes pass, any one-character change is caught."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain import credit_code
from tests.invoicing.conftest import LEAN

# Codes as published on business licences and in public registries (the first is the standard's example).
PUBLISHED = [
    "91350100M000100Y43",  # GB 32100-2015 worked example
    "914403001922038216",  # Huawei Technologies Co., Ltd.
    "9144030071526726XG",  # Shenzhen Tencent Computer Systems Co., Ltd.
    "91330100716105852F",  # Alibaba (China) Co., Ltd.
    "91110108551385082Q",  # Beijing Xiaomi Technology Co., Ltd.
    "91440300358768292H",
    "91440300MA5G9GK78Y",
]

_chars = st.text(alphabet=credit_code.ALPHABET, min_size=2, max_size=2)
first17 = st.builds(lambda head, division, organisation: head + division + organisation,
                    _chars, st.text(alphabet="0123456789", min_size=6, max_size=6),
                    st.text(alphabet=credit_code.ALPHABET, min_size=9, max_size=9))


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert credit_code.problem(code) == ""
    assert credit_code.is_valid(code)


@pytest.mark.parametrize("code", PUBLISHED)
def test_a_wrong_check_character_is_named(code: str) -> None:
    wrong = next(ch for ch in credit_code.ALPHABET if ch != code[-1])
    assert "check character" in credit_code.problem(code[:-1] + wrong)


def test_shape_errors_say_what_is_wrong() -> None:
    assert "18 characters" in credit_code.problem("91350100M000100Y4")
    assert "'I'" in credit_code.problem("91350100M000100I43")  # I, O, Z, S, V are not in the alphabet
    assert "digits" in credit_code.problem("9135A100M000100Y43")
    assert credit_code.normalize(" 91350100m000100y43 ") == "91350100M000100Y43"


@LEAN
@given(first17)
def test_the_computed_check_character_completes_a_valid_code(body: str) -> None:
    code = body + credit_code.check_character(body)
    assert credit_code.is_valid(code)


@LEAN
@given(first17, st.integers(min_value=0, max_value=17), st.sampled_from(credit_code.ALPHABET))
def test_any_single_character_change_is_caught(body: str, position: int, replacement: str) -> None:
    code = body + credit_code.check_character(body)
    changed = code[:position] + replacement + code[position + 1:]
    if changed != code and changed[2:8].isdigit():
        assert not credit_code.is_valid(changed)


@LEAN
@given(first17, st.integers(min_value=0, max_value=16))
def test_swapping_neighbours_is_caught_when_they_differ(body: str, position: int) -> None:
    code = body + credit_code.check_character(body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    if swapped != code and swapped[2:8].isdigit():
        assert not credit_code.is_valid(swapped)
