"""Money end to end: a migrated database (SQLite and PostgreSQL), the ccTalk pty simulator with the real
driver, the sandbox gateway over HTTP with a notification listener, and a small estate."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.gateway.notify_listener import NotificationListener
from devices.gateway.sandbox import SandboxGateway
from devices.sim.cctalk_sim import SimBillValidator
from devices.sim.gateway_sim import SimGateway
from kiosk.payments.cash_collector import CashCollector
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.payments.qr_collector import QrCollector
from kiosk.payments.qr_session import Backoff
from kiosk.persistence.db import unit_of_work
from tests.support import estate

SECRET = "e2e-shared-secret"


@pytest.fixture
def mini(factory):
    with unit_of_work(factory) as s:
        return estate.build(s, households=2, bills_each=3, card_value_fen=50_000)


@pytest.fixture
def cash_sim() -> Iterator[SimBillValidator]:
    with SimBillValidator() as device:
        yield device


@pytest.fixture
def validator(cash_sim: SimBillValidator) -> Iterator[CctalkBillValidator]:
    driver = CctalkBillValidator(cash_sim.path, timeout_s=0.3, retries=1)
    driver.open()
    yield driver
    driver.close()


@pytest.fixture
def cash(validator, factory, mini) -> CashCollector:
    collector = CashCollector(validator, factory, mini.till, poll_interval_s=0.05, consent_timeout_s=5)
    collector.recover()
    return collector


class Screen:
    """Plays the person at the screen: records progress, reacts to stages from another thread."""

    def __init__(self) -> None:
        self.seen: list[PaymentProgress] = []
        self.changed = threading.Condition()
        self.control = PaymentControl(self._on_progress)
        self.actions: list[tuple[Callable[[PaymentProgress], bool], Callable[[PaymentProgress], None]]] = []

    def _on_progress(self, progress: PaymentProgress) -> None:
        with self.changed:
            self.seen.append(progress)
            self.changed.notify_all()
        for when, do in list(self.actions):
            if when(progress):
                self.actions.remove((when, do))
                threading.Thread(target=do, args=(progress,), daemon=True).start()

    def on(self, when: Callable[[PaymentProgress], bool], do: Callable[[PaymentProgress], None]) -> None:
        self.actions.append((when, do))

    def stages(self) -> list[Stage]:
        return [p.stage for p in self.seen]


@pytest.fixture
def screen() -> Screen:
    return Screen()


class Notifications:
    """The listener's handler, pointed at the QR collector once it exists."""

    def __init__(self) -> None:
        self.target: Callable[[bytes, dict[str, str]], object] | None = None

    def __call__(self, body: bytes, headers) -> object:
        assert self.target is not None
        return self.target(body, dict(headers))


@pytest.fixture
def notifications() -> Notifications:
    return Notifications()


@pytest.fixture
def listener(notifications) -> Iterator[NotificationListener]:
    with NotificationListener(notifications) as running:
        yield running


@pytest.fixture
def gateway_sim(listener) -> Iterator[SimGateway]:
    with SimGateway(SECRET, notify_url=listener.url, notify_delay_s=0.2) as sim:
        yield sim


@pytest.fixture
def gateway(gateway_sim) -> SandboxGateway:
    return SandboxGateway(gateway_sim.url, SECRET, timeout_s=1.0)


@pytest.fixture
def qr(gateway, factory, mini, notifications) -> QrCollector:
    collector = QrCollector(gateway, factory, mini.till, timeout_s=5.0, backoff=Backoff(0.1, 1.5, 0.5))
    notifications.target = collector.handle_notification
    return collector


def feed_notes(screen: Screen, cash_sim: SimBillValidator, *yuan: int, start_fen: int = 0) -> None:
    """The person inserts each note once the screen shows the total received so far (after the notice)."""
    total = start_fen
    for note in yuan:
        screen.on(lambda p, at=total: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.can_cancel
                  and p.received_fen == at, lambda _p, note=note: cash_sim.insert_note(note))
        total += note * 100


def pay_code(gateway_sim: SimGateway, notify: str = "once"):
    """The person scans the code on screen and pays (as the screen shows it)."""
    def scan(progress: PaymentProgress) -> None:
        gateway_sim.pay(progress.code_url.rsplit("/", 1)[-1], notify=notify, delay_s=0)
    return scan


def showing_code(progress: PaymentProgress) -> bool:
    return progress.stage is Stage.SCAN_QR and bool(progress.code_url) and progress.can_cancel
