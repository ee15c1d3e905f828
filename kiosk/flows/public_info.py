"""Journeys that need no sign-in: notices, directory, member events (sign-up asks to identify), callback request."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from kiosk import errors
from kiosk.flows.base import ErrorView, Flow, ProgressView
from kiosk.flows.records import NOTICE_CATEGORY_LABELS, DirectoryEntry, MemberEventView
from kiosk.i18n import N_, format_time, format_weekday_date

CALLBACK_TOPICS = (N_("Fees and bills"), N_("Repairs"), N_("Cards"), N_("Parking"), N_("Other"))
# Material Design icon names (screens/icons.py) of notice categories and kinds of phone number
NOTICE_ICONS = {"general": "information", "maintenance": "wrench", "fees": "receipt", "safety": "alert",
                "event": "account-multiple", "member": "star"}
DIRECTORY_ICONS = {"service": "headset", "repairs": "wrench", "security": "security", "parking": "parking",
                   "clinic": "hospital", "gas": "fire", "office": "domain"}
EVENT_AUDIENCES = {None: N_("Open to every household"), "ordinary": N_("Ordinary members only"),
                   "silver": N_("Silver members only"), "gold": N_("Gold members only"),
                   "institutional": N_("Institutional members only")}
ALL_DAY = "24h"  # a directory entry that answers day and night


class ListStep(StrEnum):
    LOADING = "loading"
    READY = "ready"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Row:
    """One row of a list page. `detail` holds every line under the title (older screens show it); the newer
    fields say what each line is, so the page can give each its size."""

    key: str
    title: str
    detail: str
    action: str = ""  # label of the row's button, empty: no button
    icon: str = ""  # a Material Design Icons name (screens/icons.py)
    meta: str = ""  # a short line under the title: category and dates, day, time and place
    body: str = ""  # the text itself: a notice's body, an event's description
    figure: str = ""  # what a person reads from afar: a phone number
    note: str = ""  # one more line: opening hours; who may join and the places left
    action_enabled: bool = True
    reason: str = ""  # why the action is unavailable, in words


@dataclass(frozen=True)
class ListView:
    step: ListStep
    title: str
    prompt: str
    rows: tuple[Row, ...]
    message: str
    progress: ProgressView | None
    error: ErrorView | None


class _ListFlow(Flow):
    empty_text = N_("Nothing to show right now.")

    def __init__(self, ctx, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.step = ListStep.LOADING
        self.rows: tuple[Row, ...] = ()
        self.message = ""
        self.error: ErrorView | None = None

    def start(self) -> None:
        self.step = ListStep.LOADING
        self.call(self.route, self.load, self._loaded, self._failed)
        self.changed()

    def load(self) -> tuple[Row, ...]:
        raise TypeError("subclasses load rows")

    def _loaded(self, rows: tuple[Row, ...]) -> None:
        self.rows, self.step = rows, ListStep.READY

    def _failed(self, exc: errors.KioskError) -> None:
        self.step, self.error = ListStep.FAILED, self.error_view(exc, N_("Please try again, or ask staff for help."))

    def back(self) -> None:
        self.ctx.navigate("household" if self.session.identity else "attract")

    def set_language(self, language: str) -> None:
        self.session.set_language(language)
        self.start()

    def offline_note(self) -> str:
        """While the estate database is gone the list is the kiosk's own copy: says so, and when it was made."""
        status = self.ctx.status
        if status is None or not status.database_down or self.step is not ListStep.READY:
            return ""
        if status.cached_at is None:
            return self.t(N_("The estate records cannot be reached right now."))
        return self.t(N_("The estate records cannot be reached right now. This is the copy from {when}."),
                      when=self.when(status.cached_at))

    def view(self) -> ListView:
        prompt = self.t(self.empty_text) if self.step is ListStep.READY and not self.rows else ""
        return ListView(self.step, self.t(self.title), prompt, self.rows, self.message or self.offline_note(),
                        ProgressView(self.t(N_("Loading, please wait"))) if self.step is ListStep.LOADING else None,
                        self.error)


def notice_meta(flow: Flow, category: str, posted_at: datetime, expires_at: datetime | None) -> str:
    """"Category · Posted <time> · Until <time>" in the person's language and the site's time zone."""
    label = NOTICE_CATEGORY_LABELS.get(category)
    parts = [flow.t(label) if label else category, flow.t(N_("Posted {when}"), when=flow.when(posted_at))]
    if expires_at is not None:
        parts.append(flow.t(N_("Until {when}"), when=flow.when(expires_at)))
    return " · ".join(parts)


class NoticesFlow(_ListFlow):
    route = "notices"
    title = N_("Notices")
    empty_text = N_("There are no notices today.")

    def load(self) -> tuple[Row, ...]:
        language, tier, now = self.language, self.session.tier, self.ctx.clock()
        notices = self.services.current_notices(tier, language, now)
        pinned = self.t(N_("Pinned"))
        rows = []
        for n in notices:
            meta = notice_meta(self, n.category, n.posted_at, n.expires_at)
            rows.append(Row(n.notice_id, (f"[{pinned}] " if n.pinned else "") + n.title, f"{meta}\n{n.body}",
                            icon="pin" if n.pinned else NOTICE_ICONS.get(n.category, "information"), meta=meta,
                            body=n.body))
        return tuple(rows)


class DirectoryFlow(_ListFlow):
    route = "directory"
    title = N_("Phone directory")

    def hours(self, entry: DirectoryEntry) -> str:
        """'Open 24 hours', 'Hours: 08:30–20:00', or '' when the entry does not say."""
        if entry.hours == ALL_DAY:
            return self.t(N_("Open 24 hours"))
        return self.t(N_("Hours: {hours}"), hours=entry.hours.replace("-", "–")) if entry.hours else ""

    def load(self) -> tuple[Row, ...]:
        return tuple(Row(str(i), e.name, e.phone, icon=DIRECTORY_ICONS.get(e.category, "phone"), figure=e.phone,
                         note=self.hours(e)) for i, e in enumerate(self.services.directory(self.language)))


class MemberEventsFlow(_ListFlow):
    route = "member_events"
    title = N_("Member events")
    empty_text = N_("No upcoming events.")

    def when_text(self, event: MemberEventView) -> str:
        """'周三 12月9日 10:00–12:00'."""
        hours = format_time(event.starts_at, self.language)
        if event.ends_at is not None:
            hours += f"–{format_time(event.ends_at, self.language)}"
        return f"{format_weekday_date(event.starts_at, self.language)} {hours}"

    def row(self, event: MemberEventView) -> Row:
        """Title; day, time and place; the description; who may join and the places left; Sign up (disabled
        with its reason when the event is full)."""
        meta = " · ".join(part for part in (self.when_text(event), event.place) if part)
        places = self.t(N_("{count} places left"), count=event.seats_left) if event.seats_left else \
            self.t(N_("No places left"))
        audience = self.t(EVENT_AUDIENCES.get(event.audience_tier, EVENT_AUDIENCES[None]))
        note = f"{audience} · {places}"
        detail = "\n".join(part for part in (meta, event.description, note) if part)
        return Row(event.event_id, event.title, detail, self.t(N_("Sign up")), icon="calendar-check", meta=meta,
                   body=event.description, note=note, action_enabled=event.seats_left > 0,
                   reason="" if event.seats_left > 0 else self.t(N_("No places left")))

    def load(self) -> tuple[Row, ...]:
        events = self.services.member_events(self.session.tier, self.language, self.ctx.clock())
        return tuple(self.row(e) for e in events)

    def view(self) -> ListView:
        base = super().view()
        status = self.ctx.status
        if status is None or not status.database_down:
            return base
        reason = self.t(N_("Sign-up opens again when the estate records can be reached."))
        rows = tuple(replace(r, action_enabled=False, reason=reason) for r in base.rows)
        return replace(base, rows=rows)

    def act(self, event_id: str) -> None:
        row = next((r for r in self.rows if r.key == event_id), None)
        if row is not None and not row.action_enabled:  # a full event: its button is disabled, with the reason
            return
        identity = self.session.identity
        if identity is None:
            self.ctx.navigate("identify", then=self.route)
            return
        self.call("sign_up_event", lambda: self.services.sign_up_event(identity.household_id, event_id),
                  self._signed_up, self._failed)

    def _signed_up(self, reference: str) -> None:
        self.step = ListStep.DONE
        self.message = self.t(N_("You are signed up. Reference: {reference}"), reference=reference)


class CallbackStep(StrEnum):
    TOPIC = "topic"
    PHONE = "phone"
    SENDING = "sending"
    DONE = "done"


@dataclass(frozen=True)
class CallbackFormView:
    step: CallbackStep
    title: str
    prompt: str
    topics: tuple[tuple[str, str, bool], ...]  # (msgid, label, selected)
    phone: str
    can_submit: bool
    message: str
    progress: ProgressView | None
    error: ErrorView | None


class CallbackFlow(Flow):
    route = "callback"
    title = N_("Request a callback")

    def __init__(self, ctx, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.step = CallbackStep.TOPIC
        self.topic = ""
        self.phone = ""
        self.reference = ""
        self.error: ErrorView | None = None

    def choose_topic(self, topic: str) -> None:
        if topic in CALLBACK_TOPICS:
            self.topic, self.step = topic, CallbackStep.PHONE
            self.changed()

    def key(self, char: str) -> None:
        if char == "back":
            self.phone = self.phone[:-1]
        elif char == "clear":
            self.phone = ""
        elif char.isdigit() and len(self.phone) < 13:
            self.phone += char
        self.changed()

    def submit(self) -> None:
        if self.step is not CallbackStep.PHONE or len(self.phone) < 7:
            return
        phone, topic, language = self.phone, self.topic, self.language
        self.step, self.error = CallbackStep.SENDING, None
        self.call("request_callback", lambda: self.services.request_callback(phone, topic, language),
                  self._sent, self._failed)
        self.changed()

    def _sent(self, reference: str) -> None:
        self.reference, self.step, self.phone = reference, CallbackStep.DONE, ""

    def _failed(self, exc: errors.KioskError) -> None:
        self.step = CallbackStep.PHONE
        self.error = self.error_view(exc, N_("Please check the phone number."))

    def back(self) -> None:
        if self.step is CallbackStep.PHONE:
            self.step = CallbackStep.TOPIC
            self.changed()
        else:
            self.ctx.navigate("household" if self.session.identity else "attract")

    def view(self) -> CallbackFormView:
        prompts = {CallbackStep.TOPIC: N_("What is it about?"),
                   CallbackStep.PHONE: N_("Please enter your phone number"),
                   CallbackStep.SENDING: N_("Sending, please wait"),
                   CallbackStep.DONE: N_("Thank you. Staff will call you back.")}
        shown = self.phone if len(self.phone) < 8 else self.phone[:3] + " " + self.phone[3:7] + " " + self.phone[7:]
        return CallbackFormView(
            self.step, self.t(self.title), self.t(prompts[self.step]),
            tuple((t, self.t(t), t == self.topic) for t in CALLBACK_TOPICS), shown,
            self.step is CallbackStep.PHONE and len(self.phone) >= 7,
            self.t(N_("Your reference: {reference}"), reference=self.reference) if self.reference else "",
            ProgressView(self.t(N_("Sending, please wait"))) if self.step is CallbackStep.SENDING else None,
            self.error)
