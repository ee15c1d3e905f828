"""Fixtures for driver tests: a PN532 simulator on a pty, an open reader, a card."""
from tests.support.pn532 import UID4, UID7, card, reader, sim  # noqa: F401  (fixtures and constants)
