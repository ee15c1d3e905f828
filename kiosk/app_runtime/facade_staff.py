"""The facade's staff half: unlock, settlement, handover, voids, notices, callbacks, service state."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.app_runtime import mapping
from kiosk.app_runtime.facade_card_repair import CardRepairFacade
from kiosk.app_runtime.facade_card_states import CardStatesFacade
from kiosk.app_runtime.facade_staff_tools import StaffToolsFacade
from kiosk.app_runtime.facade_technician import TechnicianFacade
from kiosk.domain.terms import StaffRole
from kiosk.errors import PermissionDenied
from kiosk.flows import records as r
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Kiosk, StaffUser
from kiosk.services import audit, callbacks, feature_switches, notices, staff, staff_unlock

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime

LANGUAGE_FOR_SLIPS = "zh_Hans"


class StaffFacade(StaffToolsFacade, CardRepairFacade, CardStatesFacade, TechnicianFacade):
    """Staff calls; the receipts/import/printer-check tools, card repair, card states and the technician calls come
    with it."""

    rt: KioskRuntime

    def staff_sign_in(self, pin: str, card_uid: str | None = None) -> r.StaffView:
        if card_uid:
            view = staff.sign_in_by_card(self.rt.db.factory, card_uid, pin)
        else:
            view = staff_unlock.unlock(self.rt.db.factory, self.rt.till, pin)
        self.rt.staff_seen()  # the office sees the kiosk in maintenance while staff work on it
        return r.StaffView(str(view.staff_id), view.name, r.StaffRole(view.role))

    def _staff(self, staff_id: str, *roles: StaffRole) -> staff.StaffView:
        with unit_of_work(self.rt.db.factory) as s:
            user = s.get(StaffUser, int(staff_id))
            if user is None or not user.active:
                raise PermissionDenied(f"staff {staff_id}")
            view = staff.StaffView(user.id, user.name, user.role, bool(user.card_uid_hex))
        self.rt.staff_seen()
        if roles:
            staff.require_role(view, *roles)
        return view

    def settlement(self, staff_id: str, day: date | None = None, print_slip: bool = False) -> r.SettlementView:
        from kiosk.services import settlement  # staff-only: imported on first use, not on the start's path

        who = self._staff(staff_id)
        day = day or self.rt.local_today()
        with unit_of_work(self.rt.db.factory) as s:
            report = settlement.daily_settlement(s, self.rt.till.site_id, day, self.rt.settings.site.timezone)
            if print_slip:
                settlement.settlement_slip(s, self.rt.till, report, language=LANGUAGE_FOR_SLIPS,
                                           actor=f"staff:{who.name}")
            else:
                audit.record(s, f"staff:{who.name}", "settlement.viewed", day.isoformat())
        if print_slip:
            self.rt.receipt_issued()
        return r.SettlementView(report.day, report.by_kind, report.by_method, report.first_receipt,
                                report.last_receipt, len(report.voids), report.voided_fen, settlement.to_csv(report),
                                report.credit.created, report.credit.used)

    def shift_handover(self, staff_id: str, counted_cash_fen: int) -> r.HandoverView:
        who = self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            if staff.current_shift(s, self.rt.till.kiosk_id) is None:
                staff.open_shift(s, self.rt.till, staff_id=who.staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            view = staff.close_shift(s, self.rt.till, staff_id=who.staff_id, counted_cash_fen=counted_cash_fen,
                                     language=LANGUAGE_FOR_SLIPS)
        self.rt.receipt_issued()
        return r.HandoverView(str(view.shift_id), view.expected_cash_fen, view.counted_cash_fen, view.receipt_number,
                              view.credit.created_fen, view.credit.used_fen)

    def void_receipt(self, staff_id: str, receipt_number: str, reason: str, invoice_reason: str = "") -> r.VoidResult:
        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        extra = {"invoice_reason": invoice_reason} if invoice_reason else {}
        notice = ""
        if self.rt.void_refunds is not None:  # QR payments are refunded at their network (kiosk.payments.void_refunds)
            outcome = self.rt.void_refunds.void(number=mapping.receipt_number(receipt_number), reason=reason,
                                                actor=f"staff:{who.name}", language=LANGUAGE_FOR_SLIPS, **extra)
            res, notice = outcome.result, outcome.notice
        else:
            from kiosk.services import voids  # staff-only: imported on first use

            with unit_of_work(self.rt.db.factory) as s:
                res = voids.void_receipt(s, self.rt.till, number=mapping.receipt_number(receipt_number),
                                         reason=reason, actor=f"staff:{who.name}", language=LANGUAGE_FOR_SLIPS, **extra)
        self.rt.receipt_issued()
        if self.rt.invoicing is not None:  # the void's red letter (or nothing to do): send it now
            self.rt.invoicing.kick()
        return r.VoidResult(res.receipt_number, res.void_receipt_number, notice)

    def list_notices(self, staff_id: str) -> tuple[r.NoticeDraft, ...]:
        self._staff(staff_id)
        out = []
        with unit_of_work(self.rt.db.factory) as s:
            views = {lang: notices.all_notices(s, self.rt.till.site_id, lang) for lang in ("zh_Hans", "zh_Hant", "en")}
        for i, v in enumerate(views["zh_Hans"]):
            titles = {lang: views[lang][i].title for lang in views}
            bodies = {lang: views[lang][i].body for lang in views}
            out.append(r.NoticeDraft(v.category, titles, bodies, v.publish_at, v.expire_at, v.pinned,
                                     frozenset({v.audience_tier}) if v.audience_tier else frozenset(),
                                     str(v.notice_id), v.withdrawn_at))
        return tuple(out)

    def save_notice(self, staff_id: str, draft: r.NoticeDraft) -> str:
        who = self._staff(staff_id)
        expires = draft.expires_at or draft.publish_at + timedelta(days=30)
        tier = next(iter(draft.tiers)) if len(draft.tiers) == 1 else None
        core = notices.NoticeDraft(draft.category, draft.publish_at, expires,
                                   draft.titles.get("zh_Hans", ""), draft.titles.get("zh_Hant", ""),
                                   draft.titles.get("en", ""), draft.bodies.get("zh_Hans", ""),
                                   draft.bodies.get("zh_Hant", ""), draft.bodies.get("en", ""), draft.pinned, tier)
        with unit_of_work(self.rt.db.factory) as s:
            if draft.notice_id:
                notices.withdraw_notice(s, int(draft.notice_id), actor=f"staff:{who.name}")
            return str(notices.add_notice(s, self.rt.till.site_id, core, actor=f"staff:{who.name}"))

    def withdraw_notice(self, staff_id: str, notice_id: str) -> None:
        who = self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            notices.withdraw_notice(s, int(notice_id), actor=f"staff:{who.name}")

    def pin_notice(self, staff_id: str, notice_id: str, pinned: bool) -> None:
        who = self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            notices.set_pinned(s, int(notice_id), pinned, actor=f"staff:{who.name}")

    def list_callbacks(self, staff_id: str, open_only: bool = True) -> tuple[r.CallbackView, ...]:
        self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            views = callbacks.open_callbacks(s, self.rt.till.site_id, LANGUAGE_FOR_SLIPS, include_done=not open_only)
        return tuple(r.CallbackView(str(v.callback_id), v.phone, v.topic_label, v.created_at, v.status == "done")
                     for v in views)

    def mark_callback_done(self, staff_id: str, callback_id: str) -> None:
        who = self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            callbacks.mark_done(s, callback_id=int(callback_id), staff_name=who.name)

    def set_out_of_service(self, staff_id: str, reason: str | None) -> None:
        who = self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            kiosk = s.scalars(select(Kiosk).where(Kiosk.id == self.rt.till.kiosk_id)).one()
            kiosk.out_of_service, kiosk.out_of_service_reason = reason is not None, (reason or "")[:200]
            audit.record(s, f"staff:{who.name}", "kiosk.out_of_service" if reason else "kiosk.in_service",
                         f"kiosk:{self.rt.till.kiosk_code}", reason=reason or "")

    def switch_feature(self, staff_id: str, feature: str, message: str | None) -> None:
        who = self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            if message is None:
                feature_switches.switch_on(s, self.rt.till.site_id, who.name, feature)
            else:
                feature_switches.switch_off(s, self.rt.till.site_id, who.staff_id, who.name, feature, message)

    def service_status(self) -> r.ServiceStatus:
        guard = self.rt.offline
        if guard is not None and not guard.up:  # the database gone: what was known last, with the database down
            known = getattr(self, "_last_status", None) or r.ServiceStatus(False)
            return replace(known, devices=self.device_health(), cached_at=self.rt.public_cache.refreshed_at
                           if self.rt.public_cache is not None else None)
        status = self._read_status()
        self._last_status = status
        return status

    def _read_status(self) -> r.ServiceStatus:
        with unit_of_work(self.rt.db.factory) as s:
            kiosk = s.scalars(select(Kiosk).where(Kiosk.id == self.rt.till.kiosk_id)).one()
            flag, reason = kiosk.out_of_service, kiosk.out_of_service_reason
            switched = tuple(r.SwitchedOffView(r.Feature(o.feature), o.message, o.by, o.since)
                             for o in feature_switches.switched_off(s, self.rt.till.site_id))
        return r.ServiceStatus(flag, reason, self.device_health(), switched, qr_networks=self.rt.qr_networks(),
                               code_networks=self.rt.code_networks())

    def device_health(self) -> tuple[r.DeviceHealth, ...]:
        return self.rt.device_health()


