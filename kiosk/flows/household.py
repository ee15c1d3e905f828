"""Household home: the jobs as tiles (the main ones large; off ones say why), bills due with their total, card
balance and account credit, and the one-tap "pay all from card balance" when the card the resident acts on covers
every bill due."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.errors import KioskError
from kiosk.flows import card_picker
from kiosk.flows.base import ErrorView, Flow, ProgressView
from kiosk.flows.jobs import Job, job, offered
from kiosk.flows.records import BILL_KIND_LABELS, CardActionResult, CardStatus, Feature, HouseholdSummary
from kiosk.i18n import N_

Action = Job  # one tile of the household page (kiosk.flows.jobs)


class HouseholdStep(StrEnum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class BillLine:
    bill_id: str
    label: str
    amount: str
    due: str


@dataclass(frozen=True)
class HouseholdView:
    step: HouseholdStep
    title: str
    unit: str
    bills: tuple[BillLine, ...]
    total_due: str
    bills_note: str
    balance: str
    card_note: str
    actions: tuple[Action, ...]  # every job the site offers: the main ones (large tiles) first, then the others
    progress: ProgressView | None
    error: ErrorView | None
    credit: str = ""  # the household's account credit ("" when there is none)
    credit_note: str = ""  # what credit is and what it can do
    pay_all: str = ""  # "Pay all ¥X from card balance": the shortcut to the pay page's confirm step ("" when not offered)


class HouseholdFlow(Flow):
    route = "household"

    def __init__(self, ctx, unblocked: CardActionResult | None = None, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.unblocked = unblocked  # a found card just unblocked at sign-in (tap + PIN): said on this page
        self.step = HouseholdStep.LOADING
        self.summary: HouseholdSummary | None = None
        self.error: ErrorView | None = None

    def start(self) -> None:
        identity = self.session.identity
        if identity is None:
            self.ctx.navigate("identify")
            return
        self.call("household_summary", lambda: self.services.household_summary(identity.household_id),
                  self._loaded, self._failed)
        self.changed()

    def _loaded(self, summary: HouseholdSummary) -> None:
        chosen = card_picker.preselected(summary, self.session.identity)  # the tapped card, or the only one
        self.summary = summary.acting_on(None if isinstance(chosen, card_picker.MustPick) else chosen)
        self.step = HouseholdStep.READY

    def _failed(self, exc: KioskError) -> None:
        self.step, self.error = HouseholdStep.FAILED, self.error_view(exc, N_("Please try again, or ask staff for help."))

    def retry(self) -> None:
        self.step, self.error = HouseholdStep.LOADING, None
        self.start()

    def choose(self, key: str) -> None:
        self.ctx.navigate(key)

    def pay_all(self) -> None:
        """The shortcut: the pay page opens on its confirm step, every bill due ticked, this card's balance chosen
        (the pay page checks it all again against a fresh summary, and falls back to its choice step)."""
        if self._pay_all_offered():
            self.ctx.navigate("pay_fees", pay_all=True)

    def _pay_all_offered(self) -> bool:
        """Every bill due can be paid from the card this session acts on (the tapped card, or the only one):
        Pay fees is open, the card is in use and its balance covers the total."""
        s = self.summary
        if s is None or not s.bills or self.step is not HouseholdStep.READY:
            return False
        if self.ctx.site is not None and Feature.PAY_FEES not in self.ctx.site.features:
            return False
        card = s.acting_card
        return self._action(Feature.PAY_FEES).enabled and card is not None and card.usable \
            and card.balance_fen >= s.total_due_fen

    def finish(self) -> None:
        """'Done': end the session and say goodbye."""
        self.ctx.navigate("goodbye")

    def _action(self, feature: Feature) -> Action:
        action = job(self, feature)
        if feature is Feature.PAY_FEES and action.enabled and self.summary is not None:
            if not self.summary.bills:
                return Action(action.key, action.label, False, self.t(N_("Nothing to pay")), action.main,
                              action.personal)
            return Action(action.key, action.label, True, "", action.main, action.personal,
                          self.t(N_("{amount} to pay"), amount=self.money(self.summary.total_due_fen)))
        return action

    def view(self) -> HouseholdView:
        s = self.summary
        bills = tuple(BillLine(b.bill_id, f"{self.t(BILL_KIND_LABELS[b.kind])} {b.period}", self.money(b.amount_fen),
                               self.t(N_("Due {date}"), date=self.day(b.due_date))) for b in (s.bills if s else ()))
        card_note = ""
        card = s.acting_card if s is not None else None
        if self.unblocked is not None:
            card_note = self.t(N_("Your card is unblocked and ready to use. Receipt number {number}"),
                               number=self.unblocked.receipt_number)
        elif card is not None and card.status is CardStatus.FROZEN:
            card_note = self.t(N_("Frozen by staff: please ask staff")) if card.frozen_by_staff else \
                self.t(N_("Your card is frozen. Choose Card loss and replacement to unfreeze it."))
        elif s is not None and not s.cards:
            card_note = self.t(N_("No card is linked to this household."))
        elif s is not None and card is None:  # several cards after a unit + PIN sign-in: each with its balance
            card_note = "\n".join(card_picker.card_button(c, self.language).replace("\n", " · ") for c in s.cards)
        return HouseholdView(
            step=self.step,
            title=self.t(N_("Welcome home")),
            unit=s.unit_label if s else (self.session.identity.unit_label if self.session.identity else ""),
            bills=bills,
            total_due=self.money(s.total_due_fen) if s else "",
            bills_note=self.t(N_("No bills due. Thank you!")) if s is not None and not s.bills else "",
            balance=self.money(s.card_balance_fen) if s is not None and s.card_balance_fen is not None else "—",
            card_note=card_note,
            actions=tuple(self._action(f) for f in offered(self)),  # what the site does not offer is not shown
            progress=ProgressView(self.t(N_("Loading, please wait"))) if self.step is HouseholdStep.LOADING else None,
            error=self.error,
            credit=self.money(s.credit_fen) if s is not None and s.credit_fen > 0 else "",
            credit_note=self.t(N_("Account credit pays bills and fees, or tops up your card."))
            if s is not None and s.credit_fen > 0 else "",
            pay_all=self.t(N_("Pay all {amount} from card balance"), amount=self.money(s.total_due_fen))
            if s is not None and self._pay_all_offered() else "",
        )
