"""Key diversification: per card, per sector, per key type; never the factory key; secrets must be long enough."""
from __future__ import annotations

import pytest

from kiosk.cards.keys import TRANSPORT_KEY, CardKeys, derive_mac_key, diversify_key
from kiosk.ports import CardUid, KeyType

MASTER = bytes(range(16))


def test_keys_differ_by_card_sector_and_type() -> None:
    a = CardUid.from_hex("04A1B2C3")
    b = CardUid.from_hex("04A1B2C4")
    keys = {diversify_key(MASTER, uid, s, t) for uid in (a, b) for s in (1, 2) for t in KeyType}
    assert len(keys) == 8
    assert all(len(k) == 6 and k != TRANSPORT_KEY for k in keys)


def test_diversification_is_deterministic_and_depends_on_the_master() -> None:
    uid = CardUid.from_hex("04112233445566")
    assert diversify_key(MASTER, uid, 1, KeyType.A) == diversify_key(MASTER, uid, 1, KeyType.A)
    assert diversify_key(MASTER, uid, 1, KeyType.A) != diversify_key(bytes(16), uid, 1, KeyType.A)


def test_known_answer() -> None:
    # Pinned so that a change to the derivation (which would lock every issued card out) fails loudly.
    uid = CardUid.from_hex("04A1B2C3")
    import hashlib
    import hmac
    msg = b"\x01EK-MFC1" + bytes([1, 0x0B]) + uid.raw
    assert diversify_key(MASTER, uid, 1, KeyType.B) == hmac.new(MASTER, msg, hashlib.sha256).digest()[:6]


def test_short_master_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        CardKeys(b"short")
    with pytest.raises(ValueError):
        derive_mac_key(b"short")


def test_sector_keys_pair() -> None:
    keys = CardKeys(MASTER).sector(CardUid.from_hex("04A1B2C3"), 1)
    assert keys.key_a != keys.key_b


def test_card_application_refuses_short_secrets() -> None:
    from kiosk.cards import CardApplication
    with pytest.raises(ValueError):
        CardApplication(MASTER, b"short")
    with pytest.raises(ValueError):
        CardApplication(b"short")
    assert CardApplication(MASTER).mac_key == derive_mac_key(MASTER)
