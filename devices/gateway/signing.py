"""HMAC-SHA256 signatures over timestamp, nonce and body, shared by the gateway client and its sandbox.

The signed text is ``timestamp + "\\n" + nonce + "\\n" + body`` and the signature is its
lowercase hex HMAC-SHA256 under the shared secret. Headers: X-Gateway-Timestamp (Unix seconds),
X-Gateway-Nonce, X-Gateway-Signature. Pure functions; the clock is passed in.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

TIMESTAMP = "X-Gateway-Timestamp"
NONCE = "X-Gateway-Nonce"
SIGNATURE = "X-Gateway-Signature"


class SignatureMismatch(ValueError):
    """Missing headers, a stale timestamp or a signature that does not match."""


def as_key(secret: bytes | str) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("the gateway secret must not be empty")
    return key


def signature(secret: bytes | str, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode("ascii") + b"\n" + nonce.encode("ascii") + b"\n" + body
    return hmac.new(as_key(secret), message, hashlib.sha256).hexdigest()


def sign_headers(secret: bytes | str, body: bytes, now: float) -> dict[str, str]:
    """Headers to send with `body`."""
    timestamp = str(int(now))
    nonce = secrets.token_hex(8)
    return {TIMESTAMP: timestamp, NONCE: nonce, SIGNATURE: signature(secret, timestamp, nonce, body)}


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    raise SignatureMismatch(f"missing header {name}")


def verify(secret: bytes | str, body: bytes, headers: Mapping[str, str], now: float, max_skew_s: float) -> None:
    """Raise SignatureMismatch unless `headers` sign `body` with `secret` within `max_skew_s` of `now`."""
    timestamp = _header(headers, TIMESTAMP)
    nonce = _header(headers, NONCE)
    given = _header(headers, SIGNATURE)
    try:
        sent_at = int(timestamp)
        expected = signature(secret, timestamp, nonce, body)
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureMismatch(f"malformed signature headers: {exc}") from exc
    if not hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8", "replace")):
        raise SignatureMismatch("signature does not match")
    if abs(now - sent_at) > max_skew_s:
        raise SignatureMismatch(f"timestamp {sent_at} is more than {max_skew_s:.0f} s away from now")
