"""Bookings, parking and direct debit journeys, in the generic step shape (My records: kiosk/flows/my_records.py)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from kiosk.domain.site_clock import site_today
from kiosk.flows.records import BankOption, BookingOption, BookingResult, BookingSlot, MandateResult, ParkingResult
from kiosk.flows.records import ParkingSpaceView
from kiosk.flows.invoice_offer import StepInvoiceOffering
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_, format_time, format_weekday_date

BOOKING_LABELS = {"phone": N_("Telephone installation"), "tv": N_("TV installation"),
                  "broadband": N_("Broadband installation"), "alarm": N_("Alarm system installation"),
                  "intercom": N_("Video intercom installation"), "gas": N_("Gas activation")}
# Material Design icon names (screens/icons.py) of each kind of booking, parking choice and bank row
BOOKING_ICONS = {"phone": "phone-classic", "tv": "television", "broadband": "router-wireless", "alarm": "shield",
                 "intercom": "video", "gas": "fire"}
SLOT_PERIODS = {"am": N_("Morning"), "pm": N_("Afternoon")}
SPACE_STATES = {"owned": N_("Owned"), "rented": N_("Rented"), "free": N_("Free"), "applied": N_("Applied for")}
MONTH_CHOICES = (1, 3, 6, 12)
PRIMARY = {"confirm": N_("Confirm and pay"), "uncertain": N_("Check again"), "done": N_("Done")}
PROMPTS = {"loading": N_("Loading, please wait"), "method": N_("How would you like to pay?"),
           "confirm": N_("Please check and confirm"), "confirm_apply": N_("Please check and confirm"), "paying": N_("Please wait"), "sending": N_("Please wait"),
           "uncertain": N_("We are not sure the payment finished"), "done": N_("Done. Thank you!"),
           "failed": N_("Sorry, this could not be done")}


class BookingFlow(StepInvoiceOffering, StepFlow):
    """kind -> date slot -> method -> confirm fee -> paying -> ticket number."""

    route = "bookings"
    title = N_("Service bookings")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.options: tuple[BookingOption, ...] = ()
        self.kind: BookingOption | None = None
        self.slots: tuple[BookingSlot, ...] = ()
        self.slot: BookingSlot | None = None
        self.result: BookingResult | None = None

    def loaded(self) -> None:
        self.step = "loading"
        self.call("booking_options", self.services.booking_options, self._options, self.fail)

    def _options(self, options: tuple[BookingOption, ...]) -> None:
        self.options, self.step = options, "kind"

    def choose(self, key: str) -> None:
        if self.step == "kind":
            self.kind = next(o for o in self.options if o.kind == key)
            first = site_today(self.ctx.clock()) + timedelta(days=1)
            kind = self.kind.kind
            self.history.append(self.step)
            self.step = "loading"
            self.call("booking_slots", lambda: self.services.booking_slots(kind, first, 3), self._slots, self.fail)
            self.changed()
        elif self.step == "slot":
            slot = next((s for s in self.slots if s.slot_id == key), None)
            if slot is None or not slot.available:  # a full slot is shown disabled, with its reason
                return
            self.slot = slot
            self.go_step("method")
        elif self.step == "method" and self.kind is not None:
            self.pick_method(key, self.kind.fee_fen, allow_card=False)

    def _slots(self, slots: tuple[BookingSlot, ...]) -> None:
        self.slots, self.step = slots, "slot"

    def primary(self) -> None:
        if self.method_continue():  # 扫码支付's questions answered on the method page
            return
        if self.step in ("confirm", "uncertain") and self.summary and self.slot and self.method:
            household, slot, method, language = self.summary.household_id, self.slot.slot_id, self.method, self.language
            credit_fen = self.credit_fen
            self.pay("book", lambda key, control: self.services.book(household, slot, method, key, language,
                                                                     control=control, credit_fen=credit_fen),
                     lambda r: setattr(self, "result", r))
        elif self.step == "done":
            self.done_primary()

    def slot_day(self, slot: BookingSlot) -> str:
        """'周三 12月9日 上午': the weekday, the date and the half-day of a visit."""
        period = slot.period or ("am" if slot.starts_at.hour < 12 else "pm")
        return f"{format_weekday_date(slot.starts_at, self.language)} {self.t(SLOT_PERIODS[period])}"

    def slot_hours(self, slot: BookingSlot) -> str:
        return f"{format_time(slot.starts_at, self.language)}–{format_time(slot.ends_at, self.language)}"

    def slot_option(self, slot: BookingSlot, fee_fen: int, service: str) -> Option:
        """A slot as a row: '周三 12月9日 上午', '09:00–12:00 · 剩余 3 个名额 · 宽带安装', the fee; a full slot is
        disabled with its reason."""
        places = self.t(N_("{count} places left"), count=slot.places_left) \
            if slot.available and slot.places_left is not None else ""
        detail = " · ".join(part for part in (self.slot_hours(slot), places, service) if part)
        return Option(slot.slot_id, self.slot_day(slot), slot.available,
                      reason="" if slot.available else self.t(N_("Fully booked")), detail=detail,
                      icon="calendar-clock", value=self.money(fee_fen))

    def view(self) -> StepView:
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        prompt = PROMPTS.get(self.step, "")
        if self.step == "kind":
            prompt = N_("What would you like to book?")
            options = tuple(Option(o.kind, self.t(BOOKING_LABELS.get(o.kind, o.kind)),
                                   detail=self.t(N_("A visit of half a day; the fee is paid now")),
                                   icon=BOOKING_ICONS.get(o.kind, "calendar"), value=self.money(o.fee_fen))
                            for o in self.options)
        elif self.step == "slot" and self.kind is not None:
            prompt = N_("Please pick a time")
            service = self.t(BOOKING_LABELS.get(self.kind.kind, self.kind.kind))
            options = tuple(self.slot_option(s, self.kind.fee_fen, service) for s in self.slots)
        elif self.step == "method" and self.kind:
            options = self.method_options(self.kind.fee_fen, allow_card=False)
        if self.step in ("confirm", "paying", "uncertain") and self.kind and self.slot:
            lines = ((self.t(BOOKING_LABELS.get(self.kind.kind, self.kind.kind)), self.money(self.kind.fee_fen)),
                     (self.t(N_("Time slot")), f"{self.slot_day(self.slot)} {self.slot_hours(self.slot)}"),
                     self.method_line())
        if self.step == "done" and self.result:
            slot = self.result.slot
            lines = ((self.t(N_("Ticket number")), self.result.ticket_number),
                     (self.t(N_("Time slot")), f"{self.slot_day(slot)} {self.slot_hours(slot)}"),
                     (self.t(N_("Receipt number")), self.result.receipt_number))
        primary = PRIMARY.get(self.step, "")
        return self.base_view(self.t(prompt) if prompt else "", options=options, lines=lines,
                              primary=self.t(primary) if primary else "",
                              device=self.receipt_device(self.result.receipt_number if self.result else ""))


class ParkingFlow(StepInvoiceOffering, StepFlow):
    """My spaces (pay rent for 1-12 months) or apply to rent/buy a free space."""

    route = "parking"
    title = N_("Parking")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.mine: tuple[ParkingSpaceView, ...] = ()
        self.free: tuple[ParkingSpaceView, ...] = ()
        self.space: ParkingSpaceView | None = None
        self.months = 0
        self.mode = ""
        self.result: ParkingResult | None = None

    def loaded(self) -> None:
        household = self.summary.household_id if self.summary else ""
        self.step = "loading"
        self.call("parking_spaces", lambda: (self.services.parking_spaces(household),
                                             self.services.free_parking_spaces()), self._spaces, self.fail)

    def _spaces(self, spaces: tuple[tuple[ParkingSpaceView, ...], tuple[ParkingSpaceView, ...]]) -> None:
        self.mine, self.free = spaces
        self.step = "spaces"

    def _amount(self) -> int:
        return self.space.monthly_rent_fen * self.months if self.space else 0

    def choose(self, key: str) -> None:
        if self.step == "spaces":
            if key == "apply":
                self.go_step("free")
                return
            self.space = next(s for s in self.mine if s.space_id == key)
            self.go_step("months")
        elif self.step == "months":
            self.months = int(key)
            self.go_step("method")
        elif self.step == "method":
            self.pick_method(key, self._amount(), allow_card=False)
        elif self.step == "free":
            self.space = next(s for s in self.free if s.space_id == key)
            self.go_step("mode")
        elif self.step == "mode":
            self.mode = key
            self.go_step("confirm_apply")

    def primary(self) -> None:
        if self.method_continue():  # 扫码支付's questions answered on the method page
            return
        if self.summary is None or self.space is None:
            if self.step == "done":
                self.done_primary()
            return
        household, space, language = self.summary.household_id, self.space.space_id, self.language
        if self.step in ("confirm", "uncertain") and self.method:
            months, method, credit_fen = self.months, self.method, self.credit_fen
            self.pay("pay_parking", lambda key, control: self.services.pay_parking(
                household, space, months, method, key, language, control=control, credit_fen=credit_fen), self._done)
        elif self.step == "confirm_apply":
            mode = self.mode
            self.pay("apply_parking", lambda _key, _control: self.services.apply_parking(household, space, mode, language),
                     self._done)
        elif self.step == "done":
            self.done_primary()

    def _done(self, result: ParkingResult) -> None:
        self.result = result

    def space_detail(self, space: ParkingSpaceView) -> str:
        """'Rented · ¥300.00 a month · Paid until 31 Dec 2026'."""
        parts = [self.t(SPACE_STATES.get(space.state, space.state)),
                 self.t(N_("{amount} a month"), amount=self.money(space.monthly_rent_fen))]
        if space.paid_until is not None:
            parts.append(self.t(N_("Paid until {day}"), day=self.day(space.paid_until)))
        return " · ".join(parts)

    def free_detail(self, space: ParkingSpaceView) -> str:
        """'Rent ¥300.00 a month · Price ¥180,000.00'."""
        parts = [f"{self.t(N_('Rent'))} " + self.t(N_("{amount} a month"), amount=self.money(space.monthly_rent_fen))]
        if space.price_fen:
            parts.append(f"{self.t(N_('Price'))} {self.money(space.price_fen)}")
        return " · ".join(parts)

    def view(self) -> StepView:
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        prompt = PROMPTS.get(self.step, "")
        if self.step == "spaces":
            prompt = N_("Your parking spaces") if self.mine else N_("You have no parking space yet")
            options = tuple(Option(s.space_id, f"{s.label} · {self.t(N_('Pay rent'))}", detail=self.space_detail(s),
                                   icon="car") for s in self.mine)
            options += (Option("apply", self.t(N_("Apply to rent or buy a space")), bool(self.free),
                               reason="" if self.free else self.t(N_("No free spaces")),
                               detail=self.t(N_("{count} free spaces"), count=len(self.free)) if self.free else "",
                               icon="parking"),)
        elif self.step == "months":
            prompt = N_("How many months?")
            options = tuple(Option(str(m), self.t(N_("{count} months"), count=m), icon="calendar",
                                   detail=self.t(N_("{amount} a month"), amount=self.money(self.space.monthly_rent_fen))
                                   if self.space else "",
                                   value=self.money(self.space.monthly_rent_fen * m if self.space else 0))
                            for m in MONTH_CHOICES)
        elif self.step == "method":
            options = self.method_options(self._amount(), allow_card=False)
        elif self.step == "free":
            prompt = N_("Free spaces")
            options = tuple(Option(s.space_id, s.label, detail=self.free_detail(s), icon="parking") for s in self.free)
        elif self.step == "mode":
            prompt = N_("Rent or buy?")
            rent = self.t(N_("{amount} a month"), amount=self.money(self.space.monthly_rent_fen)) if self.space else ""
            price = self.money(self.space.price_fen) if self.space else ""
            options = (Option("rent", self.t(N_("Rent")), icon="calendar-clock", value=rent),
                       Option("buy", self.t(N_("Buy")), icon="key", value=price))
        if self.step in ("confirm", "paying", "uncertain") and self.space:
            lines = ((self.t(N_("Parking space")), self.space.label),
                     (self.t(N_("Months")), str(self.months)), (self.t(N_("Total")), self.money(self._amount())),
                     self.method_line())
        elif self.step == "confirm_apply" and self.space:
            lines = ((self.t(N_("Parking space")), self.space.label),
                     ("", self.t(N_("Staff will contact you about the application."))))
        if self.step == "done" and self.result:
            lines = ((self.t(N_("Reference")), self.result.reference),)
            if self.result.receipt_number:
                lines += ((self.t(N_("Receipt number")), self.result.receipt_number),
                          (self.t(N_("Amount paid")), self.money(self.result.amount_fen)))
        primary = {**PRIMARY, "confirm_apply": N_("Send application")}.get(self.step, "")
        return self.base_view(self.t(prompt) if prompt else "", options=options, lines=lines,
                              primary=self.t(primary) if primary else "",
                              device=self.receipt_device(self.result.receipt_number if self.result else ""))


class DirectDebitFlow(StepFlow):
    """bank from a list -> account number on the keypad (masked) -> confirm -> mandate reference."""

    route = "direct_debit"
    title = N_("Direct debit")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.banks: tuple[BankOption, ...] = ()
        self.bank: BankOption | None = None
        self.account = ""
        self.result: MandateResult | None = None

    def loaded(self) -> None:
        self.step = "loading"
        self.call("banks", self.services.banks, self._banks, self.fail)

    def _banks(self, banks: tuple[BankOption, ...]) -> None:
        self.banks, self.step = banks, "bank"

    def choose(self, key: str) -> None:
        if self.step == "bank":
            self.bank = next(b for b in self.banks if b.bank_code == key)
            self.go_step("account")

    def key(self, char: str) -> None:
        if self.step != "account":
            return
        if char == "back":
            self.account = self.account[:-1]
        elif char == "clear":
            self.account = ""
        elif char.isdigit() and len(self.account) < 19:
            self.account += char
        self.changed()

    def primary(self) -> None:
        if self.step == "account" and 12 <= len(self.account) <= 19:
            self.go_step("confirm")
        elif self.step == "confirm" and self.summary and self.bank:
            household, bank, account, language = self.summary.household_id, self.bank.bank_code, self.account, \
                self.language
            self.pay("sign_direct_debit",
                     lambda _key, _control: self.services.sign_direct_debit(household, bank, account, language),
                     self._done)
        elif self.step in ("done", "failed"):
            self.ctx.navigate("household")

    def _done(self, result: MandateResult) -> None:
        self.result, self.account = result, ""  # the full number is forgotten at once

    def masked(self) -> str:
        digits = self.account
        return "•" * max(0, len(digits) - 4) + digits[-4:]

    def view(self) -> StepView:
        prompt = PROMPTS.get(self.step, "")
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        if self.step == "bank":
            prompt = N_("Please choose your bank")
            options = tuple(Option(b.bank_code, b.name, icon="bank") for b in self.banks)
        elif self.step == "account":
            prompt = N_("Please enter your account number")
        if self.step in ("confirm", "paying") and self.bank:
            lines = ((self.t(N_("Bank")), self.bank.name), (self.t(N_("Account")), self.masked()),
                     ("", self.t(N_("Monthly fees will be collected from this account."))))
        if self.step == "done" and self.result:
            lines = ((self.t(N_("Reference")), self.result.reference),
                     (self.t(N_("Account")), self.result.masked_account))
        primary = {"account": N_("Next"), "confirm": N_("Confirm"), "done": N_("Done")}.get(self.step, "")
        return self.base_view(self.t(prompt) if prompt else "", options=options, lines=lines, entry=self.masked(),
                              keypad=self.step == "account", primary=self.t(primary) if primary else "",
                              primary_enabled=self.step != "account" or 12 <= len(self.account) <= 19)
