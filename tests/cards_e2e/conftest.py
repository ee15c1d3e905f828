"""The card desk end to end: real PN532 driver <-> SimPn532 (pty) <-> virtual MIFARE cards, the reader's
worker and supervisor, the CardStation, and a real database on SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk.cards import CardApplication, reconcile
from kiosk.cards.layout import CardImage
from kiosk.cards.station import CardStation
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card
from kiosk.runtime.events import EventBus
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.runtime.worker import DeviceWorker
from kiosk.services import cards as card_service
from tests.support import estate

MASTER = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
MAC_KEY = bytes(range(32))


@dataclass
class Desk:
    factory: object
    mini: estate.MiniEstate
    sim: SimPn532
    supervisor: DeviceSupervisor
    app: CardApplication
    station: CardStation
    cards: dict[str, VirtualMifareCard] = field(default_factory=dict)

    def uid(self, n: int = 0) -> str:
        with unit_of_work(self.factory) as s:
            return s.get(Card, self.mini.card_ids[self.mini.household_ids[n]]).uid_hex

    def card_id(self, n: int = 0) -> int:
        return self.mini.card_ids[self.mini.household_ids[n]]

    def present(self, uid: str) -> VirtualMifareCard:
        card = self.cards[uid]
        self.sim.present(card)
        return card

    def read(self, uid: str) -> CardImage:
        """What the card holds now (read with the reading key through the worker)."""
        self.present(uid)

        def job(reader):  # type: ignore[no-untyped-def]
            tag = reader.poll(1.0)
            assert tag is not None and tag.uid.hex == uid
            return self.app.inspect(reader, tag)
        return self.supervisor.submit(job).result(5)

    def issue(self, uid: str, value_fen: int, counter: int = 0) -> VirtualMifareCard:
        card = self.cards.setdefault(uid, VirtualMifareCard(bytes.fromhex(uid)))
        self.sim.present(card)
        with unit_of_work(self.factory) as s:
            facts = card_service.card_facts(s, card_service.card_by_uid(s, uid))

        def job(reader):  # type: ignore[no-untyped-def]
            tag = reader.poll(1.0)
            return self.app.issue(reader, tag, reconcile.card_record(facts), value_fen, counter=counter)
        self.supervisor.submit(job).result(5)
        return card

    def ledger(self, n: int = 0) -> tuple[int, int, int]:
        """(value, counter, open writes) on the ledger."""
        with unit_of_work(self.factory) as s:
            st = card_service.ledger_card_state(s, self.card_id(n))
        return st.value_fen, st.counter, len(st.pending)


class Screen:
    """A PaymentControl that records every stage and can act when one is reported."""

    def __init__(self) -> None:
        self.stages: list[Stage] = []
        self.actions: dict[Stage, list] = {}
        self.control = PaymentControl(self._seen)

    def on(self, stage: Stage, fn) -> None:  # type: ignore[no-untyped-def]
        self.actions.setdefault(stage, []).append(fn)

    def _seen(self, p: PaymentProgress) -> None:
        self.stages.append(p.stage)
        todo = self.actions.get(p.stage, [])
        if todo:
            todo.pop(0)()


@pytest.fixture
def desk(factory) -> Iterator[Desk]:
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=2, bills_each=3)
    sim = SimPn532(pace=False).start()
    bus = EventBus()
    supervisor = DeviceSupervisor(DeviceWorker("reader", Pn532CardReader(sim.path)), bus)
    supervisor.start()
    assert supervisor.wait_available(5)
    app = CardApplication(MASTER, MAC_KEY)
    station = CardStation(supervisor, factory, mini.till, app, bus, language="en", return_wait_s=0.4)
    d = Desk(factory, mini, sim, supervisor, app, station)
    with unit_of_work(factory) as s:
        for card in s.scalars(select(Card)):
            d.cards[card.uid_hex] = VirtualMifareCard(bytes.fromhex(card.uid_hex))
    for uid in list(d.cards):
        d.issue(uid, 50_000)  # what the mini estate's ledger says: 500.00, counter 0
    sim.remove()
    yield d
    supervisor.stop()
    sim.stop()


@pytest.fixture
def screen() -> Screen:
    return Screen()
