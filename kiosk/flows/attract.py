"""Attract/idle journey: greeting with the site name, the jobs as tiles (a personal one leads to sign-in first),
tap-card prompt and sign-in, cycling notices; out of hours, a closed page with the hours and what still works."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.errors import KioskError
from kiosk.flows.base import ErrorView, Flow
from kiosk.flows.hours import opens_again, sign_in_offered, week_lines
from kiosk.flows.jobs import Job, job, offered
from kiosk.flows.public_info import notice_meta
from kiosk.flows.records import FEATURE_LABELS, Feature, NoticeView, ServiceStatus, SiteInfo
from kiosk.i18n import LANGUAGES, N_

Entry = Job  # one tile of the attract page (kiosk.flows.jobs)
LANGUAGE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}


class AttractStep(StrEnum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class NoticeCard:
    title: str
    body: str
    posted: str
    pinned: bool


@dataclass(frozen=True)
class ClosedNotice:
    """Out of hours, the first thing on the page: closed, when it opens again, the hours, what still works."""

    title: str
    opens_again: str
    hours: tuple[str, ...]  # a heading, then one line per run of days
    still_available: str
    still_heading: str = ""  # over the tiles of what still works


@dataclass(frozen=True)
class AttractView:
    step: AttractStep
    greeting: str
    prompt: str
    notice: NoticeCard | None
    notice_position: str  # "2 / 5"
    entries: tuple[Entry, ...]  # every job the site offers: the main ones (large tiles) first, then the others
    languages: tuple[tuple[str, str], ...]  # (code, own name)
    language: str
    hours_note: str
    sign_in_label: str = ""  # empty: no sign-in is offered (nothing that needs one is open)
    error: ErrorView | None = None
    closed: ClosedNotice | None = None
    tap_card: str = ""  # "Tap your card here" beside the reader's pictogram ("" when no sign-in is offered)


class AttractFlow(Flow):
    route = "attract"

    def __init__(self, ctx, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.step = AttractStep.LOADING
        self.notices: tuple[NoticeView, ...] = ()
        self.index = 0
        self.error: ErrorView | None = None

    def start(self) -> None:
        self.reload()

    def reload(self) -> None:
        now = self.ctx.clock()
        language = self.language

        def load() -> tuple[SiteInfo, ServiceStatus, tuple[NoticeView, ...]]:
            site = self.services.site_info()
            status = self.services.service_status()
            return site, status, self.services.current_notices(None, language, now)

        self.call("attract", load, self._loaded, self._failed)

    def _loaded(self, result: tuple[SiteInfo, ServiceStatus, tuple[NoticeView, ...]]) -> None:
        self.ctx.site, self.ctx.status, self.notices = result
        self.index = 0
        self.step = AttractStep.READY
        if self.ctx.status.out_of_service:
            self.ctx.navigate("out_of_service")
        elif self.ctx.status.database_down:  # the estate database gone (kiosk.app_runtime.offline)
            self.ctx.navigate("out_of_service", database=True)

    def _failed(self, exc: KioskError) -> None:
        self.step = AttractStep.FAILED
        self.error = self.error_view(exc)
        if self.ctx.status is not None and self.ctx.status.database_down:  # gone while this page was loading
            self.ctx.navigate("out_of_service", database=True)

    # --- user actions ----------------------------------------------------------------------
    def next_notice(self) -> None:
        """Advance the cycling notice (the screen calls this on a slow timer)."""
        if len(self.notices) > 1:
            self.index = (self.index + 1) % len(self.notices)
            self.changed()

    def set_language(self, language: str) -> None:
        self.session.set_language(language)
        self.reload()  # notices are stored per language
        self.changed()

    def card_tapped(self, card_uid: str) -> None:
        self.ctx.navigate("identify", card_uid=card_uid)

    def sign_in(self) -> None:
        self.ctx.navigate("identify")

    def open_entry(self, key: str) -> None:
        self.ctx.navigate(key)

    # --- view ------------------------------------------------------------------------------
    def view(self) -> AttractView:
        site = self.ctx.site
        name = site.name(self.language) if site else ""
        now = self.ctx.clock()
        available = site.available_features(now) if site else frozenset()
        notice = None
        if self.notices:
            n = self.notices[self.index % len(self.notices)]
            title = f"[{self.t(N_('Pinned'))}] {n.title}" if n.pinned else n.title
            notice = NoticeCard(title, n.body, notice_meta(self, n.category, n.posted_at, n.expires_at), n.pinned)
        hours_note, closed = "", None
        if site is not None and not site.is_open(now):
            hours_note = self.t(N_("Outside service hours: only some services are available."))
            status = self.ctx.status
            still = [self.t(FEATURE_LABELS[f]) for f in Feature if f in available and f.value in self.ctx.routes
                     and (status is None or status.switched_off_message(f) is None)]
            closed = ClosedNotice(
                self.t(N_("The service centre is closed now")), opens_again(site, now, self.t),
                (self.t(N_("Service hours:")),) + week_lines(site, self.t),
                self.t(N_("Still available: {features}"), features=self.t(N_(", ")).join(still)) if still else
                self.t(N_("Please come back during service hours.")),
                self.t(N_("Still available")) if still else "")
        sign_in = sign_in_offered(site, now, self.ctx.status)
        if sign_in:
            prompt = self.t(N_("Please tap your card on the reader, or sign in with your unit number"))
        else:
            prompt = self.t(N_("Available now:"))
        return AttractView(
            step=self.step,
            greeting=self.t(N_("Hello, {site}"), site=name) if name else self.t(N_("Hello")),
            prompt=prompt,
            notice=notice,
            notice_position=f"{self.index % len(self.notices) + 1} / {len(self.notices)}" if self.notices else "",
            entries=tuple(job(self, f) for f in offered(self)),
            languages=tuple((code, LANGUAGE_NAMES[code]) for code in LANGUAGES),
            language=self.language,
            hours_note=hours_note,
            sign_in_label=self.t(N_("Sign in with unit number and PIN")) if sign_in else "",
            error=self.error,
            closed=closed,
            tap_card=self.t(N_("Tap your card here")) if sign_in else "",
        )
