"""Staff tools in the step shape: shift handover with a cash count, callback list, notice withdrawal."""
from __future__ import annotations

from typing import Any

from kiosk import errors
from kiosk.domain.site_clock import to_utc
from kiosk.flows.public_info import notice_meta
from kiosk.flows.records import NOTICE_CATEGORY_LABELS, CallbackView, HandoverView, NoticeDraft
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_

NOTICE_STATES = {"showing": N_("Showing"), "scheduled": N_("Not yet shown"), "expired": N_("Expired"),
                 "withdrawn": N_("Withdrawn")}


class StaffStepFlow(StepFlow):
    """A staff journey: needs a signed-in staff member instead of a household."""

    @property
    def staff_id(self) -> str:
        if self.session.staff is None:
            raise errors.PermissionDenied("no staff signed in")
        return self.session.staff.staff_id

    def start(self) -> None:
        if self.session.staff is None:
            self.ctx.navigate("staff_unlock")
            return
        self.loaded()
        self.changed()

    def back(self) -> None:
        while self.history:
            previous = self.history.pop()
            if previous not in ("loading", "paying", "sending"):
                self.step, self.error = previous, None
                self.changed()
                return
        self.ctx.navigate("staff_home")


class HandoverFlow(StaffStepFlow):
    """Count the cash box on the keypad (yuan), confirm, print the handover slip."""

    route = "staff_handover"
    title = N_("Shift handover")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.counted = ""
        self.result: HandoverView | None = None

    def loaded(self) -> None:
        self.step = "count"

    def key(self, char: str) -> None:
        if self.step != "count":
            return
        if char == "back":
            self.counted = self.counted[:-1]
        elif char == "clear":
            self.counted = ""
        elif char.isdigit() and len(self.counted) < 7 and not (char == "0" and not self.counted):
            self.counted += char
        self.changed()

    def primary(self) -> None:
        if self.step == "count" and self.counted:
            self.go_step("confirm")
        elif self.step == "confirm":
            staff_id, fen = self.staff_id, int(self.counted) * 100
            self.pay("shift_handover", lambda _key, _control: self.services.shift_handover(staff_id, fen),
                     lambda r: setattr(self, "result", r))
        elif self.step in ("done", "failed"):
            self.ctx.navigate("staff_home")

    def view(self) -> StepView:
        counted = int(self.counted or "0") * 100
        prompts = {"count": N_("Count the notes in the cash box and enter the total in yuan"),
                   "confirm": N_("Please check and confirm"), "paying": N_("Please wait"),
                   "done": N_("Handover recorded. The slip is printing."), "failed": N_("Sorry, this could not be done")}
        lines: tuple[tuple[str, str], ...] = ()
        if self.step == "confirm":  # while counting, the entry field shows the amount (the keypad needs the room)
            lines = ((self.t(N_("Counted cash")), self.money(counted)),)
        if self.step == "done" and self.result is not None:
            r = self.result
            lines = ((self.t(N_("Expected cash")), self.money(r.expected_cash_fen)),
                     (self.t(N_("Counted cash")), self.money(r.counted_cash_fen)),
                     (self.t(N_("Difference")), self.money(r.difference_fen)),
                     (self.t(N_("Account credit created")), self.money(r.credit_created_fen)),
                     (self.t(N_("Account credit used")), self.money(r.credit_used_fen)),
                     (self.t(N_("Receipt number")), r.receipt_number))
            if r.difference_fen:
                lines += (("", self.t(N_("The counted cash does not match the records."))),)
        primary = {"count": N_("Next"), "confirm": N_("Confirm"), "done": N_("Done")}.get(self.step, "")
        prompt = prompts.get(self.step, "")
        return self.base_view(self.t(prompt) if prompt else "", lines=lines, entry=self.money(counted),
                              keypad=self.step == "count", primary=self.t(primary) if primary else "",
                              primary_enabled=self.step != "count" or bool(self.counted))


class CallbacksFlow(StaffStepFlow):
    """Open callback requests; tapping one marks it done (audited by the service)."""

    route = "staff_callbacks"
    title = N_("Callback requests")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.callbacks: tuple[CallbackView, ...] = ()

    def loaded(self) -> None:
        staff_id = self.staff_id
        self.step = "loading"
        self.call("list_callbacks", lambda: self.services.list_callbacks(staff_id), self._listed, self.fail)

    def _listed(self, callbacks: tuple[CallbackView, ...]) -> None:
        self.callbacks, self.step = callbacks, "list"

    def choose(self, key: str) -> None:
        staff_id = self.staff_id
        self.call("mark_callback_done", lambda: self.services.mark_callback_done(staff_id, key),
                  lambda _r: self.loaded(), self.fail)

    def view(self) -> StepView:
        done = self.t(N_("Mark done"))
        options = tuple(Option(c.callback_id, f"{self.t(c.topic)} · {c.phone_masked}", icon="phone-in-talk",
                               detail=f"{self.when(c.created_at)} · {done}") for c in self.callbacks)
        prompt = N_("No open callback requests.") if self.step == "list" and not self.callbacks else \
            N_("Tap a request when you have called back") if self.step == "list" else N_("Loading, please wait")
        return self.base_view(self.t(prompt), options=options)


class NoticesAdminFlow(StaffStepFlow):
    """Every notice with its category, posting time, expiry and state; a notice opens with pin/unpin (at once)
    and withdraw (after a confirm). All audited by the service. New notices come by CSV import."""

    route = "staff_notices"
    title = N_("Manage notices")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.notices: tuple[NoticeDraft, ...] = ()
        self.notice_id = ""
        self.message = ""
        self.step_after_load = "list"  # "notice" when a pin/unpin reloads the list under an open notice

    def loaded(self) -> None:
        staff_id = self.staff_id
        self.step = "loading"
        self.call("list_notices", lambda: self.services.list_notices(staff_id), self._listed, self.fail)

    def _listed(self, notices: tuple[NoticeDraft, ...]) -> None:
        self.notices = notices
        self.step = "notice" if self.notice is not None and self.step_after_load == "notice" else "list"

    @property
    def notice(self) -> NoticeDraft | None:
        return next((n for n in self.notices if n.notice_id == self.notice_id), None)

    def state(self, n: NoticeDraft) -> str:
        now = to_utc(self.ctx.clock())
        if n.withdrawn_at is not None:
            return "withdrawn"
        if n.expires_at is not None and to_utc(n.expires_at) <= now:
            return "expired"
        return "scheduled" if to_utc(n.publish_at) > now else "showing"

    def choose(self, key: str) -> None:
        n = self.notice
        if self.step == "list" and any(x.notice_id == key for x in self.notices):
            self.notice_id, self.message = key, ""
            self.go_step("notice")
        elif self.step == "notice" and n is not None and key in ("pin", "unpin") and self.state(n) != "withdrawn":
            staff_id, notice_id, pinned = self.staff_id, n.notice_id, key == "pin"
            self.step_after_load, self.message = "notice", ""
            done = N_("Pinned to the top.") if pinned else N_("No longer pinned.")
            self.call("pin_notice", lambda: self.services.pin_notice(staff_id, notice_id, pinned),
                      lambda _r: self._reload(done), self.fail)
        elif self.step == "notice" and n is not None and key == "withdraw" and self.state(n) != "withdrawn":
            self.message = ""
            self.go_step("withdraw_confirm")

    def primary(self) -> None:
        n = self.notice
        if self.step == "withdraw_confirm" and n is not None:
            staff_id, notice_id = self.staff_id, n.notice_id
            self.history.clear()
            self.step, self.step_after_load = "sending", "list"
            self.message = ""
            self.call("withdraw_notice", lambda: self.services.withdraw_notice(staff_id, notice_id),
                      lambda _r: self._reload(N_("The notice was withdrawn. Residents no longer see it.")), self.fail)
            self.changed()
        elif self.step == "notice":
            self.back()

    def _reload(self, message: str) -> None:
        self.message = self.t(message)
        self.loaded()

    def back(self) -> None:
        if self.step in ("notice", "failed"):
            self.history.clear()
            self.step, self.error, self.message, self.step_after_load = "list", None, "", "list"
            self.changed()
            return
        super().back()

    def _title(self, n: NoticeDraft) -> str:
        return n.titles.get(self.language) or next(iter(n.titles.values()), "")

    def _label(self, n: NoticeDraft) -> str:
        pinned = f"[{self.t(N_('Pinned'))}] " if n.pinned and self.state(n) != "withdrawn" else ""
        return (f"{pinned}{self._title(n)} · {self.t(NOTICE_STATES[self.state(n)])}\n"
                + notice_meta(self, n.category, n.publish_at, n.expires_at))

    def view(self) -> StepView:
        prompts = {"list": N_("Tap a notice to pin, unpin or withdraw it"), "loading": N_("Loading, please wait"),
                   "sending": N_("Please wait"), "failed": N_("Sorry, this could not be done")}
        prompt = self.t(prompts.get(self.step, ""))
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        primary = ""
        n = self.notice
        if self.step == "list":
            options = tuple(Option(x.notice_id, self._label(x)) for x in self.notices)
            if not self.notices:
                prompt = self.t(N_("There are no notices."))
        elif self.step in ("notice", "withdraw_confirm") and n is not None:
            state = self.state(n)
            label = NOTICE_CATEGORY_LABELS.get(n.category)
            lines = ((self.t(N_("Title")), self._title(n)), (self.t(N_("Category")), self.t(label) if label else n.category),
                     (self.t(N_("Posted")), self.when(n.publish_at)),
                     (self.t(N_("Expires")), self.when(n.expires_at) if n.expires_at else "-"),
                     (self.t(N_("State")), self.t(NOTICE_STATES[state])),
                     (self.t(N_("Pinned")), self.t(N_("Yes") if n.pinned else N_("No"))))
            if self.step == "notice":
                prompt = self._title(n)
                live = state != "withdrawn"
                pinnable = live and state != "expired"
                options = (Option("unpin" if n.pinned else "pin", self.t(N_("Unpin") if n.pinned else N_("Pin to the top")),
                                  pinnable, reason="" if pinnable else self.t(NOTICE_STATES[state])),
                           Option("withdraw", self.t(N_("Withdraw")), live,
                                  reason="" if live else self.t(NOTICE_STATES["withdrawn"])))
                primary = self.t(N_("Back to the list"))
            else:
                prompt = self.t(N_("Withdraw this notice? Residents will no longer see it."))
                primary = self.t(N_("Withdraw notice"))
        return self.base_view(prompt, options=options, lines=lines, message=self.message, primary=primary)
