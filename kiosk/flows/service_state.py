"""Out-of-service, out-of-hours and goodbye pages: what is unavailable, why in plain words, and what still works."""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import DatabaseGone, KioskError, StaffCardTapped
from kiosk.flows.base import Flow
from kiosk.flows.hours import opens_again, week_lines
from kiosk.flows.records import FEATURE_LABELS, OFFLINE_FEATURES, Feature, ServiceStatus
from kiosk.i18n import N_


@dataclass(frozen=True)
class NoticePageView:
    """A page that says a service is unavailable (or goodbye). `detail` holds every line under the reason; the
    out-of-hours page also says them field by field, so the screen can give each its place and size."""

    title: str
    reason: str
    detail: tuple[str, ...]
    reference: str
    still_available: tuple[tuple[str, str], ...]  # (route, label)
    back_label: str
    icon: str = ""  # the page's pictogram, a Material Design Icons name (screens/icons.py)
    headline: str = ""  # the first thing to read, in large type: "Opens again tomorrow at 09:30"
    hours_title: str = ""  # "Service hours:"
    hours: tuple[str, ...] = ()  # the week's hours, a line per run of days with the same hours
    still_title: str = ""  # "Available now:", above the buttons of what still works
    reference_label: str = ""  # "Reference", the caption of `reference`


class OutOfServiceFlow(Flow):
    """Whole kiosk out of service, one feature off because its device is down, or an unexpected error."""

    route = "out_of_service"

    def __init__(self, ctx, feature: str = "", reference: str = "", switched_off: str = "",  # type: ignore[no-untyped-def]
                 not_offered: bool = False, paused: bool = False, card_uid: str = "", database: bool = False,
                 **params) -> None:
        super().__init__(ctx, **params)
        self.database = database  # the estate database is gone (kiosk.app_runtime.offline)
        self.feature = feature
        self.reference = reference
        self.switched_off = switched_off  # the staff's message when staff switched the feature off
        self.not_offered = not_offered
        self.paused = paused  # staff switched off every feature a resident signs in for
        self._card_uid = card_uid

    def start(self) -> None:
        if self._card_uid:  # the card that brought us here (a staff badge opens the staff PIN pad)
            self.card_tapped(self._card_uid)

    def _back_home(self) -> bool:
        """A signed-in resident who met one unavailable feature goes back to their household page."""
        return bool(self.feature) and self.session.identity is not None

    def back(self) -> None:
        self.ctx.navigate("household" if self._back_home() else "attract")

    def open(self, route: str) -> None:
        """One of the pages that still work (while the database is gone: notices, directory, member events)."""
        self.ctx.navigate(route)

    def card_tapped(self, card_uid: str) -> None:
        """With the whole kiosk out of service only a staff badge does anything: it opens the staff PIN pad,
        so staff can switch the kiosk back on without the hidden gesture; other cards are ignored. With one
        feature off (or after an error) a card signs in as anywhere else."""
        if self.feature or self.reference:
            identity = self.session.identity
            if identity is None or (identity.card_uid or "").upper() != card_uid.upper():
                self.ctx.navigate("identify", card_uid=card_uid)
            return

        def refused(exc: KioskError) -> None:
            if isinstance(exc, StaffCardTapped):
                self.ctx.navigate("staff_unlock", card_uid=card_uid)

        self.call("staff card", lambda: self.services.identify_card(card_uid), lambda _identity: None, refused)

    def view(self) -> NoticePageView:
        status = self.ctx.status
        icon = "information-outline"
        if self.database or (status is not None and status.database_down and not self.reference):
            return self._database_view(status)
        if self.reference:
            icon = "alert-circle"
            reason = self.t(N_("Sorry, something went wrong. Nothing was charged without a receipt."))
            detail = (self.t(N_("Please show this reference to staff: {reference}"), reference=self.reference),)
        elif self.feature and self.not_offered:
            label = self.t(FEATURE_LABELS[Feature(self.feature)])
            reason = self.t(N_("{feature} is not offered at this site."), feature=label)
            detail = (self.t(N_("Please ask at the service desk.")),)
        elif self.feature and self.switched_off:
            icon = "pause-circle"
            label = self.t(FEATURE_LABELS[Feature(self.feature)])
            reason = self.t(N_("{feature} is not available at the moment."), feature=label)
            detail = (self.t(self.switched_off), self.t(N_("Other services still work.")))
        elif self.paused:
            icon = "pause-circle"
            reason = self.t(N_("Services that need a sign-in are paused at the moment."))
            detail = (self.t(N_("Notices and the phone directory still work. Please ask at the service desk.")),)
        elif self.feature:
            icon = "wrench"
            label = self.t(FEATURE_LABELS[Feature(self.feature)])
            reason = self.t(N_("{feature} is temporarily unavailable because a device is not working."), feature=label)
            detail = (self.t(N_("Other services still work. Staff have been told.")),)
        else:
            icon = "wrench"
            reason = self.t(status.reason) if status is not None and status.reason else self.t(N_("Under maintenance"))
            detail = (self.t(N_("Please come back later, or visit the service desk.")),)
        return NoticePageView(self.t(N_("Out of service")), reason, detail, self.reference, (),
                              self.t(N_("Back")) if self._back_home() else self.t(N_("Back to start")), icon=icon,
                              reference_label=self.t(N_("Reference")) if self.reference else "")


    def _database_view(self, status: ServiceStatus | None) -> NoticePageView:
        """The estate database is gone: what stopped, with its code, what still works and since when it was
        copied, what to do."""
        error = DatabaseGone("")
        reason = f"{self.t(N_('The kiosk cannot reach the estate records right now.'))} [{error.code}]"
        detail = [self.t(N_("Payments, top-ups, card services and sign-in are paused; no money is taken.")),
                  self.t(N_("Please try again in a few minutes, or ask at the service desk."))]
        cached_at = status.cached_at if status is not None else None
        site, now = self.ctx.site, self.ctx.clock()
        still: tuple[tuple[str, str], ...] = ()
        if cached_at is not None:
            offered = site.available_features(now) if site is not None else OFFLINE_FEATURES
            still = tuple((f.value, self.t(FEATURE_LABELS[f])) for f in Feature
                          if f in OFFLINE_FEATURES and f in offered and f.value in self.ctx.routes)
            if still:
                detail.insert(1, self.t(N_("Notices, the phone directory and member events still work, as copied "
                                           "at {when}."), when=self.when(cached_at)))
        return NoticePageView(self.t(N_("Out of service")), reason, tuple(detail), "", still,
                              self.t(N_("Back to start")), icon="lan-disconnect",
                              still_title=self.t(N_("Available now:")) if still else "")


class OutOfHoursFlow(Flow):
    """The service is closed: says so first, then when it opens again, the week's hours and what still works.
    Reached from a closed feature, or from a sign-in (card tap or keypad) while nothing that needs one is open:
    no PIN is asked for a closed service. A staff badge tapped here opens the staff PIN pad."""

    route = "out_of_hours"

    def __init__(self, ctx, feature: str = "", card_uid: str = "", **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.feature = feature
        self._card_uid = card_uid

    def start(self) -> None:
        if self._card_uid:  # the card that brought us here: only a staff badge does anything
            self.card_tapped(self._card_uid)

    def card_tapped(self, card_uid: str) -> None:
        def refused(exc: KioskError) -> None:
            if isinstance(exc, StaffCardTapped):
                self.ctx.navigate("staff_unlock", card_uid=card_uid)

        self.call("staff card", lambda: self.services.identify_card(card_uid), lambda _identity: None, refused)

    def open(self, route: str) -> None:
        self.ctx.navigate(route)

    def back(self) -> None:
        self.ctx.navigate("attract")

    def view(self) -> NoticePageView:
        site, now = self.ctx.site, self.ctx.clock()
        if self.feature:
            label = self.t(FEATURE_LABELS[Feature(self.feature)])
            reason = self.t(N_("{feature} is available during service hours."), feature=label)
        else:
            reason = self.t(N_("The service centre is closed now."))
        again, hours = "", ()
        if site is not None:
            again, hours = opens_again(site, now, self.t), week_lines(site, self.t)
        hours_title = self.t(N_("Service hours:")) if site is not None else ""
        detail: tuple[str, ...] = ((again,) if again else ()) + ((hours_title,) + hours if site is not None else ())
        available = site.available_features(now) if site else frozenset()
        still = tuple((f.value, self.t(FEATURE_LABELS[f])) for f in Feature
                      if f in available and f.value in self.ctx.routes)
        still_title = self.t(N_("Available now:")) if still else ""
        if still:
            detail += (still_title,)
        return NoticePageView(self.t(N_("Outside service hours")), reason, detail, "", still,
                              self.t(N_("Back to start")), icon="clock-alert", headline=again,
                              hours_title=hours_title, hours=hours, still_title=still_title)


class GoodbyeFlow(Flow):
    """Shown after 'Done': thanks the visitor; the navigator has already wiped the session."""

    route = "goodbye"

    def back(self) -> None:
        self.ctx.navigate("attract")

    def view(self) -> NoticePageView:
        return NoticePageView(self.t(N_("Thank you")), self.t(N_("Goodbye! Please take your card and receipt.")),
                              (), "", (), self.t(N_("Back to start")), icon="emoticon-happy")
