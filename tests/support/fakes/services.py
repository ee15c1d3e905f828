"""FakeKioskServices: an in-memory KioskServices with real state changes and errors, for flow/UI/e2e tests."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from kiosk import errors
from kiosk.domain.site_clock import site_now, to_site
from tests.support.fakes.invoices import FakeInvoicesMixin
from tests.support.fakes import data
from tests.support.fakes.card_repair import FakeCardRepairMixin
from tests.support.fakes.card_states import FakeCardStatesMixin
from tests.support.fakes.staff import FakeStaffMixin
from tests.support.fakes.tools import FakeToolsMixin
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.flows.records import (
    BankOption, BookingOption, BookingResult, BookingSlot, CallbackView, CardActionResult, CardStatus, CardView,
    DeviceHealth, DeviceState, DirectoryEntry, HouseholdSummary, Identity, MandateResult, MemberEventView,
    NoticeView, OpeningHours, ParkingResult, ParkingSpaceView, PaymentMethod, PaymentResult, RecordEntry,
    CardMovement, RecordDetail, RecordItem, RecordsPage, SiteInfo, TopUpResult, Feature, SwitchedOffView,
)

class FakeKioskServices(FakeInvoicesMixin, FakeStaffMixin, FakeToolsMixin, FakeCardRepairMixin, FakeCardStatesMixin):
    """Faithful in-memory implementation. Test hooks: `fail(method, error)`, `hold(method)`, `calls`."""

    def __init__(self, now: datetime | None = None, hours: tuple[OpeningHours, ...] = data.ALL_DAY) -> None:
        self._lock = threading.RLock()
        self._now = now
        start = self.now()
        self.site = data.demo_site(hours)
        self.households = data.demo_households(start.date())
        self.cards = data.demo_cards()
        self.staff = data.demo_staff()
        self.notices = data.demo_notices(start)
        self.parking = data.demo_parking()
        self.booked_slots: dict[str, str] = {}  # slot id -> ticket
        self.events = data.demo_events(start)
        self.sign_ups: set[tuple[str, str]] = set()
        self.callbacks: dict[str, CallbackView] = {}
        self.mandates: dict[str, MandateResult] = {}
        self.receipts: dict[str, dict[str, Any]] = {}  # number -> {household, kind, amount, method, voided}
        self.printed: list[str] = []  # receipt numbers sent to the "printer", copies included
        self.records: dict[str, list[RecordEntry]] = {}
        self.outcomes: dict[str, Any] = {}  # idempotency key -> (signature, result)
        self.out_of_service_reason: str | None = None
        self.switched_off: dict[Feature, SwitchedOffView] = {}
        self.devices = {n: DeviceHealth(n, DeviceState.OK) for n in ("reader", "printer", "cash", "gateway")}
        self.cash_box_fen = 0
        self.cash_notes_fen = (1000, 2000, 5000, 10000)  # the notes the fake's acceptor takes (¥10-¥100)
        self.credit_used: dict[str, int] = {}  # what account credit went with ("credit" alone, "card", "cash", "qr")
        self.audit: list[tuple[str, str]] = []  # (staff id, action)
        self._receipt_seq = 0
        self._seq = 0
        self._faults: dict[str, errors.KioskError] = {}
        self._holds: dict[str, threading.Event] = {}
        self.calls: list[str] = []
        self._init_tools()
        self._init_card_repair()
        self._init_invoices()

    # --- test hooks ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._now or _wall(site_now())

    def set_now(self, now: datetime) -> None:
        self._now = now

    def fail(self, method: str, error: errors.KioskError) -> None:
        """The next call of `method` raises `error` (once)."""
        self._faults[method] = error

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` block until the returned event is set (to test progress, timeout, cancel)."""
        event = threading.Event()
        self._holds[method] = event
        return event

    def set_device(self, name: str, state: DeviceState, detail: str = "") -> None:
        self.devices[name] = DeviceHealth(name, state, detail)

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        gate = self._holds.get(method)
        if gate is not None:
            gate.wait(timeout=30)
        fault = self._faults.pop(method, None)
        if fault is not None:
            raise fault

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:05d}"

    def _receipt(self, household: str | None, kind: str, amount: int, method: str, note: str) -> str:
        self._receipt_seq += 1
        number = f"{self._receipt_seq:08d}"  # 8 digits, site-wide, as the real till numbers them
        self.receipts[number] = {"household": household, "kind": kind, "amount": amount, "method": method,
                                 "voided": False, "when": self.now()}
        if household:
            self.records.setdefault(household, []).insert(0, RecordEntry(
                f"R{number}", self.now(), kind, (RecordItem(note, amount),), amount, number))
        self.printed.append(number)
        return number

    def _replay(self, key: str, signature: tuple[Any, ...]) -> Any:
        if key in self.outcomes:
            first_signature, result = self.outcomes[key]
            if first_signature != signature:
                raise errors.IdempotencyConflict(key=key)
            return result
        return None

    def _household(self, household_id: str) -> data.FakeHousehold:
        try:
            return self.households[household_id]
        except KeyError as exc:
            raise errors.NotFound(household_id) from exc

    def _card_of(self, household_id: str, card_uid: str) -> data.FakeCard:
        card = self.cards.get(card_uid)
        if card is None or card.household_id != household_id:
            raise errors.CardUnknown(card_uid)
        return card

    @staticmethod
    def _credit_part(method: PaymentMethod, amount: int, credit_fen: int) -> int:
        return amount if method is PaymentMethod.CREDIT else credit_fen

    def _pay(self, household_id: str, method: PaymentMethod, amount: int, card_uid: str | None,
             control: PaymentControl | None, credit_fen: int) -> int | None:
        """Account credit first (alone, or `credit_fen` of it), the rest by `method`; the credit is taken
        only when the other part succeeded. Returns the card balance after for card payments."""
        household = self._household(household_id)
        used = self._credit_part(method, amount, credit_fen)
        if not 0 <= used <= amount:
            raise errors.InvalidAmount(str(credit_fen))
        if used > household.credit_fen:
            raise errors.CreditNotEnough(available_fen=household.credit_fen)
        balance = self._take_payment(method, amount - used, card_uid, control) if amount > used else None
        household.credit_fen -= used
        if used:
            self.credit_used[method.value] = self.credit_used.get(method.value, 0) + used
        return balance

    def _take_payment(self, method: PaymentMethod, amount: int, card_uid: str | None,
                      control: PaymentControl | None = None) -> int | None:
        """Moves `amount` by `method`, telling `control` what the person must do; returns the card
        balance after for card payments. Cash arrives as one note; QR shows a code then pays."""
        if control is not None and method is not PaymentMethod.CARD_BALANCE:
            if method is PaymentMethod.CASH:
                control.report(PaymentProgress(Stage.INSERT_NOTES, due_fen=amount, notes_fen=self.cash_notes_fen,
                                               notice="No change is given. Any amount above the total is "
                                                      "credited to your household account."))
            else:
                control.report(PaymentProgress(Stage.SCAN_QR, due_fen=amount, expires_in_s=120,
                                               code_url=f"https://pay.example/qr/{self._next('Q')}"))
            gate = self._holds.get("money")
            if gate is not None:
                while not gate.wait(0.05):
                    if control.cancelled:
                        break
            if control.cancelled:
                raise errors.PaymentCancelled()
            control.report(PaymentProgress(Stage.FINISHING, due_fen=amount, received_fen=amount, can_cancel=False))
        if method is PaymentMethod.CARD_BALANCE:
            card = self.cards.get(card_uid or "")
            if card is None or card.status is not CardStatus.ACTIVE:
                raise errors.CardUnknown(card_uid or "")
            if card.balance_fen < amount:
                raise errors.InsufficientBalance()
            card.balance_fen -= amount
            return card.balance_fen
        if method is PaymentMethod.CASH:
            if self.devices["cash"].state is DeviceState.DOWN:
                raise errors.DeviceUnavailable(device="cash")
            self.cash_box_fen += amount
        elif self.devices["gateway"].state is DeviceState.DOWN:
            raise errors.GatewayError()
        return None

    # --- public information -----------------------------------------------------------------
    def site_info(self) -> SiteInfo:
        self._enter("site_info")
        return self.site

    def current_notices(self, tier: str | None, language: str, now: datetime) -> tuple[NoticeView, ...]:
        self._enter("current_notices")
        now = _wall(now)
        with self._lock:
            shown = [n for n in self.notices
                     if n.withdrawn_at is None and n.publish_at <= now and (n.expires_at is None or now < n.expires_at)
                     and (not n.tiers or (tier is not None and tier in n.tiers))]
            shown.sort(key=lambda n: (not n.pinned, -n.publish_at.timestamp()))
            return tuple(NoticeView(n.notice_id, n.category, n.titles.get(language, ""), n.bodies.get(language, ""),
                                    n.publish_at, n.expires_at, n.pinned) for n in shown)

    def directory(self, language: str) -> tuple[DirectoryEntry, ...]:
        self._enter("directory")
        return tuple(entry for entry, public in data.demo_directory() if public)

    def member_events(self, tier: str | None, language: str, now: datetime) -> tuple[MemberEventView, ...]:
        self._enter("member_events")
        now = _wall(now)
        with self._lock:
            return tuple(ev for ev, tiers in self.events.values()
                         if ev.starts_at > now and (not tiers or (tier is not None and tier in tiers)))

    def request_callback(self, phone: str, topic: str, language: str) -> str:
        self._enter("request_callback")
        digits = "".join(ch for ch in phone if ch.isdigit())
        if not 7 <= len(digits) <= 13:
            raise errors.InvalidAmount(phone)  # same code family as other bad inputs
        with self._lock:
            ref = self._next("CB")
            masked = digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
            self.callbacks[ref] = CallbackView(ref, masked, topic, self.now())
            return ref

    # --- identification -----------------------------------------------------------------------
    def identify_card(self, card_uid: str) -> Identity:
        self._enter("identify_card")
        with self._lock:
            if any(m.card_uid == card_uid.upper() for m in self.staff.values()):
                raise errors.StaffCardTapped(card_uid)
            card = self._usable(card_uid)  # unknown, lost and replaced cards refused
            household = self.households[card.household_id]
            if card.status is CardStatus.FROZEN:
                raise errors.CardFrozenByStaff(card_uid) if card.frozen_by_staff else errors.CardFrozen(card_uid)
            self.refuse_flagged(card.uid)
            return Identity(household.household_id, household.unit_label, household.tier, card.uid, card.status)

    def identify_unit(self, unit: str, pin: str) -> Identity:
        self._enter("identify_unit")
        with self._lock:
            for household in self.households.values():
                if household.unit == unit:
                    if household.pin_locked_until is not None and self.now() < household.pin_locked_until:
                        raise errors.AccountLocked(until=household.pin_locked_until.strftime("%H:%M"),
                                                   until_at=household.pin_locked_until)
                    if household.pin != pin:
                        household.pin_failed += 1
                        raise errors.WrongPin(remaining=3)
                    household.pin_failed = 0
                    card = next((c for c in self.cards.values() if c.household_id == household.household_id
                                 and c.status is CardStatus.ACTIVE), None)
                    return Identity(household.household_id, household.unit_label, household.tier,
                                    None, card.status if card else None)
            raise errors.NotFound(unit)

    def household_summary(self, household_id: str) -> HouseholdSummary:
        self._enter("household_summary")
        with self._lock:
            household = self._household(household_id)
            bills = tuple(sorted(household.bills.values(), key=lambda b: (b.due_date, b.bill_id)))
            views = tuple(CardView(c.uid, c.kind, c.status, c.balance_fen, c.plate, c.frozen_by_staff)
                          for c in self.cards.values()
                          if c.household_id == household_id and c.status is not CardStatus.REPLACED)
            summary = HouseholdSummary(household_id, household.unit_label, household.tier, bills,
                                       credit_fen=household.credit_fen, cards=views)
            return summary.acting_on(views[0] if len(views) == 1 else None)  # the only card, else none yet

    # --- money ---------------------------------------------------------------------------------
    def pay_bills(self, household_id: str, bill_ids: tuple[str, ...], method: PaymentMethod,
                  idempotency_key: str, language: str, card_uid: str | None = None,
                  control: PaymentControl | None = None, credit_fen: int = 0) -> PaymentResult:
        self._enter("pay_bills")
        with self._lock:
            signature = ("pay_bills", household_id, tuple(sorted(bill_ids)), method, credit_fen)
            previous = self._replay(idempotency_key, signature)
            if previous is not None:
                return previous
            household = self._household(household_id)
            if not bill_ids:
                raise errors.InvalidAmount("no bills")
            for bill_id in bill_ids:
                if bill_id not in household.bills:
                    paid = any(r["kind"] == "bill_payment" and bill_id in r.get("bills", ()) for r in self.receipts.values())
                    raise errors.BillAlreadyPaid(bill_id) if paid else errors.BillNotFound(bill_id)
            amount = sum(household.bills[b].amount_fen for b in bill_ids)
            balance_after = self._pay(household_id, method, amount, card_uid, control, credit_fen)
            for bill_id in bill_ids:
                del household.bills[bill_id]
            number = self._receipt(household_id, "bill_payment", amount, method, ", ".join(bill_ids))
            self.receipts[number]["bills"] = tuple(bill_ids)
            result = PaymentResult(self._next("PAY"), number, amount, method, tuple(bill_ids), balance_after,
                                   credit_used_fen=self._credit_part(method, amount, credit_fen))
            self.outcomes[idempotency_key] = (signature, result)
            return result

    def top_up(self, card_uid: str, amount_fen: int, method: PaymentMethod,
               idempotency_key: str, language: str, control: PaymentControl | None = None,
               credit_fen: int = 0) -> TopUpResult:
        self._enter("top_up")
        with self._lock:
            signature = ("top_up", card_uid, amount_fen, method, credit_fen)
            previous = self._replay(idempotency_key, signature)
            if previous is not None:
                return previous
            if amount_fen <= 0 or method is PaymentMethod.CARD_BALANCE:
                raise errors.InvalidAmount(str(amount_fen))
            if self.devices["reader"].state is DeviceState.DOWN:
                raise errors.DeviceUnavailable(device="reader")
            card = self.cards.get(card_uid)
            if card is None or card.status is not CardStatus.ACTIVE:
                raise errors.CardUnknown(card_uid)
            self._pay(card.household_id, method, amount_fen, None, control, credit_fen)
            before = card.balance_fen
            card.balance_fen += amount_fen
            number = self._receipt(card.household_id, "top_up", amount_fen, method, card_uid)
            latest = self.records[card.household_id][0]  # the top-up's row shows the card and its balance after
            self.records[card.household_id][0] = replace(latest, card_moves=(
                CardMovement("resident", card_uid[-4:], amount_fen, card.balance_fen),))
            result = TopUpResult(number, before, card.balance_fen)
            self.outcomes[idempotency_key] = (signature, result)
            return result

    # --- cards ---------------------------------------------------------------------------------
    def report_card_lost(self, household_id: str, card_uid: str, language: str) -> CardActionResult:
        self._enter("report_card_lost")
        with self._lock:
            card = self._card_of(household_id, card_uid)
            if card.status is CardStatus.REPLACED:
                raise errors.CardReplaced(card_uid)
            card.status = CardStatus.LOST
            number = self._receipt(household_id, "card_loss", 0, "", card_uid)
            return CardActionResult(card_uid, card.status, number, 0, card.balance_fen)

    def unfreeze_card(self, household_id: str, card_uid: str, language: str) -> CardActionResult:
        self._enter("unfreeze_card")
        with self._lock:
            card = self._card_of(household_id, card_uid)
            if card.status is CardStatus.LOST:
                raise errors.CardBlocked(card_uid)
            if card.status is CardStatus.REPLACED:
                raise errors.CardReplaced(card_uid)
            if card.frozen_by_staff:
                raise errors.CardFrozenByStaff(card_uid)
            card.status = CardStatus.ACTIVE
            number = self._receipt(household_id, "card_unfreeze", 0, "", card_uid)
            return CardActionResult(card_uid, card.status, number, 0, card.balance_fen)

    def replace_card(self, household_id: str, old_card_uid: str, new_card_uid: str, method: PaymentMethod,
                     idempotency_key: str, language: str, control: PaymentControl | None = None,
                     credit_fen: int = 0) -> CardActionResult:
        self._enter("replace_card")
        with self._lock:
            signature = ("replace_card", household_id, old_card_uid, new_card_uid, method, credit_fen)
            previous = self._replay(idempotency_key, signature)
            if previous is not None:
                return previous
            old = self._card_of(household_id, old_card_uid)
            if new_card_uid in self.cards:
                raise errors.CardError(new_card_uid)
            fee = self.site.card_replacement_fee_fen
            self._pay(household_id, method, fee, None, control, credit_fen)
            balance, old.balance_fen, old.status = old.balance_fen, 0, CardStatus.REPLACED
            self.cards[new_card_uid] = data.FakeCard(new_card_uid, household_id, CardStatus.ACTIVE, balance)
            number = self._receipt(household_id, "card_replacement", fee, method, f"{old_card_uid}->{new_card_uid}")
            result = CardActionResult(new_card_uid, CardStatus.ACTIVE, number, fee, balance)
            self.outcomes[idempotency_key] = (signature, result)
            return result

    # --- bookings, parking, direct debit ----------------------------------------------------------
    def booking_options(self) -> tuple[BookingOption, ...]:
        self._enter("booking_options")
        return data.demo_booking_options()

    def booking_slots(self, kind: str, first_day: date, days: int) -> tuple[BookingSlot, ...]:
        self._enter("booking_slots")
        slots = []
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for n, (hour, period) in enumerate(((9, "am"), (14, "pm"))):
                start = datetime(day.year, day.month, day.day, hour)
                slot_id = f"{kind}-{start:%Y%m%d%H}"
                places = 0 if slot_id in self.booked_slots else data.DEMO_SLOT_PLACES[(offset * 2 + n) % 4]
                slots.append(BookingSlot(slot_id, kind, start, start + timedelta(hours=3), places > 0, places, period))
        return tuple(slots)

    def book(self, household_id: str, slot_id: str, method: PaymentMethod, idempotency_key: str,
             language: str, control: PaymentControl | None = None, credit_fen: int = 0) -> BookingResult:
        self._enter("book")
        with self._lock:
            signature = ("book", household_id, slot_id, method, credit_fen)
            previous = self._replay(idempotency_key, signature)
            if previous is not None:
                return previous
            if slot_id in self.booked_slots:
                raise errors.SlotUnavailable(slot_id)
            kind, _, stamp = slot_id.rpartition("-")
            fee = next((o.fee_fen for o in data.demo_booking_options() if o.kind == kind), None)
            if fee is None:
                raise errors.NotFound(slot_id)
            self._pay(household_id, method, fee, None, control, credit_fen)
            start = datetime.strptime(stamp, "%Y%m%d%H")
            ticket = self._next("T")
            self.booked_slots[slot_id] = ticket
            number = self._receipt(household_id, "booking", fee, method, slot_id)
            result = BookingResult(ticket, number, BookingSlot(slot_id, kind, start, start + timedelta(hours=3), False,
                                                               period="am" if start.hour < 12 else "pm"))
            self.outcomes[idempotency_key] = (signature, result)
            return result

    def parking_spaces(self, household_id: str) -> tuple[ParkingSpaceView, ...]:
        self._enter("parking_spaces")
        return tuple(space for space, holder in self.parking.values() if holder == household_id)

    def free_parking_spaces(self) -> tuple[ParkingSpaceView, ...]:
        self._enter("free_parking_spaces")
        return tuple(space for space, holder in self.parking.values() if holder is None)

    def pay_parking(self, household_id: str, space_id: str, months: int, method: PaymentMethod,
                    idempotency_key: str, language: str, control: PaymentControl | None = None,
                    credit_fen: int = 0) -> ParkingResult:
        self._enter("pay_parking")
        with self._lock:
            signature = ("pay_parking", household_id, space_id, months, method, credit_fen)
            previous = self._replay(idempotency_key, signature)
            if previous is not None:
                return previous
            space, holder = self.parking.get(space_id, (None, None))
            if space is None or holder != household_id or months <= 0:
                raise errors.NotFound(space_id)
            amount = space.monthly_rent_fen * months
            self._pay(household_id, method, amount, None, control, credit_fen)
            number = self._receipt(household_id, "parking", amount, method, space.label)
            result = ParkingResult(self._next("PK"), number, amount)
            self.outcomes[idempotency_key] = (signature, result)
            return result

    def apply_parking(self, household_id: str, space_id: str, mode: str, language: str) -> ParkingResult:
        self._enter("apply_parking")
        with self._lock:
            space, holder = self.parking.get(space_id, (None, None))
            if space is None or holder is not None or mode not in ("rent", "buy"):
                raise errors.SlotUnavailable(space_id)
            self.parking[space_id] = (replace(space, state="applied"), household_id)
            return ParkingResult(self._next("PA"))

    def banks(self) -> tuple[BankOption, ...]:
        self._enter("banks")
        return data.demo_banks()

    def sign_direct_debit(self, household_id: str, bank_code: str, account_number: str,
                          language: str) -> MandateResult:
        self._enter("sign_direct_debit")
        digits = account_number.replace(" ", "")
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise errors.InvalidAmount("account number")
        if bank_code not in {b.bank_code for b in data.demo_banks()}:
            raise errors.NotFound(bank_code)
        with self._lock:
            self._household(household_id)
            result = MandateResult(self._next("DD"), bank_code, f"{digits[:4]} **** **** {digits[-4:]}")
            self.mandates[household_id] = result
            return result

    # --- records ---------------------------------------------------------------------------------
    def my_records(self, household_id: str, language: str, offset: int = 0, limit: int = 8) -> RecordsPage:
        self._enter("my_records")
        rows = self.records.get(household_id, [])
        return RecordsPage(tuple(rows[offset:offset + limit]), offset, limit, len(rows))

    def record_detail(self, household_id: str, record_id: str, language: str) -> RecordDetail:
        self._enter("record_detail")
        entry = next((e for e in self.records.get(household_id, []) if e.record_id == record_id), None)
        if entry is None:
            raise errors.NotFound(record_id)
        method = self.receipts.get(entry.receipt_number, {}).get("method", "")
        return RecordDetail(entry, entry.kind, str(method), (("Reference", f"REF-{entry.receipt_number}"),))

    def reprint(self, receipt_number: str, household_id: str | None = None) -> None:
        self._enter("reprint")
        receipt = self.receipts.get(receipt_number)
        if receipt is None or (household_id is not None and receipt["household"] != household_id):
            raise errors.NotFound(receipt_number)
        if self.devices["printer"].state is DeviceState.DOWN:
            raise errors.PrinterNotReady(reason=self.devices["printer"].detail or "offline")
        self.printed.append(receipt_number)

    def sign_up_event(self, household_id: str, event_id: str) -> str:
        self._enter("sign_up_event")
        with self._lock:
            if event_id not in self.events:
                raise errors.NotFound(event_id)
            event, tiers = self.events[event_id]
            if (household_id, event_id) in self.sign_ups:
                return f"EV-{event_id}-{household_id}"
            if event.seats_left <= 0:
                raise errors.SlotUnavailable(event_id)
            self.events[event_id] = (replace(event, seats_left=event.seats_left - 1), tiers)
            self.sign_ups.add((household_id, event_id))
            return f"EV-{event_id}-{household_id}"


def _wall(moment: datetime) -> datetime:
    """The fake keeps naive site wall times; an aware instant from a flow's clock is brought onto them."""
    return to_site(moment).replace(tzinfo=None) if moment.tzinfo is not None else moment
