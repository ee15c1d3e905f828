"""Fixtures for card-application tests: a PN532 simulator, a reader, a card, an application."""
from __future__ import annotations

import pytest

from tests.support.pn532 import UID4, UID7, card, reader, sim  # noqa: F401  (fixtures and constants)

MASTER = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
MAC_KEY = bytes(range(32))


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    from kiosk.cards import CardApplication
    return CardApplication(MASTER, MAC_KEY)
