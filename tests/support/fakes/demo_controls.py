"""The demo bar's controls (kiosk.app_runtime.demo_controls.DemoControls) on the fake services: what the layout
audit needs to show the `kiosk demo` bar and its card list on the fake-services window. A card "laid on the
reader" is a card tap for the app; notes and QR scans do nothing (the fake pays at once)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kiosk.app_runtime.demo_controls import demo_card_label
from kiosk.flows.tool_records import DemoCard
from kiosk.i18n import translate

NOTES_YUAN = (1, 5, 10, 20, 50, 100)


class FakeDemoControls:
    notes_yuan = NOTES_YUAN

    def __init__(self, services: Any, bridge: Any) -> None:
        self.services, self.bridge = services, bridge
        self.blank = 0

    def cards(self, language: str = "en") -> tuple[DemoCard, ...]:
        units = {h.household_id: h.unit for h in self.services.households.values()}
        residents = tuple(DemoCard(c.uid, demo_card_label(units.get(c.household_id, ""), c.kind.value, c.status.value,
                                                          language))
                          for c in self.services.cards.values())  # named in words, as the real controls name them
        staff = tuple(DemoCard(s.card_uid, translate("Staff card {name}", language, name=s.name))
                      for s in self.services.staff.values() if s.card_uid)
        return residents + staff

    def present(self, uid: str) -> None:
        self.bridge.publish(SimpleNamespace(card_uid=uid))

    def remove(self) -> None:
        """Nothing lies on a fake reader."""

    def on_reader(self) -> str:
        return ""

    def new_blank_card(self) -> DemoCard:
        self.blank += 1
        return DemoCard(f"B{self.blank:07d}", translate("Blank card", "en"))

    def insert_note(self, yuan: int) -> str:
        return f"¥{yuan}"

    @property
    def printer_state(self) -> str:
        return str(getattr(self.services, "paper", "ok"))

    def set_printer(self, state: str) -> str:
        self.services.paper = state
        return state

    def open_qr_orders(self) -> tuple[str, ...]:
        return ()

    def pay_open_qr(self) -> bool:
        return False

    def show_payment_code(self, network: str, pin: bool = False) -> str:
        """No scanner on the fake services: the code a real scanner would have read, masked."""
        return "13**************89" if network == "wechat" else "28****************56"

    def confirm_pin(self) -> bool:
        return False
