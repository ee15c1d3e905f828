"""Maintenance screen: device health and the daily settlement beside (or above) large rows with an icon for every
staff action: out-of-service switch, settlement, handover, callbacks, notices, receipts, import, cards, services,
device setup (shown to technicians and admins only); refresh, lock and exit to desktop in a bar at the foot, always in sight."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from kiosk.i18n import N_, translate
from screens.base import KioskScreen
from screens.pay_fees import LineRow
from screens.scroll_hint import HintedScroll
from screens.steps import OptionRow

Builder.load_file(str(Path(__file__).with_suffix(".kv")))
__all__ = ["HintedScroll", "StaffHomeScreen"]

# (flow method, its argument, caption msgid, icon); the first caption follows the service state
ACTIONS: tuple[tuple[str, Any, str, str], ...] = (
    ("toggle_service", None, "", "power"),
    ("settlement", False, N_("Show settlement"), "file-document"),
    ("settlement", True, N_("Print settlement"), "printer"),
    ("open", "staff_handover", N_("Shift handover"), "swap-horizontal"),
    ("open", "staff_callbacks", N_("Callback requests"), "phone-in-talk"),
    ("open", "staff_notices", N_("Manage notices"), "bullhorn"),
    ("open", "staff_receipts", N_("Receipts"), "receipt"),
    ("open", "staff_invoices", N_("Invoices"), "file-document-box"),
    ("open", "staff_import", N_("Import bills"), "usb"),
    ("open", "staff_cards", N_("Card repair"), "wrench"),
    ("open", "staff_card_states", N_("Card states"), "credit-card-off"),
    ("open", "staff_features", N_("Services on and off"), "toggle-switch"),
    ("open", "staff_devices", N_("Device setup"), "settings"),
)
# always in sight, in the bar at the page's foot
BAR_ACTIONS: tuple[tuple[str, Any, str, str], ...] = (
    ("refresh", None, N_("Refresh"), "refresh"),
    ("lock", None, N_("Lock"), "lock"),
    ("exit_to_desktop", None, N_("Exit to desktop"), "logout"),
)


def _row(left: str, right: str) -> LineRow:
    row = LineRow()
    row.ids.label.text, row.ids.amount.text = left, right
    return row


class StaffHomeScreen(KioskScreen):
    def on_kv_post(self, base_widget: Any) -> None:
        App.get_running_app().theme.bind(portrait=lambda *_: self._columns())
        self._columns()

    def _columns(self) -> None:
        self.ids.actions.cols = 2 if App.get_running_app().theme.portrait else 3

    def render(self, view: Any) -> None:
        devices = self.ids.devices
        devices.clear_widgets()
        for name, state, detail in view.devices:
            devices.add_widget(_row(name, f"{state} {detail}".strip()))
        settlement = self.ids.settlement
        settlement.clear_widgets()
        for label, value in view.settlement_lines:
            settlement.add_widget(_row(label, value))
        self._actions(view)
        self.ids.error.show(view.error, self.language)

    def _actions(self, view: Any) -> None:
        for container, actions in ((self.ids.actions, ACTIONS), (self.ids.bar, BAR_ACTIONS)):
            container.clear_widgets()
            for action in actions:
                if action[1] == "staff_devices" and not view.technician:
                    continue  # device setup is for technicians and admins only
                container.add_widget(self._row(view, *action))
        self._columns()

    def _row(self, view: Any, method: str, argument: Any, caption: str, icon: str) -> OptionRow:
        language = self.language
        if method == "toggle_service":
            caption = N_("Put back in service") if view.out_of_service else N_("Put out of service")
            icon = "play-circle" if view.out_of_service else "power"
        row = OptionRow(key=method, icon=icon, text=translate(caption, language), selected=method == "lock", level="m")
        row.bind(on_release=lambda _r: self.act(method, *(() if argument is None else (argument,))))
        return row
