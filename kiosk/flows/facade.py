"""KioskServices: the only door from flows to the core; plain records in and out, errors from kiosk.errors.

Rules for implementers (the real one lives next to kiosk/services, the in-memory test double in tests/support/fakes/services.py):
- every amount is integer fen; every record is a frozen dataclass from kiosk.flows.records;
- every method may block (database, devices, gateway): flows call them on a worker thread;
- failures raise `kiosk.errors.KioskError` subclasses only (the UI shows `user_message(language)`);
- methods that move money take an `idempotency_key`: a retry with the same key returns the first
  outcome and never charges twice (flows reuse the key after a timeout or cancel), and an optional
  `control` (kiosk.payments.control.PaymentControl): the mover reports what the person must do
  (insert notes, scan the QR code, hold the card) and checks `control.cancelled`;
- `language` is the customer's language for anything rendered (receipts, notices);
- `credit_fen` on a paying call is the part paid from the household's account credit (split tender);
  the method CREDIT alone pays everything from it. InsufficientBalance when the credit is not there.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Protocol, runtime_checkable

from kiosk.payments.control import PaymentControl
from kiosk.flows.records import (
    BankOption,
    BookingOption,
    BookingResult,
    BookingSlot,
    CallbackView,
    CardActionResult,
    DeviceHealth,
    DirectoryEntry,
    HandoverView,
    HouseholdSummary,
    Identity,
    MandateResult,
    MemberEventView,
    NoticeDraft,
    NoticeView,
    ParkingResult,
    ParkingSpaceView,
    PaymentMethod,
    PaymentResult,
    RecordDetail,
    RecordsPage,
    ServiceStatus,
    SettlementView,
    SiteInfo,
    StaffCardsView,
    StaffView,
    TopUpResult,
    UnblockResult,
    VoidResult,
)
from kiosk.flows.invoice_records import (InvoiceDeliveryView, InvoiceOfferView, InvoiceRecord, SavedTitleView,
                                         TitleFormView, TitleView)
from kiosk.flows.repair_records import CardCheckView, CardRepairResult, FlaggedCardView
from kiosk.flows.tool_records import (
    DeviceChoice,
    DeviceOptions,
    DeviceTestResult,
    ImportFile,
    ImportOutcome,
    PrinterGateView,
    ReceiptSummary,
    SavedConfig,
    SerialPortView,
)


@runtime_checkable
class KioskServices(Protocol):
    # --- site and public information (no sign-in) ------------------------------------------
    def site_info(self) -> SiteInfo:
        """Site names per language, opening hours per weekday, enabled features, fees."""

    def current_notices(self, tier: str | None, language: str, now: datetime) -> tuple[NoticeView, ...]:
        """Notices published and not expired at `now` for `tier` (None: public only), pinned first."""

    def directory(self, language: str) -> tuple[DirectoryEntry, ...]:
        """Public directory entries only; staff-only numbers never leave the service."""

    def member_events(self, tier: str | None, language: str, now: datetime) -> tuple[MemberEventView, ...]:
        """Upcoming events open to `tier` (None: events open to everyone)."""

    def request_callback(self, phone: str, topic: str, language: str) -> str:
        """Record a callback request; returns its reference. InvalidAmount-style errors: NotFound for bad phone."""

    # --- identification --------------------------------------------------------------------
    def identify_card(self, card_uid: str) -> Identity:
        """Raises CardUnknown, CardBlocked (lost), CardFrozen, CardReplaced; StaffCardTapped for an active
        staff user's card (never read as a value card: the identify flow opens the staff PIN pad)."""

    def identify_unit(self, unit: str, pin: str) -> Identity:
        """Raises NotFound (unknown unit), WrongPin(remaining=n), AccountLocked(until=...)."""

    def household_summary(self, household_id: str) -> HouseholdSummary:
        """Outstanding bills, card balance (ledger truth) and card state."""

    # --- money -------------------------------------------------------------------------------
    def pay_bills(self, household_id: str, bill_ids: tuple[str, ...], method: PaymentMethod,
                  idempotency_key: str, language: str, card_uid: str | None = None,
                  control: PaymentControl | None = None, credit_fen: int = 0) -> PaymentResult:
        """Pay the chosen bills. `method` CREDIT pays from account credit alone; `credit_fen` > 0 with another
        method is split tender (that much from credit, the rest by `method`, one payment and receipt). Raises BillAlreadyPaid, BillNotFound, InsufficientBalance,
        PaymentError/GatewayError, DeviceError; prints the receipt (PrinterNotReady is reported
        in the result's receipt, never loses the payment)."""

    def top_up(self, card_uid: str, amount_fen: int, method: PaymentMethod,
               idempotency_key: str, language: str, control: PaymentControl | None = None,
               credit_fen: int = 0) -> TopUpResult:
        """Add stored value to a card (method CREDIT moves account credit onto it). Raises InvalidAmount,
        CardError, PaymentError."""

    # --- cards -------------------------------------------------------------------------------
    def report_card_lost(self, household_id: str, card_uid: str, language: str) -> CardActionResult:
        """Block the card at once, everywhere."""

    def freeze_card(self, household_id: str, card_uid: str, language: str) -> CardActionResult:
        """临时冻结 at the resident's request: blocked until they unfreeze it. Raises CardBlocked (lost), AlreadyDone."""

    def unfreeze_card(self, household_id: str, card_uid: str, language: str) -> CardActionResult:
        """解冻 the resident's own freeze. Raises CardBlocked when it is reported lost (unblock_found_card lifts
        that), CardFrozenByStaff when staff froze it."""

    def unblock_found_card(self, card_uid: str, pin: str, language: str) -> UnblockResult:
        """A lost or self-frozen card tapped with the household PIN: usable again, and the resident is signed in
        with it. Raises CardReplaced (a replacement was issued: never), CardFrozenByStaff, WrongPin, AccountLocked
        (the household's one lock-out), CardUnknown."""

    def replace_card(self, household_id: str, old_card_uid: str, new_card_uid: str, method: PaymentMethod,
                     idempotency_key: str, language: str, control: PaymentControl | None = None,
                     credit_fen: int = 0) -> CardActionResult:
        """Charge the replacement fee, move the balance to the new card, keep the old one blocked."""

    # --- bookings, parking, direct debit -----------------------------------------------------
    def booking_options(self) -> tuple[BookingOption, ...]: ...

    def booking_slots(self, kind: str, first_day: date, days: int) -> tuple[BookingSlot, ...]: ...

    def book(self, household_id: str, slot_id: str, method: PaymentMethod, idempotency_key: str,
             language: str, control: PaymentControl | None = None, credit_fen: int = 0) -> BookingResult:
        """Raises SlotUnavailable when someone took the slot first."""

    def parking_spaces(self, household_id: str) -> tuple[ParkingSpaceView, ...]:
        """The household's spaces (owned / rented)."""

    def free_parking_spaces(self) -> tuple[ParkingSpaceView, ...]: ...

    def pay_parking(self, household_id: str, space_id: str, months: int, method: PaymentMethod,
                    idempotency_key: str, language: str, control: PaymentControl | None = None,
                    credit_fen: int = 0) -> ParkingResult: ...

    def apply_parking(self, household_id: str, space_id: str, mode: str, language: str) -> ParkingResult:
        """mode is 'rent' or 'buy'; returns an application reference for staff."""

    def banks(self) -> tuple[BankOption, ...]: ...

    def sign_direct_debit(self, household_id: str, bank_code: str, account_number: str,
                          language: str) -> MandateResult:
        """The full account number is never stored or returned in clear."""

    # --- records -------------------------------------------------------------------------------
    def my_records(self, household_id: str, language: str, offset: int = 0, limit: int = 8) -> RecordsPage:
        """The household's receipts and card movements (with each card's balance after), newest first."""

    def record_detail(self, household_id: str, record_id: str, language: str) -> RecordDetail:
        """Every line of one record of the household. Raises NotFound for another household's record."""

    def reprint(self, receipt_number: str, household_id: str | None = None) -> None:
        """Print a copy (marked as such). household_id limits residents to their own receipts."""

    def sign_up_event(self, household_id: str, event_id: str) -> str:
        """Returns a sign-up reference. Raises SlotUnavailable when the event is full."""

    # --- staff ----------------------------------------------------------------------------------
    def staff_sign_in(self, pin: str, card_uid: str | None = None) -> StaffView:
        """Raises WrongPin(remaining=n) and, after 5 wrong PINs, AccountLocked(until=...)."""

    def settlement(self, staff_id: str, day: date | None = None, print_slip: bool = False) -> SettlementView:
        """The daily settlement of `day` (the site's calendar; None: today at the site)."""

    def shift_handover(self, staff_id: str, counted_cash_fen: int) -> HandoverView: ...

    def void_receipt(self, staff_id: str, receipt_number: str, reason: str, invoice_reason: str = "") -> VoidResult:
        """Void a paid receipt; its invoice is cancelled or reversed by a red letter with `invoice_reason` ('1'-'4';
        "": the default, 3 服务中止)."""

    def list_notices(self, staff_id: str) -> tuple[NoticeDraft, ...]: ...

    def save_notice(self, staff_id: str, draft: NoticeDraft) -> str: ...

    def withdraw_notice(self, staff_id: str, notice_id: str) -> None:
        """Residents no longer see it (audited). Raises AlreadyDone when it was withdrawn before."""

    def pin_notice(self, staff_id: str, notice_id: str, pinned: bool) -> None:
        """Pin to the top of the residents' list, or unpin (audited). Raises AlreadyDone to pin a withdrawn one."""

    def list_callbacks(self, staff_id: str, open_only: bool = True) -> tuple[CallbackView, ...]: ...

    def mark_callback_done(self, staff_id: str, callback_id: str) -> None: ...

    def set_out_of_service(self, staff_id: str, reason: str | None) -> None:
        """reason None puts the kiosk back in service."""

    def switch_feature(self, staff_id: str, feature: str, message: str | None) -> None:
        """Switch a feature off for every kiosk of the site with `message` (a msgid residents read), or back on
        with None; audited with the staff member. service_status() reports the switched-off features."""

    # --- staff: receipts, bill import ------------------------------------------------------------
    def receipts_of_day(self, staff_id: str, day: date | None = None) -> tuple[ReceiptSummary, ...]:
        """Every receipt the site issued on `day` (the site's calendar; None: today at the site), newest first."""

    def find_receipt(self, staff_id: str, receipt_number: str) -> ReceiptSummary:
        """One receipt by its 8-digit number. Raises NotFound."""

    def receipt_png(self, staff_id: str, receipt_number: str) -> str:
        """Path of a PNG of the receipt as the printer prints it (the original). Raises NotFound."""

    def staff_reprint(self, staff_id: str, receipt_number: str) -> None:
        """Queue a copy of any receipt (marked as a reprint); audited."""

    def import_files(self, staff_id: str) -> tuple[ImportFile, ...]:
        """CSV files on removable drives (USB sticks) the kiosk can import bills from."""

    def import_bills(self, staff_id: str, path: str) -> ImportOutcome:
        """Import one CSV chosen from import_files(); one bad row and nothing is imported (problems listed)."""

    # --- staff: repair of flagged cards -----------------------------------------------------------
    def flagged_cards(self, staff_id: str) -> tuple[FlaggedCardView, ...]:
        """Cards refused for tampering or rollback, newest flag first (unit masked); audited."""

    def check_card(self, staff_id: str, card_uid: str) -> CardCheckView:
        """Read the card on the reader next to the ledger; nothing is written; audited. Raises CardUnknown,
        CardBlocked (lost), CardReplaced, CardForeignKeys (replace the card), CardRemoved, CardWriteUnsupported."""

    def repair_card(self, staff_id: str, card_uid: str, control: PaymentControl | None = None) -> CardRepairResult:
        """Rewrite the card from the ledger (value = ledger balance, counter moved forward), open writes resolved
        as the ledger says, the flag cleared, audited with the staff member. The same errors as check_card, and
        CardWritePending when the card left and did not come back (a retry finishes it), AlreadyDone when the
        card agrees with the ledger and is not flagged. `control` shows "put the card back" and can cancel."""

    # --- staff: card states -------------------------------------------------------------------------
    def staff_household_cards(self, staff_id: str, card_uid: str | None = None,
                              unit: str | None = None) -> StaffCardsView:
        """Every card of the household of a tapped card or a unit number (replaced ones too). Raises CardUnknown,
        NotFound; audited."""

    def staff_change_card(self, staff_id: str, card_uid: str, action: str, reason: str,
                          language: str) -> CardActionResult:
        """action 'lift_loss' (解挂), 'freeze' (冻结) or 'unfreeze' (解冻), always with a reason; audited with the
        staff member and the reason. Raises CardReplaced (never unblocked), CardBlocked, AlreadyDone, InvalidEntry."""

    def staff_clear_pin_lockout(self, staff_id: str, unit: str) -> StaffCardsView:
        """Clear the household's PIN lock-out and its count of wrong PINs (after five wrong PINs the unit + PIN
        sign-in and the found-card pad are locked); audited with the staff member. Returns the household again.
        Raises NotFound, AlreadyDone (nothing to clear)."""

    # --- printer check before money ------------------------------------------------------------
    def printer_gate(self) -> PrinterGateView:
        """Can a receipt be printed now? Never raises: no printer is can_print False with a reason."""

    # --- technician -------------------------------------------------------------------------------
    def serial_ports(self) -> tuple[SerialPortView, ...]: ...

    def device_options(self) -> tuple[DeviceOptions, ...]:
        """Reader, printer, cash acceptor: the running choice, the drivers and speeds available."""

    def test_device(self, staff_id: str, choice: DeviceChoice, timeout_s: float = 10.0) -> DeviceTestResult:
        """Test for real: reader firmware and a card UID, printer status and a test print,
        validator identification. Never raises for a device fault: the result says what failed."""

    def save_device_config(self, staff_id: str, choices: tuple[DeviceChoice, ...]) -> SavedConfig:
        """Write the technician file atomically, keeping the previous one as last-known-good;
        the new devices are used from the next start."""

    # --- health --------------------------------------------------------------------------------
    def service_status(self) -> ServiceStatus:
        """Whole-kiosk out-of-service flag, each device's health, and the features staff switched off."""

    def device_health(self) -> tuple[DeviceHealth, ...]: ...

    # --- e-invoices (docs/invoices.md) -------------------------------------------------------------
    def invoice_offer(self, receipt_number: str) -> InvoiceOfferView:
        """Whether the success page offers "开发票" for the receipt (never raises for invoicing being off:
        `unavailable` says why)."""

    def invoice_titles(self, household_id: str) -> tuple[SavedTitleView, ...]:
        """The household's earlier titles, masked, newest first."""

    def open_invoice_form(self, expires_in_s: int = 180) -> TitleFormView:
        """A phone-side title form (its URL as a QR). Raises InvoicingOff, InvoiceProviderUnreachable."""

    def read_invoice_title(self, session_id: str) -> TitleView | None:
        """The submitted title, checked (InvalidTaxId, InvoiceTitleInvalid); None until the phone sent it."""

    def request_invoice(self, household_id: str, receipt_number: str, title: TitleView | None = None,
                        title_id: str | None = None) -> InvoiceRecord:
        """Queue the invoice (stored before anything is sent) for a typed/phone title or a saved one; the title
        is saved for the household. Raises InvoicingOff, AlreadyDone (already requested), NotFound."""

    def household_invoices(self, household_id: str) -> tuple[InvoiceRecord, ...]:
        """My records: the household's invoices, newest first."""

    def resend_invoice(self, household_id: str, request_id: str, phone: str) -> InvoiceDeliveryView:
        """Re-send the household's issued invoice to a mobile phone by SMS. Raises InvoicePhoneInvalid,
        InvoiceResendLimit (3 a day), InvoiceWrongState (not issued), InvoiceNotSent (provider down or busy)."""

    def staff_invoices(self, staff_id: str, state: str | None = None) -> tuple[InvoiceRecord, ...]:
        """Every request of the site in `state` (None: all), newest first."""

    def retry_invoice(self, staff_id: str, request_id: str, title: TitleView | None = None,
                      title_id: str | None = None) -> InvoiceRecord:
        """Send a failed request again under a new order number, with the title corrected when `title` (from the
        phone form) or `title_id` (one the household saved) is given. Asks the provider about the old number
        first: InvoiceRetryUnconfirmed (no answer), InvoiceNoLongerFailed (it stands again at the provider)."""

    def receipt_invoice(self, staff_id: str, receipt_number: str) -> InvoiceRecord | None:
        """The receipt's latest invoice request (None: never asked, or invoicing not built): what a void does."""

    def red_letter_invoice(self, staff_id: str, request_id: str, reason: str) -> InvoiceRecord:
        """Reverse an issued invoice whole with a red letter (reason '1'-'4')."""
