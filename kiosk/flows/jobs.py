"""The jobs a resident comes for, as the attract and household pages lead with them: the main ones as large tiles,
the others in a second row. Each job is on, or off with its reason in words (never by colour alone)."""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.flows.base import Flow
from kiosk.flows.hours import PERSONAL_FEATURES
from kiosk.flows.records import FEATURE_LABELS, Feature
from kiosk.i18n import N_

# the large tiles, in reading order: what most residents come for first
MAIN_JOBS = (Feature.PAY_FEES, Feature.TOP_UP, Feature.CARD_LOSS, Feature.BOOKINGS, Feature.PARKING,
             Feature.RECORDS, Feature.NOTICES)
# the second row of smaller tiles
MORE_JOBS = (Feature.DIRECTORY, Feature.MEMBER_EVENTS, Feature.CALLBACK, Feature.DIRECT_DEBIT)
JOBS = MAIN_JOBS + MORE_JOBS


@dataclass(frozen=True)
class Job:
    """One job's tile: `key` is its route; `reason` says why it is off ('' while it is on)."""

    key: str
    label: str
    enabled: bool
    reason: str = ""
    main: bool = False  # a large tile (MAIN_JOBS); else one of the second row
    personal: bool = False  # needs a sign-in: from the attract page a tap leads to the sign-in page first
    note: str = ""  # a second line while it is on (e.g. what there is to pay)

    @property
    def detail(self) -> str:
        """The tile's second line: why it is off, else its note."""
        return self.note if self.enabled else self.reason


def offered(flow: Flow) -> tuple[Feature, ...]:
    """The jobs this site offers (what its config leaves out is not shown at all), main ones first."""
    site = flow.ctx.site
    return tuple(f for f in JOBS if site is None or f in site.features)


def job(flow: Flow, feature: Feature) -> Job:
    """The tile of `feature` now: off, with the reason, when staff switched it off (their message), out of hours,
    while its device is down, or when this kiosk has no journey for it."""
    label = flow.t(FEATURE_LABELS[feature])
    site, status = flow.ctx.site, flow.ctx.status
    kind = {"main": feature in MAIN_JOBS, "personal": feature in PERSONAL_FEATURES}
    message = status.switched_off_message(feature) if status is not None else None
    if message is not None:
        return Job(feature.value, label, False, flow.t(message), **kind)
    if site is not None and feature not in site.available_features(flow.ctx.clock()):
        return Job(feature.value, label, False, flow.t(N_("Outside service hours")), **kind)
    if status is not None and status.feature_blocked(feature):
        return Job(feature.value, label, False, flow.t(N_("Temporarily unavailable")), **kind)
    if feature.value not in flow.ctx.routes:
        return Job(feature.value, label, False, flow.t(N_("Coming soon")), **kind)
    return Job(feature.value, label, True, **kind)
