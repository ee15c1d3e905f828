"""Staff journeys: unlock with a staff card or the hidden gesture, then a PIN; maintenance home: devices, settlement,
service."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kiosk import errors
from kiosk.domain.terms import (CREDIT_CREATED_LABELS as CREATED_LABELS, CREDIT_USED_LABELS as USED_LABELS,
                                METHOD_LABELS, PaymentMethod as CoreMethod)
from kiosk.flows.base import ErrorView, Flow, ProgressView
from kiosk.flows.records import (BILL_KIND_LABELS, PAYMENT_METHOD_LABELS, BillKind, DeviceHealth, PaymentMethod,
                                 SettlementView, StaffRole, StaffView)
from kiosk.i18n import N_

# The hidden gesture: taps in these screen corners, in this order, within GESTURE_WINDOW_S.
UNLOCK_GESTURE = ("top_left", "top_right", "top_left", "top_right")
GESTURE_WINDOW_S = 4.0


class GestureDetector:
    """Recognises the hidden corner-tap sequence that opens staff sign-in."""

    def __init__(self, sequence: tuple[str, ...] = UNLOCK_GESTURE, window_s: float = GESTURE_WINDOW_S) -> None:
        self.sequence = sequence
        self.window_s = window_s
        self.taps: list[tuple[str, float]] = []

    def tap(self, corner: str, at: float) -> bool:
        self.taps = [(c, t) for c, t in self.taps if at - t <= self.window_s] + [(corner, at)]
        recent = tuple(c for c, _ in self.taps[-len(self.sequence):])
        if recent == self.sequence:
            self.taps.clear()
            return True
        return False


class UnlockStep(StrEnum):
    PIN = "pin"
    CHECKING = "checking"
    LOCKED = "locked"


@dataclass(frozen=True)
class StaffUnlockView:
    step: UnlockStep
    title: str
    prompt: str
    entry: str
    can_submit: bool
    progress: ProgressView | None
    error: ErrorView | None


class StaffUnlockFlow(Flow):
    route = "staff_unlock"

    def __init__(self, ctx, card_uid: str | None = None, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.step = UnlockStep.PIN
        self.pin = ""
        self.card_uid: str | None = card_uid  # a staff card tapped here, or on the attract screen before
        self.error: ErrorView | None = None

    def card_tapped(self, uid: str) -> None:
        """A card on the reader while the staff PIN page shows is a staff card: sign in with card + PIN."""
        if self.step is UnlockStep.PIN:
            self.card_uid, self.error = uid, None
            self.changed()

    def key(self, char: str) -> None:
        if self.step is not UnlockStep.PIN:
            return
        if char == "back":
            self.pin = self.pin[:-1]
        elif char == "clear":
            self.pin = ""
        elif char.isdigit() and len(self.pin) < 8:
            self.pin += char
        self.changed()

    def submit(self) -> None:
        if self.step is not UnlockStep.PIN or len(self.pin) < 4:
            return
        pin, card, self.pin, self.step, self.error = self.pin, self.card_uid, "", UnlockStep.CHECKING, None
        self.call("staff_sign_in", lambda: self.services.staff_sign_in(pin, card), self._signed_in, self._refused)
        self.changed()

    def _signed_in(self, staff: StaffView) -> None:
        self.session.staff = staff
        self.ctx.navigate("staff_home")

    def _refused(self, exc: errors.KioskError) -> None:
        self.step = UnlockStep.LOCKED if isinstance(exc, errors.AccountLocked) else UnlockStep.PIN
        hint = N_("Ask a supervisor to unlock the account.") if isinstance(exc, errors.AccountLocked) else ""
        self.error = self.error_view(exc, hint)

    def leave(self) -> None:
        self.ctx.navigate("attract")

    def view(self) -> StaffUnlockView:
        return StaffUnlockView(
            self.step, self.t(N_("Staff sign-in")),
            self.t(N_("Sign-in is locked")) if self.step is UnlockStep.LOCKED else
            self.t(N_("Staff card read. Enter your PIN")) if self.card_uid else self.t(N_("Enter your staff PIN")),
            "●" * len(self.pin), self.step is UnlockStep.PIN and len(self.pin) >= 4,
            ProgressView(self.t(N_("Checking, please wait")), False) if self.step is UnlockStep.CHECKING else None,
            self.error)


class StaffStep(StrEnum):
    LOADING = "loading"
    READY = "ready"
    SETTLEMENT = "settlement"
    FAILED = "failed"


@dataclass(frozen=True)
class StaffHomeView:
    step: StaffStep
    title: str
    staff_name: str
    devices: tuple[tuple[str, str, str], ...]  # (device, state word, detail)
    out_of_service: bool
    service_line: str
    settlement_lines: tuple[tuple[str, str], ...]
    message: str
    progress: ProgressView | None
    error: ErrorView | None
    technician: bool = False  # device setup is offered to technicians and admins


DEVICE_NAMES = {"reader": N_("Card reader"), "printer": N_("Receipt printer"), "cash": N_("Banknote acceptor"),
                "gateway": N_("Payment service"), "clock": N_("Clock"), "scanner": N_("Payment-code scanner"),
                "database": N_("Estate database")}  # the database: listed only while it is gone
DEVICE_DETAILS = {"clock": N_("{detail} s off the database's clock")}  # details given as numbers, worded here
RECEIPT_KIND_LABELS = {"bill_payment": N_("Fee payments"), "top_up": N_("Card top-up"),
                       "card_replacement": N_("Card replacement fee"), "booking": N_("Service bookings"),
                       "parking": N_("Parking")}
STATE_WORDS = {"ok": N_("Working"), "degraded": N_("Degraded"), "down": N_("Not working")}


def method_label(method: str, t: Any) -> str:
    """A core payment method value ("card", "cash", "qr", "credit") in the person's words."""
    if method in PaymentMethod.__members__.values():
        return t(PAYMENT_METHOD_LABELS[PaymentMethod(method)])
    if method in CoreMethod.__members__.values():
        return t(METHOD_LABELS[CoreMethod(method)])
    return method or "-"


class StaffHomeFlow(Flow):
    route = "staff_home"

    def __init__(self, ctx, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.step = StaffStep.LOADING
        self.devices: tuple[DeviceHealth, ...] = ()
        self.out_of_service = False
        self.settlement_view: SettlementView | None = None
        self.message = ""
        self.error: ErrorView | None = None
        self.exit_requested = False

    @property
    def staff_id(self) -> str:
        staff = self.session.staff
        if staff is None:
            raise errors.PermissionDenied("no staff signed in")
        return staff.staff_id

    def start(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.step = StaffStep.LOADING
        self.call("service_status", self.services.service_status, self._status, self._failed)
        self.changed()

    def _status(self, status) -> None:  # type: ignore[no-untyped-def]
        self.ctx.status = status
        self.devices, self.out_of_service, self.step = status.devices, status.out_of_service, StaffStep.READY

    def _failed(self, exc: errors.KioskError) -> None:
        self.step, self.error = StaffStep.FAILED, self.error_view(exc)

    def toggle_service(self) -> None:
        staff_id, reason = self.staff_id, (None if self.out_of_service else N_("Under maintenance"))
        self.call("set_out_of_service", lambda: self.services.set_out_of_service(staff_id, reason),
                  lambda _: self.refresh(), self._failed)

    def settlement(self, print_slip: bool = False) -> None:
        staff_id = self.staff_id  # "today" is the site's day, which the services know (the kiosk's clock may differ)
        self.step = StaffStep.LOADING
        self.call("settlement", lambda: self.services.settlement(staff_id, None, print_slip), self._settled,
                  self._failed)
        self.changed()

    def _settled(self, view: SettlementView) -> None:
        self.settlement_view, self.step = view, StaffStep.SETTLEMENT

    def open(self, route: str) -> None:
        """Staff tools: staff_handover, staff_callbacks, staff_notices, staff_receipts, staff_import, staff_cards,
        staff_card_states, staff_devices, staff_features (services on and off)."""
        self.ctx.navigate(route)

    def lock(self) -> None:
        """Leave maintenance mode (also what the 2-minute idle timer does)."""
        self.session.staff = None
        self.ctx.navigate("attract")

    def exit_to_desktop(self) -> None:
        self.exit_requested = True
        self.ctx.navigate("exit")

    def _kind_label(self, kind: str) -> str:
        if kind in BillKind.__members__.values():
            return self.t(BILL_KIND_LABELS[BillKind(kind)])
        return self.t(RECEIPT_KIND_LABELS[kind]) if kind in RECEIPT_KIND_LABELS else kind

    def _method_label(self, method: str) -> str:
        return method_label(method, self.t)

    def _device_detail(self, d: DeviceHealth) -> str:
        detail = self.t(DEVICE_DETAILS[d.device], detail=d.detail) if d.device in DEVICE_DETAILS else d.detail
        if d.reopen_attempt and d.next_retry_s is not None:  # the worker's back-off, visible (kiosk.runtime.supervisor)
            detail = self.t(N_("{detail} (reopening: attempt {attempt}, next in {seconds} s)"), detail=detail,
                            attempt=d.reopen_attempt, seconds=f"{d.next_retry_s:.1f}")
        return detail

    def view(self) -> StaffHomeView:
        s = self.settlement_view
        lines: tuple[tuple[str, str], ...] = ()
        if s is not None:
            lines = tuple((self._kind_label(k), self.money(v)) for k, v in s.totals_by_kind)
            lines += tuple((self.t(N_("By method: {method}"), method=self._method_label(k)), self.money(v))
                           for k, v in s.totals_by_method)
            lines += tuple((self.t(CREATED_LABELS[k]), self.money(v)) for k, v in s.credit_created if k in CREATED_LABELS)
            lines += tuple((self.t(USED_LABELS[k]), self.money(v)) for k, v in s.credit_used if k in USED_LABELS)
            lines += ((self.t(N_("Receipts")), f"{s.first_receipt} – {s.last_receipt}" if s.first_receipt else "-"),
                      (self.t(N_("Voids")), f"{s.void_count} / {self.money(s.void_total_fen)}"),
                      (self.t(N_("Total")), self.money(s.total_fen)))
        staff = self.session.staff
        return StaffHomeView(
            self.step, self.t(N_("Maintenance")), staff.name if staff else "",
            tuple((self.t(DEVICE_NAMES.get(d.device, d.device)), self.t(STATE_WORDS[d.state.value]),
                   self._device_detail(d)) for d in self.devices),
            self.out_of_service,
            self.t(N_("Kiosk is out of service")) if self.out_of_service else self.t(N_("Kiosk is in service")),
            lines, self.message,
            ProgressView(self.t(N_("Loading, please wait")), False) if self.step is StaffStep.LOADING else None,
            self.error, bool(staff and staff.role in (StaffRole.TECHNICIAN, StaffRole.ADMIN)))
