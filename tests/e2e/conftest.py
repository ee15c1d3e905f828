"""Fixtures for e2e tests: a display (Xvfb or $DISPLAY) shared by the module, a fresh kiosk per test."""
from __future__ import annotations

import shutil

import pytest

from tests.e2e.harness import KioskProcess, Xvfb


@pytest.fixture(scope="session")
def display():
    if shutil.which("xdotool") is None or (shutil.which("Xvfb") is None):
        pytest.skip("needs Xvfb and xdotool (scripts/setup --test)")
    with Xvfb() as x:
        yield x.display


@pytest.fixture
def kiosk(display):
    with KioskProcess(display) as app:
        yield app
