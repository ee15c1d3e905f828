"""Staff tools in the step shape: shift handover with a cash count, callback list, notice withdrawal."""
from __future__ import annotations

from typing import Any

from kiosk import errors
from kiosk.flows.records import CallbackView, HandoverView, NoticeDraft
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_


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
        if self.step in ("count", "confirm"):
            lines = ((self.t(N_("Counted cash")), self.money(counted)),)
        if self.step == "done" and self.result is not None:
            r = self.result
            lines = ((self.t(N_("Expected cash")), self.money(r.expected_cash_fen)),
                     (self.t(N_("Counted cash")), self.money(r.counted_cash_fen)),
                     (self.t(N_("Difference")), self.money(r.difference_fen)),
                     (self.t(N_("Receipt number")), r.receipt_number))
            if r.difference_fen:
                lines += (("", self.t(N_("The counted cash does not match the records."))),)
        primary = {"count": N_("Next"), "confirm": N_("Confirm"), "done": N_("Done")}.get(self.step, "")
        return self.base_view(self.t(prompts.get(self.step, "")), lines=lines, entry=self.money(counted),
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
        options = tuple(Option(c.callback_id, f"{self.t(c.topic)} · {c.phone_masked} · {self.when(c.created_at)}"
                               f" · {done}") for c in self.callbacks)
        prompt = N_("No open callback requests.") if self.step == "list" and not self.callbacks else \
            N_("Tap a request when you have called back") if self.step == "list" else N_("Loading, please wait")
        return self.base_view(self.t(prompt), options=options)


class NoticesAdminFlow(StaffStepFlow):
    """Published notices; tapping one withdraws it (new notices come by CSV import)."""

    route = "staff_notices"
    title = N_("Manage notices")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.notices: tuple[NoticeDraft, ...] = ()

    def loaded(self) -> None:
        staff_id = self.staff_id
        self.step = "loading"
        self.call("list_notices", lambda: self.services.list_notices(staff_id), self._listed, self.fail)

    def _listed(self, notices: tuple[NoticeDraft, ...]) -> None:
        self.notices, self.step = notices, "list"

    def choose(self, key: str) -> None:
        staff_id = self.staff_id
        self.call("withdraw_notice", lambda: self.services.withdraw_notice(staff_id, key),
                  lambda _r: self.loaded(), self.fail)

    def view(self) -> StepView:
        withdraw = self.t(N_("Withdraw"))
        options = tuple(Option(n.notice_id, f"{n.titles.get(self.language) or next(iter(n.titles.values()), '')}"
                               f" · {self.when(n.publish_at)} · {withdraw}") for n in self.notices)
        prompt = N_("Tap a notice to withdraw it") if self.step == "list" else N_("Loading, please wait")
        return self.base_view(self.t(prompt), options=options)
