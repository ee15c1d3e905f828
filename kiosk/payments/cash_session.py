"""`CashSession`: one banknote payment, from the no-change notice to paid, cancelled or fault.

The session drives a `kiosk.ports.CashAcceptor` and tells its owner about money through one
sink, `on_stacked(event)`, called once per STACKED event (the owner writes the ledger entry and
the event counter there, in one transaction). Nothing else counts as money: an ESCROW note can
still be returned. The owner calls `poll_once()` every 100-200 ms from the device's worker
thread and shows `view()`.

Which notes are enabled: every note that does not reach the amount still due, plus the smallest
note that covers it. A larger note would overpay by at least one whole smaller note; with
`overpay=OverpayPolicy.REFUSE` such notes stay inhibited (and are returned if one arrives
anyway), with `OverpayPolicy.ASK` they are enabled, held in escrow and stacked only after the
person agrees (`accept_overpay()`), otherwise returned. `max_excess_fen` widens the rule for
sites that accept any excess up to that much without asking.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.errors import DeviceError
from kiosk.i18n import N_
from kiosk.ports import CashAcceptor, CashEvent, CashEventKind

log = logging.getLogger(__name__)

NOTICE_NO_CHANGE = N_("No change is given. Any amount above the total is credited to your household account.")
MSG_INSERT = N_("Please insert your banknotes.")
MSG_CONFIRM_OVERPAY = N_("This note is more than needed: {excess} will be credited to your account. Accept it?")
MSG_NOTE_REFUSED = N_("This note is more than needed and was returned. Please use a smaller note.")
MSG_NOTE_REJECTED = N_("The note was not accepted. Please try another note.")
MSG_NOTE_RETURNED = N_("Your note was returned.")
MSG_PAID = N_("Thank you. The full amount has been received.")
MSG_PAID_WITH_CREDIT = N_("Thank you. {credit} above the total has been credited to your account.")
MSG_CANCELLED = N_("Payment cancelled.")
MSG_CANCELLED_WITH_CREDIT = N_("Payment cancelled. {credit} already inserted has been credited to your account.")
MSG_FAULT = N_("The banknote acceptor has a problem ({reason}). Money already inserted is kept for you; "
               "please contact staff.")

REASON_JAM = N_("note jammed")
REASON_STACKER_FULL = N_("cash box full")
REASON_STACKER_REMOVED = N_("cash box removed")
REASON_FRAUD = N_("suspicious note handling")
REASON_DEVICE = N_("not responding")
REASON_RESET = N_("restarted while a note was moving")
REASON_RECORDING = N_("the payment could not be recorded")
REASON_ERROR = N_("device error")


class CashState(StrEnum):
    NOTICE = "notice"  # the no-change notice is shown; acceptance is off
    ACCEPTING = "accepting"
    CONFIRM_OVERPAY = "confirm_overpay"  # a note in escrow overpays: waiting for the person
    PAID = "paid"
    CANCELLING = "cancelling"  # a note already on its way to the cash box must land first
    CANCELLED = "cancelled"
    FAULT = "fault"


class OverpayPolicy(StrEnum):
    REFUSE = "refuse"
    ASK = "ask"


FINAL_STATES = frozenset({CashState.PAID, CashState.CANCELLED, CashState.FAULT})


@dataclass(frozen=True)
class CashView:
    """What the screen shows. Messages are msgids; params are amounts in fen for the UI to format."""

    state: CashState
    due_fen: int
    inserted_fen: int
    remaining_fen: int
    credit_fen: int  # goes to the household account: the excess when paid, all of it when cancelled
    enabled_fen: tuple[int, ...]
    escrow_fen: int
    notice: str
    message: str
    params: tuple[tuple[str, int | str], ...] = field(default=())  # 'reason' holds a msgid too
    reference_counter: int = 0  # last device event counter seen, for the staff reference

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


def acceptable_notes(values: Iterable[int], remaining_fen: int, max_excess_fen: int = 0) -> set[int]:
    """Note values that make sense when `remaining_fen` is still due (see the module docstring)."""
    values = {v for v in values if v > 0}
    if remaining_fen <= 0:
        return set()
    covering = [v for v in values if v >= remaining_fen]
    limit = min(covering) if covering else max(values, default=0)
    return {v for v in values if v <= limit or v - remaining_fen <= max_excess_fen}


class CashSession:
    """One cash payment. Not thread-safe: call it from the acceptor's worker thread only."""

    def __init__(self, acceptor: CashAcceptor, due_fen: int, on_stacked: Callable[[CashEvent], None], *,
                 overpay: OverpayPolicy = OverpayPolicy.ASK, max_excess_fen: int = 0,
                 consent_timeout_s: float = 20.0, on_change: Callable[[CashView], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(due_fen, bool) or not isinstance(due_fen, int) or due_fen <= 0:
            raise ValueError(f"amount due must be positive integer fen, got {due_fen!r}")
        self.acceptor = acceptor
        self.due_fen = due_fen
        self.overpay = OverpayPolicy(overpay)
        self.max_excess_fen = max_excess_fen
        self.consent_timeout_s = consent_timeout_s
        self._on_stacked = on_stacked
        self._on_change = on_change
        self._clock = clock
        self.state = CashState.NOTICE
        self.inserted_fen = 0
        self.stacked: list[CashEvent] = []
        self._values: set[int] = set()
        self._enabled: set[int] = set()
        self._escrow: CashEvent | None = None
        self._in_transit_fen = 0  # routed to the cash box, STACKED not seen yet
        self._consent_deadline = 0.0
        self._message = NOTICE_NO_CHANGE
        self._params: dict[str, int | str] = {}
        self._last_counter = 0

    # --- what the flow calls ------------------------------------------------------------------
    def view(self) -> CashView:
        remaining = max(0, self.due_fen - self.inserted_fen)
        if self.state in (CashState.CANCELLED, CashState.CANCELLING, CashState.FAULT):
            credit = self.inserted_fen
        else:
            credit = max(0, self.inserted_fen - self.due_fen)
        return CashView(self.state, self.due_fen, self.inserted_fen, remaining, credit,
                        tuple(sorted(self._enabled)), self._escrow.value_fen if self._escrow else 0,
                        NOTICE_NO_CHANGE, self._message, tuple(sorted(self._params.items())), self._last_counter)

    def start(self) -> CashView:
        """Call once the no-change notice has been shown: enables the sensible notes."""
        if self.state is not CashState.NOTICE:
            raise RuntimeError(f"start() in state {self.state}")
        try:
            self._values = set(self.acceptor.bill_values().values())
            self.state = CashState.ACCEPTING
            self._say(MSG_INSERT)
            self._refresh_enabled()
        except DeviceError as exc:
            self._fault(REASON_DEVICE, exc)
        return self._changed()

    def poll_once(self) -> CashView:
        """Read the acceptor's new events and act on them; also handles the consent timeout.

        Keep calling it after the session is final until the next session starts: a note that
        lands late is still credited through `on_stacked`, and a stray note is returned.
        """
        if self.state is CashState.NOTICE:
            return self.view()
        try:
            events = self.acceptor.poll()
        except DeviceError as exc:
            self._fault(REASON_DEVICE, exc)
            return self._changed()
        return self.handle_events(events)

    def handle_events(self, events: Iterable[CashEvent]) -> CashView:
        for event in events:
            self._last_counter = event.counter or self._last_counter
            try:
                self._handle(event)
            except DeviceError as exc:
                self._fault(REASON_DEVICE, exc)
        if self.state is CashState.CONFIRM_OVERPAY and self._clock() >= self._consent_deadline:
            self.decline_overpay()
        return self._changed()

    def accept_overpay(self) -> CashView:
        if self.state is CashState.CONFIRM_OVERPAY and self._escrow is not None:
            self.state = CashState.ACCEPTING
            self._stack(self._escrow)
        return self._changed()

    def decline_overpay(self) -> CashView:
        if self.state is CashState.CONFIRM_OVERPAY:
            self.state = CashState.ACCEPTING
            self._return_escrow(MSG_NOTE_RETURNED)
        return self._changed()

    def cancel(self) -> CashView:
        """Stop taking money: return a note in escrow; a note already moving is waited for."""
        if self.state in FINAL_STATES:
            return self.view()
        if self.state is CashState.NOTICE:
            self.state = CashState.CANCELLED
            self._say(MSG_CANCELLED)
            return self._changed()
        try:
            self._disable()
            self.acceptor.return_escrow()  # also a note that entered escrow since the last poll
            self._escrow = None
        except DeviceError as exc:
            self._fault(REASON_DEVICE, exc)
            return self._changed()
        self.state = CashState.CANCELLING if self._in_transit_fen else CashState.CANCELLED
        self._say_cancelled()
        return self._changed()

    # --- events -------------------------------------------------------------------------------
    def _handle(self, event: CashEvent) -> None:
        kind = event.kind
        if kind is CashEventKind.STACKED:
            self._credit(event)
        elif kind is CashEventKind.ESCROW:
            self._decide(event)
        elif kind is CashEventKind.RETURNED:
            self._escrow = None
            if self.state is CashState.ACCEPTING:
                self._say(MSG_NOTE_RETURNED)
        elif kind is CashEventKind.REJECTED:
            if self.state is CashState.ACCEPTING:
                self._say(MSG_NOTE_REJECTED)
        elif kind is CashEventKind.STACKER_REPLACED:
            log.info("cash box replaced (counter %s)", event.counter)
        elif kind is CashEventKind.RESET:
            self._escrow = None  # a power-up pushes the escrow note back out
            if self._in_transit_fen and self.state not in FINAL_STATES:
                self._fault(REASON_RESET, event)
            elif self.state in (CashState.ACCEPTING, CashState.CONFIRM_OVERPAY):
                self.state = CashState.ACCEPTING
                self._refresh_enabled()
        elif self.state in FINAL_STATES:
            log.warning("cash acceptor %s after the session ended (counter %s): %s", kind, event.counter, event.detail)
        else:
            reason = {CashEventKind.JAM: REASON_JAM, CashEventKind.STACKER_FULL: REASON_STACKER_FULL,
                      CashEventKind.STACKER_REMOVED: REASON_STACKER_REMOVED,
                      CashEventKind.FRAUD: REASON_FRAUD}.get(kind, REASON_ERROR)
            self._fault(reason, event)

    def _credit(self, event: CashEvent) -> None:
        self._in_transit_fen = max(0, self._in_transit_fen - event.value_fen)
        try:
            self._on_stacked(event)
        except Exception:
            # The device has the note and its counter: recovery via events_since() credits it.
            log.exception("recording stacked note (counter %s) failed", event.counter)
            self._fault(REASON_RECORDING, event)
            raise
        self.stacked.append(event)
        self.inserted_fen += event.value_fen
        if self.state is CashState.CANCELLING and not self._in_transit_fen:
            self.state = CashState.CANCELLED
            self._say_cancelled()
        elif self.state in (CashState.ACCEPTING, CashState.CONFIRM_OVERPAY) and self.inserted_fen >= self.due_fen:
            self._disable()
            self.state = CashState.PAID
            credit = self.inserted_fen - self.due_fen
            self._say(MSG_PAID_WITH_CREDIT if credit else MSG_PAID, credit=credit)
        elif self.state is CashState.ACCEPTING:
            self._refresh_enabled()
        elif self.state is CashState.PAID:
            self._say(MSG_PAID_WITH_CREDIT, credit=self.inserted_fen - self.due_fen)
        elif self.state in FINAL_STATES:
            self._say_final_credit()

    def _decide(self, event: CashEvent) -> None:
        self._escrow = event
        if self.state is not CashState.ACCEPTING:
            self.acceptor.return_escrow()  # not taking money now; the screen keeps its message
            self._escrow = None
            return
        remaining = self.due_fen - self.inserted_fen - self._in_transit_fen
        if event.value_fen in acceptable_notes(self._values, remaining, self.max_excess_fen):
            self._stack(event)
        elif self.overpay is OverpayPolicy.ASK and remaining > 0:
            self.state = CashState.CONFIRM_OVERPAY
            self._consent_deadline = self._clock() + self.consent_timeout_s
            self._say(MSG_CONFIRM_OVERPAY, excess=event.value_fen - remaining)
        else:
            self._return_escrow(MSG_NOTE_REFUSED)

    def _stack(self, event: CashEvent) -> None:
        remaining = self.due_fen - self.inserted_fen - self._in_transit_fen
        if event.value_fen >= remaining:
            self._disable()  # the total is reached: no second note may slip in
        self.acceptor.stack_escrow()
        self._escrow = None
        self._in_transit_fen += event.value_fen

    def _return_escrow(self, message: str) -> None:
        self.acceptor.return_escrow()
        self._escrow = None
        self._say(message)

    # --- helpers ------------------------------------------------------------------------------
    def _refresh_enabled(self) -> None:
        remaining = self.due_fen - self.inserted_fen - self._in_transit_fen
        if self.overpay is OverpayPolicy.ASK:
            wanted = set(self._values) if remaining > 0 else set()
        else:
            wanted = acceptable_notes(self._values, remaining, self.max_excess_fen)
        if wanted:
            self.acceptor.enable(sorted(wanted))
            self._enabled = wanted
        else:
            self._disable()

    def _disable(self) -> None:
        self._enabled = set()
        self.acceptor.disable()

    def _fault(self, reason: str, cause: object) -> None:
        log.error("cash session fault: %s (%s)", reason, cause)
        self.state = CashState.FAULT
        self._say(MSG_FAULT, reason=reason)
        try:
            self._disable()
            if self._escrow is not None:
                self.acceptor.return_escrow()
                self._escrow = None
        except DeviceError as exc:
            log.warning("could not make the acceptor safe after a fault: %s", exc)

    def _say(self, message: str, **params: int | str) -> None:
        self._message = message
        self._params = params

    def _say_cancelled(self) -> None:
        if self.inserted_fen:
            self._say(MSG_CANCELLED_WITH_CREDIT, credit=self.inserted_fen)
        else:
            self._say(MSG_CANCELLED)

    def _say_final_credit(self) -> None:
        if self.state is CashState.CANCELLED:
            self._say_cancelled()
        elif self.state is CashState.FAULT:
            self._params = {**self._params, "credit": self.inserted_fen}

    def _changed(self) -> CashView:
        view = self.view()
        if self._on_change is not None:
            self._on_change(view)
        return view
