"""My records (交易记录查询): the household's payments and card movements, a page at a time; a row opens every line
of its receipt; a copy is printed only after the resident confirms."""
from __future__ import annotations

from typing import Any

from kiosk.domain.terms import CARD_KIND_LABELS, CardKind
from kiosk.flows.records import CardMovement, RecordDetail, RecordEntry, RecordsPage
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_, translate

PAGE_SIZE = 8
ITEMS_ON_A_ROW = 2
RECORD_KIND_LABELS = {
    "bill_payment": N_("Fee payment"), "top_up": N_("Card top-up"), "card_loss": N_("Card loss"),
    "card_unfreeze": N_("Card unfrozen"), "card_replacement": N_("Card replacement fee"),
    "booking": N_("Service bookings"), "parking": N_("Parking rent"), "direct_debit": N_("Direct debit"),
    "callback": N_("Callback"), "void": N_("Void"), "card_opening": N_("Balance taken over"),
    "card_top_up": N_("Card top-up"), "card_balance_transfer": N_("Balance moved to the new card"),
    "card_void": N_("Void"), "card_bill_payment": N_("Fee payment"), "card_card_fee": N_("Card replacement fee"),
    "card_booking_fee": N_("Service bookings"), "card_parking_fee": N_("Parking rent"),
}
RECORD_KIND_ICONS = {
    "bill_payment": "receipt", "top_up": "cash-multiple", "card_loss": "lock", "card_unfreeze": "lock-open",
    "card_replacement": "credit-card", "booking": "calendar-check", "parking": "car", "direct_debit": "bank",
    "callback": "phone-in-talk", "void": "undo", "card_opening": "swap-horizontal", "card_top_up": "cash-multiple",
    "card_balance_transfer": "swap-horizontal", "card_void": "undo", "card_bill_payment": "receipt",
    "card_card_fee": "credit-card", "card_booking_fee": "calendar-check", "card_parking_fee": "car",
}
# The receipt's own balance lines are replaced by the card lines (same meaning, in the resident's language).
BALANCE_CAPTIONS = (N_("Card balance before"), N_("Card balance after"))
PROMPTS = {"loading": N_("Loading, please wait"), "detail": N_("Receipt details"),
           "sending": N_("Please wait"),
           "failed": N_("Sorry, this could not be done")}


class RecordsFlow(StepFlow):
    """list (a page of rows, previous/next) -> detail (every line) -> confirm -> a copy printed."""

    route = "records"
    title = N_("My records")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.page: RecordsPage | None = None
        self.offset = 0
        self.detail: RecordDetail | None = None
        self.message = ""
        self.invoice_count = 0

    # --- loading ------------------------------------------------------------------------------
    def loaded(self) -> None:
        self._load(self.offset)

    def _load(self, offset: int) -> None:
        household, language = self.summary.household_id if self.summary else "", self.language
        self.step, self.message = "loading", ""
        self.call("my_records", lambda: self.services.my_records(household, language, offset, PAGE_SIZE),
                  self._page, self.fail)
        self.changed()

    def _page(self, page: RecordsPage) -> None:
        self.page, self.offset, self.step = page, page.offset, "list"
        household = self.summary.household_id if self.summary else ""
        if not self.invoice_count:  # the household's invoices: a row that opens them (My invoices)
            self.call("household_invoices", lambda: self.services.household_invoices(household),
                      lambda found: setattr(self, "invoice_count", len(found)), lambda _exc: None)

    # --- actions --------------------------------------------------------------------------------
    def choose(self, key: str) -> None:
        if self.step == "list" and key == "invoices" and self.invoice_count:
            self.ctx.navigate("my_invoices")
        elif self.step == "list" and self.page is not None:
            if key == "next" and self.page.has_more:
                self._load(self.offset + PAGE_SIZE)
            elif key == "previous" and self.offset > 0:
                self._load(max(0, self.offset - PAGE_SIZE))
            elif any(e.record_id == key for e in self.page.entries):
                self._open(key)
        elif self.step == "detail" and key == "reprint" and self._reprintable:
            self.message = ""
            self.go_step("reprint_confirm")

    def _open(self, record_id: str) -> None:
        household, language = self.summary.household_id if self.summary else "", self.language
        self.history.append(self.step)
        self.step, self.message, self.detail = "loading", "", None
        self.call("record_detail", lambda: self.services.record_detail(household, record_id, language),
                  self._opened, self.fail)
        self.changed()

    def _opened(self, detail: RecordDetail) -> None:
        self.detail, self.step = detail, "detail"

    @property
    def _reprintable(self) -> bool:
        return self.detail is not None and bool(self.detail.entry.receipt_number)

    def primary(self) -> None:
        if self.step == "detail" and self.message:  # the copy is printing: Done goes home in one tap
            self.ctx.navigate("household")
            return
        if self.step == "detail" and self._reprintable:  # Reprint: asks first
            self.choose("reprint")
            return
        if self.step == "reprint_confirm" and self.detail is not None and self.summary is not None:
            household, number = self.summary.household_id, self.detail.entry.receipt_number
            self.step = "sending"
            self.call("reprint", lambda: self.services.reprint(number, household), lambda _r: self._printed(number),
                      self._reprint_failed)
            self.changed()

    def _printed(self, number: str) -> None:
        self.step = "detail"
        self.message = self.t(N_("A copy of receipt {number} is printing."), number=number)

    def _reprint_failed(self, exc: Any) -> None:
        self.step = "detail"
        self.error = self.error_view(exc, N_("Please try again, or ask staff for help."))

    def back(self) -> None:
        if self.step == "reprint_confirm":
            self.step, self.error = "detail", None
            self.changed()
            return
        if self.step in ("detail", "failed") and self.page is not None:
            self.history.clear()
            self.step, self.error, self.message = "list", None, ""
            self.changed()
            return
        self.ctx.navigate("household")

    # --- words ----------------------------------------------------------------------------------
    def kind_label(self, kind: str) -> str:
        label = RECORD_KIND_LABELS.get(kind)
        return self.t(label) if label else kind

    def card_label(self, move: CardMovement) -> str:
        kind = self.t(CARD_KIND_LABELS[CardKind(move.card_kind)]) if move.card_kind in CardKind.__members__.values() \
            else move.card_kind
        return f"{kind} ···{move.card_tail}"

    def signed(self, fen: int) -> str:
        return ("+" if fen > 0 else "") + self.money(fen)

    def _what(self, entry: RecordEntry) -> str:
        shown = [f"{i.label} {i.detail}".strip() for i in entry.items[:ITEMS_ON_A_ROW]]
        more = len(entry.items) - ITEMS_ON_A_ROW
        text = "、".join(shown) if self.language.startswith("zh") else ", ".join(shown)
        return text + (" " + self.t(N_("and {count} more"), count=more) if more > 0 else "")

    def row_label(self, entry: RecordEntry) -> str:
        """Every line of a row as one text (the row itself is `row_option`)."""
        option = self.row_option(entry)
        return "\n".join(part for part in (f"{option.label}  {option.value}".strip(), option.detail) if part)

    def row_option(self, entry: RecordEntry) -> Option:
        """A record as a row: what it is (and 'Voided'), the amount large at its end; under it the time and the
        receipt number, what was paid, and one line per card movement."""
        moves_money = bool(entry.amount_fen or entry.items or entry.card_moves)  # a loss report moves no money
        label = self.kind_label(entry.kind) + (f" ({self.t(N_('Voided'))})" if entry.voided else "")
        when = self.when(entry.when)
        if entry.receipt_number:
            when += " · " + self.t(N_("Receipt {number}"), number=entry.receipt_number)
        what = self._what(entry) if entry.items else ""
        lines = [when] + ([what] if what and what != self.kind_label(entry.kind) else [])  # "Card top-up" once
        lines += [self.t(N_("{card} {change}, balance {balance}"), card=self.card_label(m), change=self.signed(m.change_fen),
                         balance=self.money(m.balance_after_fen)) for m in entry.card_moves]
        return Option(entry.record_id, label, detail="\n".join(lines),
                      icon=RECORD_KIND_ICONS.get(entry.kind, "receipt"),
                      value=self.money(entry.amount_fen) if moves_money else "")

    def detail_lines(self, detail: RecordDetail) -> tuple[tuple[str, str], ...]:
        e = detail.entry
        lines: list[tuple[str, str]] = []
        if e.receipt_number:
            lines.append((self.t(N_("Receipt number")), e.receipt_number))
        lines += [(self.t(N_("Time")), self.when(e.when)), (self.t(N_("Type")), self.kind_label(e.kind))]
        lines += [(f"{i.label} {i.detail}".strip(), self.money(i.amount_fen)) for i in e.items]
        lines.append((self.t(N_("Total")), self.money(e.amount_fen)))
        if detail.method:
            lines.append((self.t(N_("Payment method")), detail.method))
        for m in e.card_moves:
            lines += [(self.t(N_("Card")), self.card_label(m)), (self.t(N_("Amount on the card")), self.signed(m.change_fen)),
                      (self.t(N_("Balance before")), self.money(m.balance_before_fen)),
                      (self.t(N_("Balance after")), self.money(m.balance_after_fen))]
        captions = {translate(c, lang) for c in BALANCE_CAPTIONS for lang in ("zh_Hans", "zh_Hant", "en")}
        lines += [f for f in detail.fields if f[0] not in captions]
        if e.voided:
            lines.append(("", self.t(N_("This receipt has been voided."))))
        lines += [("", note) for note in detail.notes]
        return tuple(lines)

    def view(self) -> StepView:
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        prompt = self.t(PROMPTS[self.step]) if self.step in PROMPTS else ""  # translate("") is the catalog header
        primary = ""
        page = self.page
        if self.step == "list" and page is not None:
            if not page.entries:
                prompt = self.t(N_("No records yet."))
            else:
                pages = (page.total + PAGE_SIZE - 1) // PAGE_SIZE
                prompt = self.t(N_("Tap a record to see it. Page {page} of {pages}"),
                                page=page.offset // PAGE_SIZE + 1, pages=pages)
            options = tuple(self.row_option(e) for e in page.entries)
            if self.invoice_count:
                options = (Option("invoices", self.t(N_("My invoices")), icon="file-document-box",
                                  detail=self.t(N_("{count} invoices"), count=self.invoice_count)),) + options
            if page.offset > 0 or page.has_more:
                options += (Option("previous", self.t(N_("Previous page")), page.offset > 0, icon="chevron-left"),
                            Option("next", self.t(N_("Next page")), page.has_more, icon="chevron-right"))
        elif self.step in ("detail", "reprint_confirm", "sending") and self.detail is not None:
            lines = self.detail_lines(self.detail)
            if self.step == "detail" and self.message:  # a copy is printing: Done, or another copy
                primary = self.t(N_("Done"))
                options = (Option("reprint", self.t(N_("Print another copy")), icon="printer"),)
            elif self.step == "detail" and self._reprintable:  # the main button: the lines keep the whole page
                primary = self.t(N_("Reprint"))
            elif self.step == "reprint_confirm":
                prompt = self.t(N_("Print a copy of receipt {number}?"), number=self.detail.entry.receipt_number)
                lines = ((self.t(N_("Receipt number")), self.detail.entry.receipt_number),
                         ("", self.t(N_("The copy is marked as a reprint."))))
                primary = self.t(N_("Print a copy"))
        return self.base_view(prompt, options=options, lines=lines, message=self.message, primary=primary)
