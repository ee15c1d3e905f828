"""Staff switch one feature off for every kiosk of the site, with a message residents read, and back on.

list (each feature the site offers, on or off with its message) -> a message from the list -> confirm -> list;
an off feature -> confirm -> on. There is no keyboard on the kiosk, so the message is chosen from a short list of
polite sentences (translated on every kiosk into the resident's language)."""
from __future__ import annotations

from typing import Any

from kiosk.flows.records import FEATURE_LABELS, Feature, ServiceStatus
from kiosk.flows.staff_tools import StaffStepFlow
from kiosk.flows.steps import Option, StepView
from kiosk.i18n import N_

SWITCH_MESSAGES = (
    N_("Temporarily suspended. Please visit the service desk."),
    N_("Under maintenance. Please try again later."),
    N_("Not available today. Please visit the service desk."),
    N_("Suspended by the management office until further notice."),
)


class FeatureSwitchesFlow(StaffStepFlow):
    route = "staff_features"
    title = N_("Services on and off")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.status: ServiceStatus | None = ctx.status
        self.feature: Feature | None = None
        self.message_id = ""
        self.message = ""

    def loaded(self) -> None:
        self.step = "loading"
        self.call("service_status", self.services.service_status, self._listed, self.fail)

    def _listed(self, status: ServiceStatus) -> None:
        self.status = self.ctx.status = status  # this kiosk's residents see the change at once
        self.step, self.history = "list", []

    def _offered(self) -> tuple[Feature, ...]:
        site = self.ctx.site
        return tuple(f for f in Feature if (site is None or f in site.features) and f.value in self.ctx.routes)

    def _off_message(self, feature: Feature) -> str | None:
        return self.status.switched_off_message(feature) if self.status is not None else None

    def choose(self, key: str) -> None:
        if self.step == "list":
            self.feature, self.message = Feature(key), ""
            self.go_step("confirm_on" if self._off_message(self.feature) is not None else "message")
        elif self.step == "message":
            self.message_id = key
            self.go_step("confirm_off")

    def primary(self) -> None:
        if self.feature is None or self.step not in ("confirm_off", "confirm_on"):
            return
        staff_id, feature = self.staff_id, self.feature.value
        message = SWITCH_MESSAGES[int(self.message_id)] if self.step == "confirm_off" else None
        done = N_("{feature} is switched off on every kiosk of the site.") if message else \
            N_("{feature} is switched back on.")
        label = FEATURE_LABELS[self.feature]

        def switched(_result: object) -> None:
            self.message = self.t(done, feature=self.t(label))
            self.loaded()

        self.history.append(self.step)
        self.step = "sending"
        self.call("switch_feature", lambda: self.services.switch_feature(staff_id, feature, message), switched,
                  self.fail)
        self.changed()

    def view(self) -> StepView:
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        primary = ""
        prompt = N_("Loading, please wait") if self.step in ("loading", "sending") else ""
        if self.step == "list":
            prompt = N_("Tap a service to switch it off or back on for every kiosk of the site")
            on, off = self.t(N_("On")), self.t(N_("Switched off"))
            options = tuple(
                Option(f.value, f"{self.t(FEATURE_LABELS[f])} · {on if (m := self._off_message(f)) is None else off}",
                       reason=self.t(m) if m is not None else "", selected=m is not None)
                for f in self._offered())
        elif self.step == "message":
            prompt = N_("Choose the message residents will see")
            options = tuple(Option(str(i), self.t(m)) for i, m in enumerate(SWITCH_MESSAGES))
        elif self.step in ("confirm_off", "confirm_on") and self.feature is not None:
            prompt = N_("Please check and confirm")
            lines = ((self.t(N_("Service")), self.t(FEATURE_LABELS[self.feature])),)
            if self.step == "confirm_off":
                lines += ((self.t(N_("Message to residents")), self.t(SWITCH_MESSAGES[int(self.message_id)])),)
                primary = N_("Switch off")
            else:
                lines += ((self.t(N_("Message to residents")), self.t(self._off_message(self.feature) or "")),)
                primary = N_("Switch back on")
        elif self.step == "failed":
            prompt = N_("Sorry, this could not be done")
        return self.base_view(self.t(prompt) if prompt else "", options=options, lines=lines,
                              message=self.message if self.step == "list" else "",
                              primary=self.t(primary) if primary else "")
