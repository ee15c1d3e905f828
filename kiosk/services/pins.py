"""PIN hashing with a slow salted KDF (scrypt) and the shared 5-wrong-then-15-minutes lock-out rule."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain.site_clock import wall_text
from kiosk.errors import AccountLocked, InvalidEntry, WrongPin

MAX_ATTEMPTS = 5
LOCK_FOR = timedelta(minutes=15)
# scrypt cost: ~16 MiB and a few tens of milliseconds per check on the kiosk's CPU.
_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    """'scrypt$N$r$p$salt$digest' with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash; an empty or unknown format never matches."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p),
                            dklen=len(digest_hex) // 2)
    return hmac.compare_digest(digest.hex(), digest_hex)


def check_pin_format(pin: str, min_digits: int) -> None:
    if not pin.isascii() or not pin.isdigit() or len(pin) < min_digits or len(pin) > 12:
        raise InvalidEntry(f"PIN must be {min_digits}-12 digits", field="PIN")


@dataclass(frozen=True)
class Attempt:
    """What one PIN check decided; the caller stores the new counters, then raises `error` if any."""

    ok: bool
    failed: int
    locked_until: datetime | None
    error: WrongPin | AccountLocked | None
    just_locked: bool = False


def attempt(pin: str, stored: str, failed: int, locked_until: datetime | None, now: datetime) -> Attempt:
    """Apply the lock-out rule: a locked account is refused without checking the PIN; a lock that
    has run out starts a fresh count; the fifth wrong PIN in a row locks for 15 minutes."""
    if locked_until is not None and now < locked_until:
        return Attempt(False, failed, locked_until, AccountLocked(until=_hhmm(locked_until), until_at=locked_until))
    if locked_until is not None:
        failed, locked_until = 0, None
    if verify_pin(pin, stored):
        return Attempt(True, 0, None, None)
    failed += 1
    if failed >= MAX_ATTEMPTS:
        until = now + LOCK_FOR
        return Attempt(False, failed, until, AccountLocked(until=_hhmm(until), until_at=until), just_locked=True)
    return Attempt(False, failed, None, WrongPin(remaining=MAX_ATTEMPTS - failed))


def _hhmm(moment: datetime) -> str:
    return wall_text(moment, "%H:%M")  # the site's wall clock, as the person at the kiosk reads it
