"""Fixtures for Kivy-free flow tests: fake services, a session, a navigator on an inline runner."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.fakes.services import FakeKioskServices
from kiosk.flows.navigator import Navigator
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session

NOW = datetime(2026, 11, 2, 10, 30)  # a Monday morning


@pytest.fixture
def fake() -> FakeKioskServices:
    return FakeKioskServices(now=NOW)


@pytest.fixture
def runner() -> InlineRunner:
    return InlineRunner()


@pytest.fixture
def nav(fake: FakeKioskServices, runner: InlineRunner) -> Navigator:
    navigator = Navigator(fake, Session(), runner, clock=lambda: NOW)
    navigator.go("attract")
    return navigator


@pytest.fixture
def signed_in(nav: Navigator) -> Navigator:
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household"
    return nav


def deferred_journey(fake: FakeKioskServices, route: str) -> tuple[Navigator, InlineRunner]:
    """A card-signed-in navigator on `route` whose service calls wait until the test runs them,
    so a test can let a call time out (`runner.expire_pending()`)."""
    runner = InlineRunner(defer=True)
    nav = Navigator(fake, Session(), runner, clock=lambda: NOW)
    nav.go("attract")
    runner.run_pending()
    nav.flow.card_tapped("A1B2C3D4")
    runner.run_pending()
    runner.run_pending()
    nav.go(route)
    runner.run_pending()
    return nav, runner
