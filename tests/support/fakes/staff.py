"""Staff, settlement, notices admin, callbacks admin and health for FakeKioskServices (same in-memory state)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from kiosk import errors
from kiosk.services.csv_export import csv_text
from tests.support.fakes import data
from kiosk.flows.records import (
    CallbackView, DeviceHealth, Feature, HandoverView, NoticeDraft, ServiceStatus, SettlementView, StaffView,
    SwitchedOffView, VoidResult,
)

MAX_PIN_FAILURES = 5
LOCK_MINUTES = 15


class FakeStaffMixin:
    """Needs the attributes FakeKioskServices sets up (staff, receipts, notices, callbacks, devices ...)."""

    staff: dict[str, data.FakeStaff]
    switched_off: dict[Feature, SwitchedOffView]  # features staff switched off, with their message
    receipts: dict[str, dict[str, Any]]
    notices: list[data.FakeNotice]
    callbacks: dict[str, CallbackView]
    devices: dict[str, DeviceHealth]
    audit: list[tuple[str, str]]
    cash_box_fen: int
    out_of_service_reason: str | None
    _lock: Any

    def _enter(self, method: str) -> None: ...  # provided by FakeKioskServices
    def now(self) -> Any: ...
    def _next(self, prefix: str) -> str: ...
    def _receipt(self, household: str | None, kind: str, amount: int, method: str, note: str) -> str: ...

    # --- staff ----------------------------------------------------------------------------------
    def staff_sign_in(self, pin: str, card_uid: str | None = None) -> StaffView:
        self._enter("staff_sign_in")
        if card_uid:
            return self._card_sign_in(card_uid.upper(), pin)
        with self._lock:
            now = self.now()
            for member in self.staff.values():
                if member.locked_until and now < member.locked_until:
                    raise errors.AccountLocked(until=member.locked_until.strftime("%H:%M"))
            match = next((m for m in self.staff.values() if m.pin == pin), None)
            if match is None:
                # the fake tracks failures per kiosk (no name typed): lock every account after 5
                failures = max(m.failed for m in self.staff.values()) + 1
                for member in self.staff.values():
                    member.failed = failures
                    if failures >= MAX_PIN_FAILURES:
                        member.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                if failures >= MAX_PIN_FAILURES:
                    self.audit.append(("-", "staff locked"))
                    raise errors.AccountLocked(until=(now + timedelta(minutes=LOCK_MINUTES)).strftime("%H:%M"))
                raise errors.WrongPin(remaining=MAX_PIN_FAILURES - failures)
            for member in self.staff.values():
                member.failed, member.locked_until = 0, None
            self.audit.append((match.staff_id, "sign in"))
            return StaffView(match.staff_id, match.name, match.role)

    def _card_sign_in(self, card_uid: str, pin: str) -> StaffView:
        """Staff card + PIN: the card names the account, so failures count (and lock) that account only."""
        with self._lock:
            now = self.now()
            member = next((m for m in self.staff.values() if m.card_uid == card_uid), None)
            if member is None:
                raise errors.AuthError(f"no staff card {card_uid}")
            if member.locked_until and now < member.locked_until:
                raise errors.AccountLocked(until=member.locked_until.strftime("%H:%M"))
            if member.pin != pin:
                member.failed += 1
                if member.failed >= MAX_PIN_FAILURES:
                    member.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                    self.audit.append((member.staff_id, "staff locked"))
                    raise errors.AccountLocked(until=member.locked_until.strftime("%H:%M"))
                raise errors.WrongPin(remaining=MAX_PIN_FAILURES - member.failed)
            member.failed, member.locked_until = 0, None
            self.audit.append((member.staff_id, "sign in by card"))
            return StaffView(member.staff_id, member.name, member.role)

    def _staff(self, staff_id: str, action: str) -> None:
        if staff_id not in self.staff:
            raise errors.PermissionDenied(staff_id)
        self.audit.append((staff_id, action))

    def settlement(self, staff_id: str, day: date | None = None, print_slip: bool = False) -> SettlementView:
        self._enter("settlement")
        day = day or self.now().date()
        with self._lock:
            self._staff(staff_id, f"settlement {day}")
            rows = [(n, r) for n, r in sorted(self.receipts.items()) if r["when"].date() == day and r["amount"]]
            by_kind: dict[str, int] = {}
            by_method: dict[str, int] = {}
            voids = [r for _, r in rows if r["voided"]]
            for _, r in rows:
                if not r["voided"]:
                    by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + r["amount"]
                    by_method[r["method"]] = by_method.get(r["method"], 0) + r["amount"]
            csv_out = csv_text(["receipt", "kind", "method", "amount_fen", "voided"],
                               ([number, r["kind"], r["method"], r["amount"], int(r["voided"])] for number, r in rows))
            view = SettlementView(day, tuple(sorted(by_kind.items())), tuple(sorted(by_method.items())),
                                  rows[0][0] if rows else "", rows[-1][0] if rows else "",
                                  len(voids), sum(r["amount"] for r in voids), csv_out,
                                  credit_used=tuple(sorted(self.credit_used.items())))
            if print_slip:
                self._receipt(None, "settlement", 0, "", str(day))
            return view

    def shift_handover(self, staff_id: str, counted_cash_fen: int) -> HandoverView:
        self._enter("shift_handover")
        with self._lock:
            self._staff(staff_id, f"handover counted={counted_cash_fen}")
            number = self._receipt(None, "shift_handover", 0, "", staff_id)
            view = HandoverView(self._next("SH"), self.cash_box_fen, counted_cash_fen, number,
                                credit_used_fen=sum(self.credit_used.values()))
            self.cash_box_fen = 0
            return view

    def void_receipt(self, staff_id: str, receipt_number: str, reason: str, invoice_reason: str = "") -> VoidResult:
        self._enter("void_receipt")
        with self._lock:
            self._staff(staff_id, f"void {receipt_number}: {reason}")
            receipt = self.receipts.get(receipt_number)
            if receipt is None:
                raise errors.NotFound(receipt_number)
            if receipt["voided"]:
                raise errors.ReceiptAlreadyVoided(receipt_number)
            receipt["voided"] = True
            self._void_invoices(receipt_number, invoice_reason or "3")  # type: ignore[attr-defined]
            return VoidResult(receipt_number, self._receipt(None, "void", 0, "", receipt_number))

    def list_notices(self, staff_id: str) -> tuple[NoticeDraft, ...]:
        self._enter("list_notices")
        return tuple(NoticeDraft(n.category, n.titles, n.bodies, n.publish_at, n.expires_at, n.pinned, n.tiers,
                                 n.notice_id, n.withdrawn_at) for n in self.notices)

    def save_notice(self, staff_id: str, draft: NoticeDraft) -> str:
        self._enter("save_notice")
        with self._lock:
            self._staff(staff_id, "save notice")
            notice_id = draft.notice_id or self._next("N")
            self.notices = [n for n in self.notices if n.notice_id != notice_id]
            self.notices.append(data.FakeNotice(notice_id, draft.category, dict(draft.titles), dict(draft.bodies),
                                                draft.publish_at, draft.expires_at, draft.pinned, draft.tiers))
            return notice_id

    def withdraw_notice(self, staff_id: str, notice_id: str) -> None:
        self._enter("withdraw_notice")
        with self._lock:
            self._staff(staff_id, f"withdraw notice {notice_id}")
            notice = self._notice(notice_id)
            if notice.withdrawn_at is not None:
                raise errors.AlreadyDone(notice_id)
            notice.withdrawn_at = self.now()

    def pin_notice(self, staff_id: str, notice_id: str, pinned: bool) -> None:
        self._enter("pin_notice")
        with self._lock:
            notice = self._notice(notice_id)
            if notice.withdrawn_at is not None and pinned:
                raise errors.AlreadyDone(notice_id)
            if notice.pinned != pinned:
                self._staff(staff_id, f"{'pin' if pinned else 'unpin'} notice {notice_id}")
                notice.pinned = pinned

    def _notice(self, notice_id: str) -> data.FakeNotice:
        found = next((n for n in self.notices if n.notice_id == notice_id), None)
        if found is None:
            raise errors.NotFound(notice_id)
        return found

    def list_callbacks(self, staff_id: str, open_only: bool = True) -> tuple[CallbackView, ...]:
        self._enter("list_callbacks")
        return tuple(c for c in self.callbacks.values() if not (open_only and c.done))

    def mark_callback_done(self, staff_id: str, callback_id: str) -> None:
        self._enter("mark_callback_done")
        with self._lock:
            self._staff(staff_id, f"callback done {callback_id}")
            if callback_id not in self.callbacks:
                raise errors.NotFound(callback_id)
            self.callbacks[callback_id] = replace(self.callbacks[callback_id], done=True)

    def set_out_of_service(self, staff_id: str, reason: str | None) -> None:
        self._enter("set_out_of_service")
        with self._lock:
            self._staff(staff_id, f"out of service: {reason}")
            self.out_of_service_reason = reason

    def switch_feature(self, staff_id: str, feature: str, message: str | None) -> None:
        self._enter("switch_feature")
        with self._lock:
            self._staff(staff_id, f"feature {feature} {'on' if message is None else 'off: ' + message}")
            if message is None:
                self.switched_off.pop(Feature(feature), None)
            else:
                self.switched_off[Feature(feature)] = SwitchedOffView(Feature(feature), message,
                                                                      self.staff[staff_id].name)

    # --- health ----------------------------------------------------------------------------------
    def service_status(self) -> ServiceStatus:
        self._enter("service_status")
        return ServiceStatus(self.out_of_service_reason is not None, self.out_of_service_reason or "",
                             tuple(self.devices.values()),
                             tuple(self.switched_off[f] for f in Feature if f in self.switched_off),
                             qr_networks=getattr(self, "qr_networks", ()), code_networks=getattr(self, "code_networks", ()))

    def device_health(self) -> tuple[DeviceHealth, ...]:
        self._enter("device_health")
        return tuple(self.devices.values())
