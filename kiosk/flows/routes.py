"""The route registry: name -> screen, flow class, role required, feature it belongs to."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from kiosk.flows.attract import AttractFlow
from kiosk.flows.base import Flow
from kiosk.flows.cards import CardLossFlow, TopUpFlow
from kiosk.flows.household import HouseholdFlow
from kiosk.flows.identify import IdentifyFlow
from kiosk.flows.invoice import InvoiceFlow
from kiosk.flows.my_invoices import MyInvoicesFlow
from kiosk.flows.my_records import RecordsFlow
from kiosk.flows.pay_fees import PayFeesFlow
from kiosk.flows.public_info import CallbackFlow, DirectoryFlow, MemberEventsFlow, NoticesFlow
from kiosk.flows.records import Feature
from kiosk.flows.service_state import GoodbyeFlow, OutOfHoursFlow, OutOfServiceFlow
from kiosk.flows.services_flows import BookingFlow, DirectDebitFlow, ParkingFlow
from kiosk.flows.staff import StaffHomeFlow, StaffUnlockFlow
from kiosk.flows.staff_card_states import CardStatesFlow
from kiosk.flows.staff_cards import CardRepairFlow
from kiosk.flows.staff_features import FeatureSwitchesFlow
from kiosk.flows.staff_invoices import StaffInvoicesFlow
from kiosk.flows.staff_receipts import ImportBillsFlow, ReceiptsFlow
from kiosk.flows.staff_tools import CallbacksFlow, HandoverFlow, NoticesAdminFlow
from kiosk.flows.technician import TechnicianFlow


class Role(StrEnum):
    PUBLIC = "public"
    RESIDENT = "resident"  # needs an identified household
    STAFF = "staff"


@dataclass(frozen=True)
class Route:
    name: str
    screen: str  # screen name in screens/ (module screens/<screen>.py + .kv)
    flow: type[Flow] | None  # None: the route has no flow (e.g. exit)
    role: Role = Role.PUBLIC
    feature: Feature | None = None
    personal: bool = False  # shows personal data: the idle timer applies and wipes it
    always: bool = False  # reachable even when the kiosk is out of service


ROUTES: Mapping[str, Route] = {r.name: r for r in (
    Route("attract", "attract", AttractFlow, always=True),
    Route("identify", "identify", IdentifyFlow, personal=True),
    Route("household", "household", HouseholdFlow, Role.RESIDENT, personal=True),
    Route("pay_fees", "pay_fees", PayFeesFlow, Role.RESIDENT, Feature.PAY_FEES, personal=True),
    Route("top_up", "steps", TopUpFlow, Role.RESIDENT, Feature.TOP_UP, personal=True),
    Route("card_loss", "steps", CardLossFlow, Role.RESIDENT, Feature.CARD_LOSS, personal=True),
    Route("bookings", "steps", BookingFlow, Role.RESIDENT, Feature.BOOKINGS, personal=True),
    Route("parking", "steps", ParkingFlow, Role.RESIDENT, Feature.PARKING, personal=True),
    Route("direct_debit", "steps", DirectDebitFlow, Role.RESIDENT, Feature.DIRECT_DEBIT, personal=True),
    Route("invoice", "steps", InvoiceFlow, Role.RESIDENT, personal=True),
    Route("records", "steps", RecordsFlow, Role.RESIDENT, Feature.RECORDS, personal=True),
    Route("my_invoices", "steps", MyInvoicesFlow, Role.RESIDENT, Feature.RECORDS, personal=True),
    Route("notices", "info_list", NoticesFlow, feature=Feature.NOTICES),
    Route("directory", "info_list", DirectoryFlow, feature=Feature.DIRECTORY),
    Route("member_events", "info_list", MemberEventsFlow, feature=Feature.MEMBER_EVENTS),
    Route("callback", "callback", CallbackFlow, feature=Feature.CALLBACK, personal=True),
    Route("out_of_service", "message", OutOfServiceFlow, always=True),
    Route("out_of_hours", "message", OutOfHoursFlow, always=True),
    Route("goodbye", "message", GoodbyeFlow, always=True),
    Route("staff_unlock", "staff_unlock", StaffUnlockFlow, personal=True, always=True),
    Route("staff_home", "staff_home", StaffHomeFlow, Role.STAFF, personal=True, always=True),
    Route("staff_handover", "steps", HandoverFlow, Role.STAFF, personal=True, always=True),
    Route("staff_callbacks", "steps", CallbacksFlow, Role.STAFF, personal=True, always=True),
    Route("staff_notices", "steps", NoticesAdminFlow, Role.STAFF, personal=True, always=True),
    Route("staff_receipts", "steps", ReceiptsFlow, Role.STAFF, personal=True, always=True),
    Route("staff_invoices", "steps", StaffInvoicesFlow, Role.STAFF, personal=True, always=True),
    Route("staff_import", "steps", ImportBillsFlow, Role.STAFF, personal=True, always=True),
    Route("staff_cards", "steps", CardRepairFlow, Role.STAFF, personal=True, always=True),
    Route("staff_card_states", "steps", CardStatesFlow, Role.STAFF, personal=True, always=True),
    Route("staff_devices", "steps", TechnicianFlow, Role.STAFF, personal=True, always=True),
    Route("staff_features", "steps", FeatureSwitchesFlow, Role.STAFF, personal=True, always=True),
    Route("exit", "message", None, Role.STAFF, always=True),
)}

# Features whose journeys come in phase 2: the navigator explains they are not available yet.
PENDING_FEATURES = frozenset(f for f in Feature if f not in {r.feature for r in ROUTES.values()})
