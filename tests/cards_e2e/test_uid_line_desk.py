"""A site with an identification-only reader (UID lines on a pty): taps are checked on the ledger's status
alone, and card payments and top-up writes are refused with the reader's reason."""
from __future__ import annotations

import os
import tty

import pytest

from devices.card_reader.uid_line_reader import UidLineCardReader
from kiosk.cards import CardApplication
from kiosk.cards.station import CardStation
from kiosk.errors import CardBlocked, CardWriteUnsupported
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card
from kiosk.runtime.events import EventBus
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.runtime.worker import DeviceWorker
from kiosk.services import cards
from tests.cards_e2e.conftest import MAC_KEY, MASTER
from tests.support import estate


@pytest.fixture
def line_desk(factory):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    master, slave = os.openpty()
    tty.setraw(slave)
    sup = DeviceSupervisor(DeviceWorker("reader", UidLineCardReader(os.ttyname(slave), hold_s=0.3)), EventBus())
    sup.start()
    assert sup.wait_available(5)
    yield mini, CardStation(sup, factory, mini.till, CardApplication(MASTER, MAC_KEY), return_wait_s=0.2)
    sup.stop()
    os.close(master)
    os.close(slave)


def test_identification_only_reader_checks_status_and_refuses_writes(factory, line_desk):
    mini, station = line_desk
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        uid = s.get(Card, mini.card_ids[hh]).uid_hex
    station.check_tap(uid)  # nothing to read on the card: the ledger's status decides
    with pytest.raises(CardWriteUnsupported):
        station.spend_mover(uid, PaymentControl())(None)
    with unit_of_work(factory) as s:
        cards.report_loss(s, mini.till, household_id=hh, card_id=mini.card_ids[hh], language="en")
    with pytest.raises(CardBlocked):
        station.check_tap(uid)
