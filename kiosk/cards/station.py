"""CardStation: the kiosk's card desk over the reader supervisor — verified taps, card payments, top-up and
issue writes that are final only once read back, and interrupted writes resolved on the next tap.

Every device step is one job on the reader's worker (so it never races the CardWatcher's polls); the
ledger work happens on the caller's thread between jobs, each step its own unit of work. The station must
be called from a worker thread of the UI, never from the reader's own thread (an event subscriber).
"""
from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kiosk.cards import reconcile
from kiosk.cards.application import CardApplication, WriteState, check_against_ledger
from kiosk.cards.layout import CardImage
from kiosk.cards.reconcile import Goal, OpenWrite
from kiosk.errors import (BusinessRuleError, CardAuthFailed, CardError, CardRemoved, CardRolledBack,
                          CardTampered, CardUnknown, CardWritePending, CardWriteUnsupported, DeviceTimeout,
                          DeviceUnavailable, NoCardPresented, PaymentCancelled)
from kiosk.i18n import N_
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.persistence.models import Payment
from kiosk.ports import CardReader, CardUid, Tag
from kiosk.runtime.events import CardVerified, EventBus
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.services.cards import CardFacts, CardWrite, WriteCard, normalize_uid
from kiosk.services.payments import SettledWith
from kiosk.services.receipts import Till

T = TypeVar("T")
PUT_BACK = N_("Put the same card back on the reader to finish.")
HOLD = PaymentProgress(Stage.HOLD_CARD, can_cancel=False)


class CardStation:
    """`check_tap`, `spend_mover`, `write_card`, `wait_for_card` (see docs/card-reader.md)."""

    def __init__(self, supervisor: DeviceSupervisor[CardReader], factory: sessionmaker[Session], till: Till,
                 app: CardApplication, bus: EventBus | None = None, *, language: str = "zh_Hans",
                 return_wait_s: float = 30.0, job_timeout_s: float = 5.0) -> None:
        self.supervisor = supervisor
        self.factory = factory
        self.till = till
        self.app = app
        self.bus = bus
        self.language = language  # receipts of payments settled at a later tap
        self.return_wait_s = return_wait_s  # how long a pulled card is waited for before the intent is left open
        self.job_timeout_s = job_timeout_s
        self.actor = f"kiosk:{till.kiosk_code}"

    @classmethod
    def from_runtime(cls, rt: Any) -> CardStation:
        secrets = rt.settings.secrets
        app = CardApplication(bytes.fromhex(secrets.card_master_key), bytes.fromhex(secrets.card_mac_key))
        ui = getattr(rt.settings, "ui", None)
        language = str(getattr(ui, "language", "") or "zh_Hans")
        return cls(rt.supervisors["reader"], rt.db.factory, rt.till, app, rt.bus, language=language)

    # --- device jobs --------------------------------------------------------------------------
    @property
    def can_write(self) -> bool:
        return bool(getattr(self.supervisor.worker.device, "can_write", False))

    def _device(self, fn: Callable[[CardReader], T], timeout: float | None = None) -> T:
        if self.supervisor.worker.on_worker_thread():
            raise RuntimeError("CardStation called on the reader's own thread; submit from another thread")
        try:
            return self.supervisor.submit(fn).result(timeout or self.job_timeout_s)
        except concurrent.futures.TimeoutError as exc:
            raise DeviceTimeout("card job did not finish", device=self.supervisor.name) from exc

    @staticmethod
    def _select(reader: CardReader, uid_hex: str) -> Tag:
        tag = reader.poll(0.25)
        if tag is None or tag.uid.hex != uid_hex:
            raise CardRemoved(f"card {uid_hex} is not on the reader")
        return tag

    def _on_card(self, uid_hex: str, fn: Callable[[CardReader, Tag], T], control: PaymentControl | None,
                 reference: str) -> T:
        """Run fn on the card; if it leaves, ask for it back (bounded, cancellable) and run fn again — fn must
        be idempotent for one intent (write_value, cancel_write, issue are). Not back: CardWritePending."""
        deadline = time.monotonic() + self.return_wait_s
        while True:
            try:
                return self._device(lambda r: fn(r, self._select(r, uid_hex)))
            except CardRemoved:
                if control is None or not self._await_return(uid_hex, control, deadline):
                    raise CardWritePending(f"card {uid_hex}", reference=reference) from None

    def _await_return(self, uid_hex: str, control: PaymentControl, deadline: float) -> bool:
        control.report(PaymentProgress(Stage.PLACE_CARD, message=PUT_BACK, can_cancel=True))
        while not control.cancelled:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                tag = self._device(lambda r: r.poll(min(0.2, left)), timeout=left + self.job_timeout_s)
            except (DeviceUnavailable, DeviceTimeout):
                control.wait_cancelled(min(0.2, max(left, 0.0)))
                continue
            if tag is not None and tag.uid.hex == uid_hex:
                control.report(HOLD)
                return True
            if tag is not None:  # another card lies there: don't spin on it
                control.wait_cancelled(0.05)
        return False

    # --- reading and checking -----------------------------------------------------------------
    def _expected(self, facts: CardFacts, value_fen: int, counter: int) -> CardImage:
        return CardImage(CardUid.from_hex(facts.uid_hex), reconcile.card_record(facts), value_fen, counter, True)

    def _refuse(self, facts: CardFacts, exc: CardError) -> CardError:
        if isinstance(exc, (CardTampered, CardRolledBack)):
            reconcile.flag(self.factory, facts.card_id, f"{exc.code} {exc.detail}", self.actor)
        return exc

    def _changed(self, current: CardImage, expected: CardImage) -> CardError:
        if current.uid != expected.uid or current.record != expected.record:
            return CardTampered("the card's record is not the ledger's")
        if current.mac_ok and current.counter < expected.counter:
            return CardRolledBack(f"card counter {current.counter} is behind {expected.counter}")
        return CardTampered(f"card holds {current.value_fen} fen at counter {current.counter}"
                            + ("" if current.mac_ok else ", MAC mismatch"))

    def tapped(self, uid_hex: str) -> CardFacts:
        """The ledger's card for a tap, refused before the card is touched when it is unknown, lost, replaced or
        flagged (CardFlagged, E4014: at every tap, for every use, until a staff repair clears the flag)."""
        return reconcile.refuse_flagged(reconcile.tapped_card(self.factory, normalize_uid(uid_hex)))

    def check_tap(self, uid_hex: str) -> None:
        """A card on the reader: refuse unknown / lost / replaced / flagged cards, resolve its open writes, then
        read it, verify its MAC and compare record, counter and value with the ledger. Tampered or rolled-back
        cards are flagged for staff and refused (CardTampered / CardRolledBack), and from then on refused at
        every tap (CardFlagged) until staff repair them."""
        facts = self.tapped(uid_hex)
        if self.can_write:  # an identification-only reader cannot read the card's data: status only
            self.resolve_open_writes(facts, None)
            self._verified(facts)
        if self.bus is not None:  # the end of the tap latency (kiosk.runtime.card_watcher)
            self.bus.publish(CardVerified(self.supervisor.name, facts.uid_hex))

    def _verified(self, facts: CardFacts) -> CardImage:
        # read with the tap when nothing was open, else after resolving it
        state = facts.ledger or reconcile.ledger_state(self.factory, facts.card_id)
        try:
            image = self._device(lambda r: self.app.inspect(r, self._select(r, facts.uid_hex)))
            if image.record != reconcile.card_record(facts):
                raise CardTampered("the card's record is not the ledger's")
            check_against_ledger(image, state.counter, state.value_fen)
        except (CardTampered, CardRolledBack) as exc:
            raise self._refuse(facts, exc) from None
        except CardAuthFailed as exc:
            raise self._refuse(facts, CardUnknown("the card's keys are not this site's")) from exc
        return image

    # --- open writes ---------------------------------------------------------------------------
    def resolve_open_writes(self, facts: CardFacts, control: PaymentControl | None,
                            skip_operation: int | None = None) -> None:
        """Bring every pending write of this card (card pulled, crash, power cut) to its goal, once; then a
        verified payment the kiosk never settled (it stopped in between) is settled or given back. Nothing to do,
        and nothing read, for a card the tap's read found with nothing open (`facts.ledger`)."""
        if facts.ledger is not None:
            return
        for ow in reconcile.open_writes(self.factory, facts.card_id):
            if ow.write.operation_id != skip_operation:
                self._resolve(facts, ow, control)
        orphan = reconcile.orphaned_spend(self.factory, facts.card_id)
        if orphan is not None:
            self._settle_or_undo(facts, orphan, reconcile.goal_for(self.factory, orphan, True), control)

    def _resolve(self, facts: CardFacts, ow: OpenWrite, control: PaymentControl | None) -> None:
        if ow.write.kind in reconcile.REBASED_KINDS:  # recorded while an earlier write was open: onto its result
            ow = replace(ow, write=reconcile.rebased(self.factory, ow.write))
        w = ow.write
        reference = f"operation {w.operation_id}"
        if w.kind == "repair":  # a staff repair cut short: only a staff repair finishes it; the card stays flagged
            raise CardTampered(f"the staff repair (operation {w.operation_id}) of this card is unfinished")
        if w.kind == "issue":
            self._on_card(facts.uid_hex, lambda r, tag: self._issue(r, tag, facts, w.new_value_fen), control, reference)
            reconcile.finish(self.factory, self.till, ow, Goal.APPLY, card_counter=0, card_value_fen=w.new_value_fen,
                             language=self.language, actor=self.actor)
            return
        expected = self._expected(facts, w.old_value_fen, w.old_counter)
        try:
            state, current = self._on_card(facts.uid_hex, lambda r, tag: self.app.probe_write(
                r, tag, expected, w.new_value_fen), control, reference)
        except CardAuthFailed as exc:
            raise self._refuse(facts, CardUnknown("the card's keys are not this site's")) from exc
        if state is not WriteState.CHANGED:
            goal = reconcile.goal_for(self.factory, ow, state is WriteState.APPLIED)
        elif self._undoing(current, expected, w):
            goal = Goal.UNDO  # the write was being undone when the card left or the kiosk stopped: finish that
        else:
            raise self._refuse(facts, self._changed(current, expected))
        after = self._card_to(facts, expected, w, goal, control, reference)
        if goal is Goal.APPLY and w.kind == "spend":
            self._settle_or_undo(facts, ow, goal, control)
            return
        reconcile.finish(self.factory, self.till, ow, goal, card_counter=after.counter,
                         card_value_fen=after.value_fen, language=self.language, actor=self.actor)

    def _card_to(self, facts: CardFacts, expected: CardImage, w: CardWrite, goal: Goal,
                 control: PaymentControl | None, reference: str) -> CardImage:
        try:
            return self._on_card(facts.uid_hex, lambda r, tag: self._to_goal(r, tag, expected, w, goal),
                                 control, reference)
        except (CardTampered, CardRolledBack) as exc:
            raise self._refuse(facts, exc) from None

    def _settle_or_undo(self, facts: CardFacts, ow: OpenWrite, goal: Goal, control: PaymentControl | None) -> None:
        """A card payment whose value is off the card: settle it, or — if it will not settle (cancelled,
        failed, or its settlement is refused now) — give the value back to the card."""
        w = ow.write
        if goal is Goal.APPLY:
            try:
                reconcile.finish(self.factory, self.till, ow, Goal.APPLY, card_counter=w.new_counter,
                                 card_value_fen=w.new_value_fen, language=self.language, actor=self.actor)
                return
            except BusinessRuleError as exc:  # e.g. the bills were paid otherwise meanwhile
                ow = reconcile.give_up_payment(self.factory, self.till, ow, exc.code)
        expected = self._expected(facts, w.old_value_fen, w.old_counter)
        back = self._card_to(facts, expected, w, Goal.UNDO, control, f"operation {w.operation_id}")
        reconcile.finish(self.factory, self.till, ow, Goal.UNDO, card_counter=back.counter,
                         card_value_fen=back.value_fen, language=self.language, actor=self.actor)

    def _to_goal(self, reader: CardReader, tag: Tag, expected: CardImage, w: CardWrite, goal: Goal) -> CardImage:
        if goal is Goal.APPLY:
            return self.app.write_value(reader, tag, expected, w.new_value_fen)
        state, current = self.app.probe_write(reader, tag, expected, w.new_value_fen)
        if state is WriteState.APPLIED or self._undoing(current, expected, w):
            # the value left the card but the payment will not happen: give it back (or finish giving it back:
            # write_value completes a give-back cut short and leaves one that is done as it is)
            applied = replace(expected, value_fen=w.new_value_fen, counter=w.new_counter)
            return self.app.write_value(reader, tag, applied, w.old_value_fen)
        return self.app.cancel_write(reader, tag, expected, w.new_value_fen)[1]

    def _undoing(self, current: CardImage, expected: CardImage, w: CardWrite) -> bool:
        """The card is part or all the way through undoing `w` (a give-back or a cancel the kiosk did not get
        to record: the card was pulled, the kiosk stopped) - not tampered with."""
        return self.app.check_undo(current, expected, w.new_value_fen) in (WriteState.TORN, WriteState.APPLIED)

    def _issue(self, reader: CardReader, tag: Tag, facts: CardFacts, value_fen: int) -> CardImage:
        record = reconcile.card_record(facts)
        try:
            image = self.app.inspect(reader, tag)
            if image.mac_ok and image.record == record and image.state == (value_fen, 0):
                return image  # issued before the write was recorded as done
        except (CardUnknown, CardTampered):
            pass
        again = reader.poll(0.25)  # a refused authentication leaves the card idle: select it again
        if again is None or again.uid != tag.uid:
            raise CardRemoved("the card left before it was issued")
        return self.app.issue(reader, again, record, value_fen)

    # --- money movers ---------------------------------------------------------------------------
    def spend_mover(self, card_uid: str, control: PaymentControl) -> Callable[[Payment], SettledWith | None]:
        """`move_money` for card-balance payments: a pending write tied to the payment (recorded with the tap's read
        when the card has nothing open), value - amount written and read back; the write is then marked done by the
        payment's settlement, in its transaction (what the mover returns)."""
        uid_hex = normalize_uid(card_uid)

        def move(payment: Payment) -> SettledWith | None:
            self._require_writer()
            control.report(HOLD)
            facts, spend = reconcile.spend_at_tap(self.factory, uid_hex, payment.id)
            if spend is None:  # something of the card open, or the payment no longer an intent
                self.resolve_open_writes(facts, control)
                spend = reconcile.record_spend(self.factory, payment.id, facts.card_id)
                if spend is None:
                    return None  # an open write of this very payment was found on the card and settled it
            # no separate read: write_value's first step reads the card and refuses it unless it holds exactly
            # what the ledger says (MAC, record, value, counter) - the same check as a tap, 6 card operations less
            self._write(facts, spend.write, control, spend.reference)
            return reconcile.done_with_settlement(spend, self.actor)

        return move

    def write_card(self, control: PaymentControl) -> WriteCard:
        """The `write_card` of top-up, replacement and issue: the write recorded by the service, performed and
        read back while the screen says "keep the card on the reader"."""
        def write(w: CardWrite) -> None:
            self._require_writer()
            control.report(HOLD)
            # read with the write's preparation (a top-up's), or now, with `w` itself not counted as open
            facts, reference = w.at_tap or reconcile.write_at_tap(self.factory, w)
            if w.kind == "issue":
                self._on_card(facts.uid_hex, lambda r, tag: self._issue(r, tag, facts, w.new_value_fen), control,
                              reference)
                return
            if facts.ledger is None:  # something else of the card open: brought to its goal first
                self.resolve_open_writes(facts, control, skip_operation=w.operation_id)
                if w.kind in reconcile.REBASED_KINDS:  # recorded before that: onto what the card now holds
                    w = reconcile.rebased(self.factory, w)
            self._write(facts, w, control, reference)

        return write

    def _write(self, facts: CardFacts, w: CardWrite, control: PaymentControl, reference: str) -> None:
        expected = self._expected(facts, w.old_value_fen, w.old_counter)
        try:
            self._on_card(facts.uid_hex, lambda r, tag: self.app.write_value(r, tag, expected, w.new_value_fen),
                          control, reference)
        except (CardTampered, CardRolledBack) as exc:
            raise self._refuse(facts, exc) from None

    def _require_writer(self) -> None:
        if not self.can_write:
            raise CardWriteUnsupported(f"reader {self.supervisor.name} identifies cards only")

    def wait_for_card(self, control: PaymentControl, timeout_s: float, *, not_uid: str | None = None) -> str:
        """The UID of the next card on the reader (a new card for a replacement), other than `not_uid`.
        Raises PaymentCancelled when cancelled, NoCardPresented when none came in time."""
        control.report(PaymentProgress(Stage.PLACE_CARD))
        deadline = time.monotonic() + timeout_s
        while not control.cancelled:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoCardPresented(f"no card within {timeout_s:g} s")
            try:
                tag = self._device(lambda r: r.poll(min(0.2, left)), timeout=left + self.job_timeout_s)
            except (DeviceUnavailable, DeviceTimeout):
                control.wait_cancelled(min(0.2, left))
                continue
            if tag is not None and tag.uid.hex != not_uid:
                return tag.uid.hex
            if tag is not None:
                control.wait_cancelled(0.05)
        raise PaymentCancelled("cancelled while waiting for a card")
