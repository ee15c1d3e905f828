"""The facade's public half: site info, notices, directory, events, callbacks, identification."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from kiosk.app_runtime import mapping
from kiosk.domain import site_clock
from kiosk.errors import DatabaseGone, StaffCardTapped, StorageError
from kiosk.flows import records as r
from kiosk.persistence.db import unit_of_work
from kiosk.services import callbacks, cards, directory, households, member_events, notices, staff

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime

ALL_FEATURES = frozenset(r.Feature)
T = TypeVar("T")


def _utc(now: datetime) -> datetime:
    return site_clock.to_utc(now)  # a naive time is the site's wall time, never the machine's


def _live_or_kept(facade: PublicFacade, read: Callable[[], T], kept: Callable[[], T | None],
                  keep: Callable[[T], None]) -> T:
    """From the database while it answers (and kept on the kiosk); from the local copy while it is gone (the
    probe says so, or this very read could not reach it). No copy at all: the error, as before."""
    guard = facade.rt.offline
    if guard is None or guard.up:
        try:
            got = read()
        except StorageError as exc:
            if type(exc) is not StorageError:  # only "cannot be reached" falls back on the copy
                raise
            copy = kept()
            if copy is None:
                raise
            return copy
        keep(got)
        return got
    copy = kept()
    if copy is None:
        raise DatabaseGone("no local copy kept yet")
    return copy


class PublicFacade:
    rt: KioskRuntime

    def site_info(self) -> r.SiteInfo:
        s = self.rt.settings
        features = set(ALL_FEATURES) - {r.Feature(f) for f in s.site.features_not_offered}  # never shown
        if self.rt.devices.reader is None:
            features -= {r.Feature.TOP_UP}
        return r.SiteInfo(
            site_id=s.site.code, kiosk_id=s.site.kiosk_code, names=s.site.names(), hours=mapping.opening_hours(s),
            features=frozenset(features),
            out_of_hours_features=frozenset(r.Feature(f) for f in s.site.hours.out_of_hours_features),
            card_replacement_fee_fen=s.payments.card_replacement_fee_fen,
            top_up_amounts_fen=s.payments.top_up_amounts_fen)

    def current_notices(self, tier: str | None, language: str, now: datetime) -> tuple[r.NoticeView, ...]:
        def read() -> tuple[r.NoticeView, ...]:
            with unit_of_work(self.rt.db.factory) as s:
                views = notices.current_notices(s, self.rt.till.site_id, tier, language, _utc(now))
            return tuple(mapping.notice(v) for v in views)
        cache = self.rt.public_cache
        if tier is not None or cache is None:  # a household's own notices are never kept on the kiosk
            return read()
        return _live_or_kept(self, read, lambda: cache.notices(language, now),
                             lambda got: cache.keep_notices(language, got))

    def directory(self, language: str) -> tuple[r.DirectoryEntry, ...]:
        def read() -> tuple[r.DirectoryEntry, ...]:
            with unit_of_work(self.rt.db.factory) as s:
                lines = directory.public_directory(s, self.rt.till.site_id, language)
            return tuple(r.DirectoryEntry(line.name, line.phone, line.kind, line.hours) for line in lines)
        cache = self.rt.public_cache
        if cache is None:
            return read()
        return _live_or_kept(self, read, lambda: cache.directory(language),
                             lambda got: cache.keep_directory(language, got))

    def member_events(self, tier: str | None, language: str, now: datetime) -> tuple[r.MemberEventView, ...]:
        def read() -> tuple[r.MemberEventView, ...]:
            with unit_of_work(self.rt.db.factory) as s:
                events = member_events.visible_events(s, self.rt.till.site_id, tier, language, _utc(now))
            return tuple(r.MemberEventView(str(e.event_id), e.title, e.starts_at, e.place, e.free, e.description,
                                           e.audience_tier, e.ends_at) for e in events)
        cache = self.rt.public_cache
        if tier is not None or cache is None:
            return read()
        return _live_or_kept(self, read, lambda: cache.events(language, now),
                             lambda got: cache.keep_events(language, got))

    def request_callback(self, phone: str, topic: str, language: str) -> str:
        with unit_of_work(self.rt.db.factory) as s:
            view = callbacks.request_callback(s, self.rt.till, phone=phone, topic=topic, language=language)
        return view.reference

    def identify_card(self, card_uid: str) -> r.Identity:
        with unit_of_work(self.rt.db.factory) as s:  # a staff badge carries no card application: never read it
            if staff.staff_card_holder(s, card_uid) is not None:
                raise StaffCardTapped(card_uid)
        station = self.rt.card_station
        if station is not None:  # verifies the card's own data against the ledger and repairs interrupted writes
            station.check_tap(card_uid)
        with unit_of_work(self.rt.db.factory) as s:
            ident = cards.identify_card(s, card_uid)
            tier = households.household_tier(s, ident.household_id)
        return r.Identity(str(ident.household_id), ident.unit_masked, tier, ident.uid_hex, r.CardStatus(ident.status))

    def identify_unit(self, unit: str, pin: str) -> r.Identity:
        ident = households.identify_by_pin(self.rt.db.factory, self.rt.till.site_id, unit.strip(), pin)
        return r.Identity(str(ident.household_id), ident.unit_masked, ident.tier)
