"""Kiosks paying through a primary's failover (tests/fleet/test_failover.py, bench/failover.py).

Each kiosk is a thread with an engine of its own (make_engine, as the runtime makes it: a dead BEGIN retried, the
keepalives) on the cluster's multi-host URL, its own chain and till, paying bills (card balance, one banknote,
QR) and topping up cards through the services the runtime's facade runs (tests/support/money_uses.py), back to
back. A call that fails for anything but a business answer is asked again **with the same idempotency key**
until it has an answer, as a kiosk's "Check again" does: it either completes once or is answered with what the
database recorded (a failure: no effect). Nothing restarts the engine: it reconnects by itself.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from kiosk.domain.terms import CardStatus, PaymentStatus
from kiosk.errors import KioskError
from kiosk.persistence.chain import ChainBinding, keep_head_in_memory
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Bill, Card
from kiosk.services import payments
from kiosk.services.receipts import Till
from tests.support import money_uses

# business answers, not faults: a bill another kiosk paid first, a card replaced meanwhile ... (bench/fleet.py)
BUSINESS = {"E3001", "E3003", "E3008", "E3011", "E4003", "E4004"}
MIX = (("pay_by_card", 3), ("pay_by_cash", 3), ("pay_by_qr", 2), ("top_up_by_cash", 2))


def _kiosk_frame(exc: BaseException) -> str:
    """Where in the kiosk's code a raw (non-KioskError) exception came out: the deepest frame under kiosk/."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/kiosk/" in f.filename]
    return f"{frames[-1].filename.rsplit('/kiosk/', 1)[1]}:{frames[-1].name}" if frames else "?"


@dataclass
class Op:
    kiosk: str
    name: str
    key: str
    started: float  # time.monotonic()
    ended: float
    outcome: str  # "ok", a business code, "failed:<code>" (recorded failure: no effect), "unresolved"
    faults: list[str] = field(default_factory=list)  # what the attempts before the answer met


class KioskLoad(threading.Thread):
    def __init__(self, url: str, audit_key: bytes, *, code: str, kiosk_id: int, site_id: int,
                 site_names: dict[str, str], households: list[int], seed: int, stop: threading.Event,
                 card_households: list[int] | None = None, give_up_s: float = 30.0) -> None:
        super().__init__(name=f"kiosk-{code}", daemon=True)
        self.engine = make_engine(url, lock_timeout_s=10, statement_timeout_s=30)
        self.factory = make_session_factory(self.engine, chain=ChainBinding(audit_key, code))
        keep_head_in_memory(self.engine, code)  # as the app does: its chain's head kept in memory
        self.till = Till(site_id, kiosk_id, code, site_names)
        self.code = code
        self.households = households
        # a card is in one kiosk's reader at a time: card payments and top-ups use this kiosk's own households'
        # cards (two kiosks writing one card at once is not a thing that happens, and its pending write would
        # race the other's), bills by banknote and QR any household's
        self.card_households = card_households or households
        self.rng = random.Random(seed)
        self.stop = stop
        self.give_up_s = give_up_s
        self.ops: list[Op] = []
        self.read_faults = 0  # the untimed reads before a payment (what a screen shows first) that failed
        self._notes = iter(range(1, 10**9))

    # what the screens read first (untimed, may fail while the database is gone: the kiosk just tries later)
    def _card(self, hh: int) -> tuple[int, str] | None:
        with unit_of_work(self.factory) as s:
            row = s.execute(select(Card.id, Card.uid_hex).where(Card.household_id == hh,
                                                               Card.status == str(CardStatus.ACTIVE))).first()
            return (row.id, row.uid_hex) if row else None

    def _bill(self, hh: int) -> int | None:
        with unit_of_work(self.factory) as s:
            ids = list(s.scalars(select(Bill.id).where(Bill.household_id == hh, Bill.status == "open")
                                 .order_by(Bill.due_date).limit(4)))
            return self.rng.choice(ids) if ids else None

    def _call(self, name: str, key: str) -> Callable[[], Any] | None:
        hh = self.rng.choice(self.card_households if name in ("top_up_by_cash", "pay_by_card") else self.households)
        counter = lambda: next(self._notes)  # noqa: E731 - the validator's counter
        if name == "top_up_by_cash":
            card = self._card(hh)
            return card and (lambda: money_uses.top_up(self.factory, self.till, key=key, card_uid=card[1],
                                                       amount_fen=5_000, counter=counter))
        bill = self._bill(hh)
        card = self._card(hh) if name == "pay_by_card" else None
        if bill is None or (name == "pay_by_card" and card is None):
            return None
        how = name.removeprefix("pay_by_")
        return lambda: money_uses.pay_bill(self.factory, self.till, key=key, household_id=hh, bill_id=bill, how=how,
                                           card_id=card[0] if card else None, counter=counter,
                                           on_reader=card[1] if card else None)

    def _recorded_failure(self, key: str) -> bool:
        """The database answers and holds this key as a failed payment (its answer, not a fault of now)."""
        try:
            with unit_of_work(self.factory) as s:
                p = payments.find_by_key(s, key)
                return p is not None and p.status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED)
        except Exception:  # noqa: BLE001 - still gone
            return False

    def settle(self, name: str, key: str, call: Callable[[], Any]) -> Op:
        op = Op(self.code, name, key, time.monotonic(), 0.0, "unresolved")
        while True:
            try:
                call()
                op.outcome = "ok"
                break
            except KioskError as exc:
                if exc.code in BUSINESS:
                    op.outcome = exc.code
                    break
                op.faults.append(exc.code)
                if self._recorded_failure(key):
                    op.outcome = f"failed:{exc.code}"
                    break
            except Exception as exc:  # noqa: BLE001 - a raw driver error would be a finding of its own
                op.faults.append(f"{type(exc).__name__} from {_kiosk_frame(exc)}")
            if time.monotonic() - op.started > self.give_up_s:
                break
            time.sleep(0.1)
        op.ended = time.monotonic()
        return op

    def run(self) -> None:
        names = [n for n, _w in MIX]
        weights = [w for _n, w in MIX]
        n = 0
        while not self.stop.is_set():
            n += 1
            name = self.rng.choices(names, weights)[0]
            key = f"{self.code}-{n}"
            try:
                call = self._call(name, key)
            except Exception:  # noqa: BLE001 - the database is gone: a screen would show out of service
                self.read_faults += 1
                time.sleep(0.1)
                continue
            if call is not None:
                self.ops.append(self.settle(name, key, call))
        self.engine.dispose()
