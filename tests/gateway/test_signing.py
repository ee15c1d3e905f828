"""HMAC-SHA256 notification signatures: good ones pass, anything altered or stale fails."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.gateway import signing

NOW = 1_800_000_000.0


def test_signature_is_hmac_sha256_over_timestamp_nonce_body() -> None:
    # printf '1800000000\nabc\n{}' | openssl dgst -sha256 -hmac k
    assert signing.signature("k", "1800000000", "abc", b"{}") == (
        "14b1b564e809e76a0df432619672456483d3e8b7e8734829f8c1af2e64671b11")


def test_signed_headers_verify() -> None:
    headers = signing.sign_headers("secret", b'{"a":1}', NOW)
    signing.verify("secret", b'{"a":1}', headers, NOW + 10, 300)


def test_header_names_are_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in signing.sign_headers("secret", b"x", NOW).items()}
    signing.verify("secret", b"x", headers, NOW, 300)


@pytest.mark.parametrize("tamper", ["body", "secret", "timestamp", "nonce", "missing"])
def test_any_alteration_fails(tamper: str) -> None:
    body = b'{"order_id":"A","state":"paid","amount_fen":100}'
    headers = signing.sign_headers("secret", body, NOW)
    secret = "secret"
    if tamper == "body":
        body = body.replace(b"100", b"900")
    elif tamper == "secret":
        secret = "guess"
    elif tamper == "timestamp":
        headers[signing.TIMESTAMP] = str(int(NOW) + 1)
    elif tamper == "nonce":
        headers[signing.NONCE] = "00"
    else:
        del headers[signing.SIGNATURE]
    with pytest.raises(signing.SignatureMismatch):
        signing.verify(secret, body, headers, NOW, 300)


def test_stale_timestamp_fails() -> None:
    headers = signing.sign_headers("secret", b"x", NOW - 301)
    with pytest.raises(signing.SignatureMismatch, match="away from now"):
        signing.verify("secret", b"x", headers, NOW, 300)


@given(st.binary(max_size=200), st.dictionaries(st.text(max_size=30), st.text(max_size=80), max_size=5))
def test_verify_only_ever_raises_signature_mismatch(body: bytes, headers: dict[str, str]) -> None:
    try:
        signing.verify("secret", body, headers, NOW, 300)
    except signing.SignatureMismatch:
        return
    pytest.fail("random headers verified")
