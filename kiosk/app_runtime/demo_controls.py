"""DemoControls: what the touch demo panel of `kiosk demo` does to the simulators — cards on the reader,
banknotes into the validator, "scanning" the open QR order, a payment code held to the scanner, the PIN entered.
Calls block briefly; the panel calls them off the UI thread."""
from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

from sqlalchemy import select

from kiosk.domain.terms import CARD_KIND_LABELS, CARD_STATUS_LABELS, CardKind, CardStatus
from kiosk.flows.tool_records import DemoCard
from kiosk.i18n import N_, translate
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, Household, StaffUser

log = logging.getLogger(__name__)
NOTES_YUAN = (1, 5, 10, 20, 50, 100)
STAFF_CARD_LABEL = N_("Staff card {name}")
BLANK_CARD_LABEL = N_("Blank card")
BLANK_CARD_LISTED = N_("Blank card ···{tail}")  # several lie in the list: the end of each one's UID tells them apart
MORE = N_("More")  # the portrait demo bar keeps its rarer actions under this button


def demo_card_label(unit: str, kind: str, status: str, language: str) -> str:
    """A resident's card as the demo bar names it, in the kiosk's language: '1-0101 住户卡', '1-0402 Vehicle IC card
    (Reported lost)' (unit, kind and state in words; never the database's values)."""
    words = f"{unit} {translate(CARD_KIND_LABELS[CardKind(kind)], language)}"
    if status == CardStatus.ACTIVE:
        return words
    return f"{words} ({translate(CARD_STATUS_LABELS[CardStatus(status)], language)})"


class DemoControls:
    """Wraps DemoSimulators (after provision_demo_cards filled `sims.cards`) and the runtime's database."""

    def __init__(self, sims: Any, rt: Any) -> None:
        self.sims = sims
        self.rt = rt
        self._lock = threading.Lock()
        self.notes_yuan = NOTES_YUAN

    @property
    def _cards(self) -> dict[str, Any]:
        cards = getattr(self.sims, "cards", None)
        if cards is None:
            cards = self.sims.cards = {}
        return cards

    def cards(self, language: str = "en") -> tuple[DemoCard, ...]:
        """Every simulated card in a stable order: residents' cards ("<unit> <kind>", with the state when it is not
        in use, in `language`), then staff cards ("Staff card <name>"), then blank cards."""
        labels: dict[str, tuple[int, str]] = {}
        with unit_of_work(self.rt.db.factory) as s:
            for uid, kind, status, unit in s.execute(select(Card.uid_hex, Card.kind, Card.status, Household.unit_no)
                                                     .join(Household, Card.household_id == Household.id)):
                labels[uid] = (0, demo_card_label(unit, kind, status, language))
            for uid, name in s.execute(select(StaffUser.card_uid_hex, StaffUser.name)
                                       .where(StaffUser.card_uid_hex.is_not(None))):
                if uid:
                    labels[uid] = (1, translate(STAFF_CARD_LABEL, language, name=name))
        def blank(uid: str) -> tuple[int, str]:
            return 2, translate(BLANK_CARD_LISTED, language, tail=uid[-4:])
        ordered = sorted(((labels.get(uid) or blank(uid), uid) for uid in self._cards),
                         key=lambda item: (item[0], item[1]))
        return tuple(DemoCard(uid, label) for (_group, label), uid in ordered)

    def present(self, uid: str) -> None:
        """Place the card on the simulated reader (taking off whatever lay there)."""
        card = self._cards.get(uid.upper())
        if card is None:
            raise KeyError(uid)
        with self._lock:
            self.sims.reader.remove()
            self.sims.reader.present(card)

    def remove(self) -> None:
        with self._lock:
            self.sims.reader.remove()

    def on_reader(self) -> str:
        card = self.sims.reader.card
        return card.uid.hex().upper() if card is not None else ""

    def new_blank_card(self) -> DemoCard:
        """A factory-fresh card (for replacing a lost one), kept with the others."""
        from devices.sim.mifare_card import VirtualMifareCard

        while True:
            uid = "B" + secrets.token_hex(4).upper()[1:]
            if uid not in self._cards:
                break
        self._cards[uid] = VirtualMifareCard(bytes.fromhex(uid))
        return DemoCard(uid, BLANK_CARD_LABEL)

    def insert_note(self, yuan: int) -> str:
        """One banknote into the validator; returns what it did ("stacked", "escrow", "rejected" ...)."""
        return str(self.sims.cash.insert_note(int(yuan)))

    @property
    def printer_state(self) -> str:
        return str(self.sims.printer.state)

    def set_printer(self, state: str) -> str:
        """Printer faults for showing the check before money: "ok", "near_end", "out", "cover_open", "offline"."""
        self.sims.printer.set_state(state)
        return state

    def open_qr_orders(self) -> tuple[str, ...]:
        """The out_trade_no of every code on show and not paid yet (either network), oldest first."""
        from kiosk.app_runtime.demo_gateways import open_qr_orders

        return tuple(no for _created, _network, no in open_qr_orders(self.sims))

    def pay_open_qr(self) -> bool:
        """"Scan" the newest open QR code with a phone: that network's simulator marks it paid and notifies."""
        from kiosk.app_runtime.demo_gateways import pay_newest_qr

        return bool(pay_newest_qr(self.sims))

    def show_payment_code(self, network: str, pin: bool = False) -> str:
        """Hold a fresh WeChat or Alipay payment code to the simulated scanner ("wechat" / "alipay"); `pin`: the
        phone then waits for its PIN until confirm_pin(). Returns the code masked (13**************89)."""
        from kiosk.app_runtime.demo_gateways import show_payment_code

        with self._lock:
            return show_payment_code(self.sims, network, pin)

    def confirm_pin(self) -> bool:
        """Enter the PIN on the phone: a payment-code order waiting for it is paid (False: none waits)."""
        from kiosk.app_runtime.demo_gateways import confirm_pin

        return confirm_pin(self.sims)
