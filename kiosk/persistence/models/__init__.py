"""All SQLAlchemy models; importing this package registers every table on Base.metadata."""
from kiosk.persistence.models.base import Base, utcnow
from kiosk.persistence.models.billing import Bill, Payment, PaymentItem, PrintJob, Receipt, ReceiptCounter
from kiosk.persistence.models.cards import Card, CardOperation
from kiosk.persistence.models.chain import ChainHead, ChainLink
from kiosk.persistence.models.estate import Building, Household, Kiosk, Resident, Site
from kiosk.persistence.models.features import FeatureSwitch
from kiosk.persistence.models.fleet import AlertOutbox, FleetAction, FleetAlert, KioskHeartbeat, KioskLease
from kiosk.persistence.models.invoices import (
    InvoiceAnswer,
    InvoiceLineRecord,
    InvoiceRequest,
    RedLetter,
    RedLetterLine,
    SavedInvoiceTitle,
)
from kiosk.persistence.models.ledger import Account, JournalEntry, JournalLine
from kiosk.persistence.models.ops import (
    AuditEntry,
    CashEventRecord,
    DeviceEvent,
    GatewayOrderRecord,
    Notice,
    Shift,
    StaffUser,
)
from kiosk.persistence.models.provider_tokens import ProviderToken
from kiosk.persistence.models.reconciliation import GatewayReconciliationRun
from kiosk.persistence.models.services import (
    Booking,
    CallbackRequest,
    DirectDebitMandate,
    DirectoryEntry,
    EventSignup,
    MemberEvent,
    ParkingApplication,
    ParkingSpace,
)

__all__ = [
    "Account", "AlertOutbox", "AuditEntry", "Base", "Bill", "Booking", "Building", "CallbackRequest", "Card",
    "CardOperation", "CashEventRecord", "ChainHead", "ChainLink", "DeviceEvent", "DirectDebitMandate", "DirectoryEntry", "EventSignup",
    "FeatureSwitch", "FleetAction", "FleetAlert", "GatewayOrderRecord", "GatewayReconciliationRun", "Household", "KioskHeartbeat", "KioskLease", "InvoiceAnswer", "InvoiceLineRecord", "InvoiceRequest",
    "JournalEntry", "JournalLine", "Kiosk", "MemberEvent", "Notice", "ParkingApplication", "ParkingSpace", "Payment",
    "PaymentItem", "PrintJob", "ProviderToken", "Receipt", "ReceiptCounter", "RedLetter", "RedLetterLine", "Resident",
    "SavedInvoiceTitle", "Shift", "Site", "StaffUser", "utcnow",
]
