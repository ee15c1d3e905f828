"""Per-card MIFARE keys diversified from a master secret and the UID (NXP AN10922 style, HMAC-SHA256 as PRF).

AN10922 derives a card key as CMAC(master, 0x01 || UID || application id || system id). The kiosk keeps
the same structure with HMAC-SHA256 from the standard library as the pseudo-random function:

    key = HMAC-SHA256(master, 0x01 || "EK-MFC1" || sector || key type || UID)[:6]

so every card, sector and key type has its own 48-bit key, a key recovered from one card (Crypto1 is
broken) opens only that card, and the master secret never leaves the kiosk. The MAC key is a separate
site secret; `derive_mac_key` gives one from the master when the site configures only the master.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from kiosk.ports import CardUid, KeyType

TRANSPORT_KEY = b"\xff" * 6  # factory key A and key B of a blank card
MIN_SECRET_BYTES = 16


def _check_secret(secret: bytes, what: str) -> bytes:
    if not isinstance(secret, (bytes, bytearray)) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the {what} must be at least {MIN_SECRET_BYTES} bytes")
    return bytes(secret)


def diversify_key(master: bytes, uid: CardUid, sector: int, key_type: KeyType) -> bytes:
    """The 6-byte MIFARE key of `sector`/`key_type` for the card `uid`."""
    master = _check_secret(master, "card master key")
    if not 0 <= sector < 40:
        raise ValueError("sector out of range")
    msg = b"\x01" + b"EK-MFC1" + bytes([sector, 0x0A if key_type is KeyType.A else 0x0B]) + uid.raw
    key = hmac.new(master, msg, hashlib.sha256).digest()[:6]
    if key == TRANSPORT_KEY:  # astronomically unlikely, but a diversified key must never be the factory key
        key = bytes([key[0] ^ 0x01]) + key[1:]
    return key


def derive_mac_key(master: bytes) -> bytes:
    """A MAC key derived from the master secret, for sites that configure a single card secret."""
    return hmac.new(_check_secret(master, "card master key"), b"\x02EK-MAC1", hashlib.sha256).digest()


@dataclass(frozen=True)
class SectorKeys:
    key_a: bytes  # the reading key: read everything, may only lower the value
    key_b: bytes  # the kiosk's writing key: write, increment, change keys


class CardKeys:
    """Key lookup for one site's master secret."""

    def __init__(self, master: bytes) -> None:
        self._master = _check_secret(master, "card master key")

    def sector(self, uid: CardUid, sector: int) -> SectorKeys:
        return SectorKeys(diversify_key(self._master, uid, sector, KeyType.A),
                          diversify_key(self._master, uid, sector, KeyType.B))
