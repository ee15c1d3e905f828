"""The facade's household half: summary, paying, cards, bookings, parking, direct debit, records."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING


from kiosk.app_runtime import mapping
from kiosk.domain import site_clock
from kiosk.domain.terms import BookingKind, PaymentMethod as CoreMethod
from kiosk.errors import AlreadyDone, InvalidAmount, NotFound
from kiosk.flows import records as r
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.services import (bookings, card_replacement, card_value, cards, charges, direct_debit, history, households,
                            member_events, parking, payments, receipts, staff)

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime

PERIOD_HOURS = {"am": (9, 12), "pm": (14, 17)}


class HouseholdFacade:
    rt: KioskRuntime

    # --- summary ----------------------------------------------------------------------------
    def household_summary(self, household_id: str) -> r.HouseholdSummary:
        with unit_of_work(self.rt.db.factory) as s:
            view = households.household_summary(s, int(household_id), today=self.rt.local_today())
        cards = tuple(mapping.card(c) for c in view.cards)
        summary = r.HouseholdSummary(str(view.household_id), view.unit_masked, view.tier,
                                     tuple(mapping.bill(b) for b in view.bills), credit_fen=view.credit_fen,
                                     cards=cards)
        # no journey has chosen a card yet: the household's only card, else none (kiosk.flows.card_picker)
        return summary.acting_on(cards[0] if len(cards) == 1 else None)

    def _card_id(self, uid: str | None) -> int | None:
        if not uid:
            return None
        with unit_of_work(self.rt.db.factory) as s:
            card = cards.card_by_uid(s, uid)
            if card is None:
                from kiosk.errors import CardUnknown

                raise CardUnknown(uid)
            return card.id

    # --- money -------------------------------------------------------------------------------
    def pay_bills(self, household_id: str, bill_ids: tuple[str, ...], method: r.PaymentMethod,
                  idempotency_key: str, language: str, card_uid: str | None = None,
                  control: PaymentControl | None = None, credit_fen: int = 0) -> r.PaymentResult:
        core = mapping.core_method(method)
        card_id = self._card_id(card_uid) if core is CoreMethod.CARD else None
        control = control or PaymentControl()
        outcome = payments.pay_bills(self.rt.db.factory, self.rt.till, key=idempotency_key,
                                     household_id=int(household_id), bill_ids=[int(b) for b in bill_ids],
                                     method=core, language=language, card_id=card_id,
                                     move_money=self.rt.money_mover(core, control, card_uid), credit_fen=credit_fen)
        self.rt.receipt_issued()
        balance_after = outcome.balance_after_fen if card_id is not None else None  # as recorded: a retry says the same
        kept, used = self._credit_of(outcome.payment_id)
        return r.PaymentResult(str(outcome.payment_id), outcome.receipt_number, outcome.amount_fen, method,
                               tuple(bill_ids), balance_after, kept, used)

    def _credit_of(self, payment_id: int) -> tuple[int, int]:
        """(overpayment kept as credit, credit used) of a payment."""
        from kiosk.persistence.models import Payment

        with unit_of_work(self.rt.db.factory) as s:
            p = s.get(Payment, payment_id)
            if p is None:
                return 0, 0
            kept = max(0, p.received_fen - payments.other_part(p)) if p.method in ("cash", "qr") else 0
            return kept, payments.credit_part(p)

    def top_up(self, card_uid: str, amount_fen: int, method: r.PaymentMethod, idempotency_key: str, language: str,
               control: PaymentControl | None = None, credit_fen: int = 0) -> r.TopUpResult:
        core = mapping.core_method(method)
        if core is CoreMethod.CARD:
            raise InvalidAmount("a card cannot be topped up from its own balance")
        control = control or PaymentControl()
        result = card_value.top_up(self.rt.db.factory, self.rt.till, key=idempotency_key, card_uid=card_uid,
                                   amount_fen=amount_fen, method=core, language=language,
                                   move_money=self.rt.money_mover(core, control, card_uid),
                                   write_card=self.rt.card_writer(control), credit_fen=credit_fen)
        self.rt.receipt_issued()
        return r.TopUpResult(result.outcome.receipt_number, result.balance_before_fen, result.balance_after_fen)

    # --- cards -------------------------------------------------------------------------------
    def report_card_lost(self, household_id: str, card_uid: str, language: str) -> r.CardActionResult:
        card_id = self._card_id(card_uid)
        with unit_of_work(self.rt.db.factory) as s:
            res = cards.report_loss(s, self.rt.till, household_id=int(household_id), card_id=card_id,
                                    language=language)
            balance = cards.card_balance(s, card_id)
        self.rt.receipt_issued()
        return r.CardActionResult(card_uid, r.CardStatus(res.status), res.receipt_number, 0, balance)

    def unfreeze_card(self, household_id: str, card_uid: str, language: str) -> r.CardActionResult:
        card_id = self._card_id(card_uid)
        with unit_of_work(self.rt.db.factory) as s:
            res = cards.unfreeze_card(s, self.rt.till, household_id=int(household_id), card_id=card_id,
                                      language=language)
            balance = cards.card_balance(s, card_id)
        self.rt.receipt_issued()
        return r.CardActionResult(card_uid, r.CardStatus(res.status), res.receipt_number, 0, balance)

    def replace_card(self, household_id: str, old_card_uid: str, new_card_uid: str, method: r.PaymentMethod,
                     idempotency_key: str, language: str, control: PaymentControl | None = None,
                     credit_fen: int = 0) -> r.CardActionResult:
        with unit_of_work(self.rt.db.factory) as s:  # a staff badge must not become a resident's card
            if staff.staff_card_holder(s, new_card_uid) is not None:
                raise AlreadyDone(f"card {new_card_uid} is a staff card")
        core = mapping.core_method(method)
        control = control or PaymentControl()
        fee = self.rt.settings.payments.card_replacement_fee_fen
        result = card_replacement.replace_card(self.rt.db.factory, self.rt.till, key=idempotency_key,
                                         household_id=int(household_id), old_card_id=self._card_id(old_card_uid),
                                         new_uid=new_card_uid, method=core, fee_fen=fee, language=language,
                                         move_money=self.rt.money_mover(core, control, old_card_uid),
                                         write_card=self.rt.card_writer(control), credit_fen=credit_fen)
        self.rt.receipt_issued()
        return r.CardActionResult(new_card_uid, r.CardStatus.ACTIVE, result.outcome.receipt_number, fee,
                                  result.transferred_fen)

    # --- bookings -----------------------------------------------------------------------------
    def booking_options(self) -> tuple[r.BookingOption, ...]:
        return tuple(r.BookingOption(kind, fee) for kind, fee in self.rt.booking_fees.items())

    def booking_slots(self, kind: str, first_day: date, days: int) -> tuple[r.BookingSlot, ...]:
        with unit_of_work(self.rt.db.factory) as s:
            views = bookings.slots(s, self.rt.till.site_id, first_day, days, self.rt.booking_capacity, "zh_Hans")
        out = []
        for v in views:
            start_h, end_h = PERIOD_HOURS[v.period]
            start = datetime(v.slot_date.year, v.slot_date.month, v.slot_date.day, start_h, tzinfo=site_clock.site_zone())
            out.append(r.BookingSlot(f"{kind}:{v.slot_date.isoformat()}:{v.period}", kind, start,
                                     start + timedelta(hours=end_h - start_h), v.taken < v.capacity, v.free, v.period))
        return tuple(out)

    def book(self, household_id: str, slot_id: str, method: r.PaymentMethod, idempotency_key: str, language: str,
             control: PaymentControl | None = None, card_uid: str | None = None,
             credit_fen: int = 0) -> r.BookingResult:
        try:
            kind, day, period = slot_id.split(":")
            slot_day = date.fromisoformat(day)
            BookingKind(kind)
        except ValueError as exc:
            raise NotFound(slot_id) from exc
        core = mapping.core_method(method)
        control = control or PaymentControl()
        res = bookings.book(self.rt.db.factory, self.rt.till, key=idempotency_key, household_id=int(household_id),
                            kind=kind, slot_date=slot_day, period=period, method=core, language=language,
                            fees=self.rt.booking_fees, capacity=self.rt.booking_capacity,
                            card_id=self._card_id(card_uid) if core is CoreMethod.CARD else None,
                            today=self.rt.local_today(), move_money=self.rt.money_mover(core, control, card_uid),
                            credit_fen=credit_fen)
        self.rt.receipt_issued()
        start_h, end_h = PERIOD_HOURS[period]
        start = datetime(slot_day.year, slot_day.month, slot_day.day, start_h)
        return r.BookingResult(res.ticket_no, res.outcome.receipt_number,
                               r.BookingSlot(slot_id, kind, start, start + timedelta(hours=end_h - start_h), False,
                                             period=period))

    # --- parking ------------------------------------------------------------------------------
    @staticmethod
    def _space(v: parking.SpaceView) -> r.ParkingSpaceView:
        return r.ParkingSpaceView(str(v.space_id), v.code, v.state, v.monthly_rent_fen, v.price_fen, v.paid_until)

    def parking_spaces(self, household_id: str) -> tuple[r.ParkingSpaceView, ...]:
        with unit_of_work(self.rt.db.factory) as s:
            return tuple(self._space(v) for v in parking.household_spaces(s, int(household_id)))

    def free_parking_spaces(self) -> tuple[r.ParkingSpaceView, ...]:
        with unit_of_work(self.rt.db.factory) as s:
            return tuple(self._space(v) for v in parking.free_spaces(s, self.rt.till.site_id))

    def pay_parking(self, household_id: str, space_id: str, months: int, method: r.PaymentMethod,
                    idempotency_key: str, language: str, control: PaymentControl | None = None,
                    card_uid: str | None = None, credit_fen: int = 0) -> r.ParkingResult:
        core = mapping.core_method(method)
        control = control or PaymentControl()
        res = parking.pay_rent(self.rt.db.factory, self.rt.till, key=idempotency_key, household_id=int(household_id),
                               space_id=int(space_id), months=months, method=core, language=language,
                               card_id=self._card_id(card_uid) if core is CoreMethod.CARD else None,
                               today=self.rt.local_today(), move_money=self.rt.money_mover(core, control, card_uid),
                               credit_fen=credit_fen)
        self.rt.receipt_issued()
        return r.ParkingResult(res.outcome.reference, res.outcome.receipt_number, res.outcome.amount_fen)

    def apply_parking(self, household_id: str, space_id: str, mode: str, language: str) -> r.ParkingResult:
        with unit_of_work(self.rt.db.factory) as s:
            res = parking.apply(s, self.rt.till, household_id=int(household_id), space_id=int(space_id), mode=mode)
        return r.ParkingResult(res.reference)

    # --- direct debit -------------------------------------------------------------------------
    def banks(self) -> tuple[r.BankOption, ...]:
        return tuple(r.BankOption(b.code, b.name) for b in direct_debit.bank_options(self.rt.banks))

    def sign_direct_debit(self, household_id: str, bank_code: str, account_number: str,
                          language: str) -> r.MandateResult:
        secret = self.rt.settings.secrets.account_hash_key if self.rt.settings.secrets else ""
        with unit_of_work(self.rt.db.factory) as s:
            hh = charges.household(s, int(household_id))
            res = direct_debit.sign_up(s, self.rt.till, household_id=hh.id, bank_code=bank_code,
                                       account_number=account_number, holder_name=hh.holder_name,
                                       banks=self.rt.banks, secret=secret, language=language)
        self.rt.receipt_issued()
        return r.MandateResult(res.reference, res.bank_code, res.account_masked)

    # --- records ------------------------------------------------------------------------------
    def my_records(self, household_id: str, language: str, offset: int = 0, limit: int = 8) -> r.RecordsPage:
        with unit_of_work(self.rt.db.factory) as s:
            page = history.household_history(s, int(household_id), language, offset=offset, limit=limit)
        return r.RecordsPage(tuple(mapping.record(row) for row in page.rows), page.offset, page.limit, page.total)

    def record_detail(self, household_id: str, record_id: str, language: str) -> r.RecordDetail:
        with unit_of_work(self.rt.db.factory) as s:
            d = history.history_detail(s, int(household_id), record_id, language)
        return r.RecordDetail(mapping.record(d.row), d.title, d.method, d.fields, d.notes, d.reprint_count)

    def reprint(self, receipt_number: str, household_id: str | None = None) -> None:
        number = mapping.receipt_number(receipt_number)
        with unit_of_work(self.rt.db.factory) as s:
            row = receipts.find(s, self.rt.till.site_id, number)
            if household_id is not None and row.household_id != int(household_id):
                raise NotFound(receipt_number)
            receipts.queue_reprint(s, row, self.rt.till.kiosk_id)
        self.rt.receipt_issued()

    def sign_up_event(self, household_id: str, event_id: str) -> str:
        with unit_of_work(self.rt.db.factory) as s:
            res = member_events.sign_up(s, event_id=int(event_id), household_id=int(household_id),
                                        actor=f"household:{household_id}")
        return res.reference
