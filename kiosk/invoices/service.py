"""`Invoicing`: the kiosk's invoice service as screens, the facade and the CLI use it (Kivy-free).

Built once per process from [invoices] and the provider adapter (kiosk.app_runtime.invoicing wires it). When
invoicing is off, or refused to start (a missing or malformed tax table row, a bad seller tax ID, a provider that
cannot be built), `available` is False and `error` holds the one translated line that says why; the rest of the
kiosk runs as before and every call that would queue an invoice raises that error. Reading what is stored
(lists, My records) works either way.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain import credit_code
from kiosk.errors import (ConfigError, InvoiceError, InvoiceNoLongerFailed, InvoiceRetryUnconfirmed,
                          InvoiceTitleFormUnavailable, InvoiceWrongState, InvoicingOff, KioskError, NotFound)
from kiosk.invoices import delivery, red_letters, requests, titles
from kiosk.invoices.delivery import Delivery
from kiosk.invoices.requests import InvoiceOffer
from kiosk.invoices.sender import Backoff, Outcome
from kiosk.invoices.tax_table import TaxTable, check_table
from kiosk.invoices.titles import SavedTitle
from kiosk.invoices.views import InvoiceView, request_view
from kiosk.invoices.worker import InvoiceWorker, sync
from kiosk.persistence.db import unit_of_work
from kiosk.invoices.states import InvoiceState
from kiosk.ports import BuyerKind, InvoiceBuyer, InvoiceProvider, InvoiceStatus, TitleForm
from kiosk.services.receipts import Till
from kiosk.settings import InvoiceSettings

log = logging.getLogger(__name__)


def check_settings(settings: InvoiceSettings) -> TaxTable:
    """Everything invoicing needs from [invoices], checked as it starts; raises the one line that says why not."""
    table = check_table(settings.tax)
    if credit_code.problem(credit_code.normalize(settings.seller_tax_id)):
        raise ConfigError(credit_code.problem(credit_code.normalize(settings.seller_tax_id)),
                          key="invoices.seller_tax_id: the estate's 18-character unified social credit code")
    if not settings.clerk.strip():
        raise ConfigError(key="invoices.clerk: the drawer's name as registered at the bureau")
    try:
        settings.receipt_qr_template.format(order_no="HY261208B2345678", receipt="00000001")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(key=f"invoices.receipt_qr_template: only {{order_no}} and {{receipt}} ({exc})") from exc
    return table


class Invoicing:
    def __init__(self, settings: InvoiceSettings, factory: sessionmaker[Session], till: Till,
                 provider: InvoiceProvider | None, *, table: TaxTable | None = None,
                 error: KioskError | None = None, backoff: Backoff | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self.till = till
        self.provider = provider
        self.table = table
        self.error = error if error is not None else (None if provider and table else InvoicingOff("switched off"))
        self.backoff = backoff
        self.workers: list[InvoiceWorker] = []
        self.listeners: list = []  # callables(Outcome): e.g. the runtime's bus, so My records refreshes

    # --- state ------------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.error is None

    def _ready(self) -> tuple[TaxTable, InvoiceProvider]:
        if self.error is not None or self.table is None or self.provider is None:
            raise self.error or InvoicingOff()
        return self.table, self.provider

    # --- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if not self.available or self.workers:
            return
        assert self.provider is not None
        for n in range(self.settings.workers):
            worker = InvoiceWorker(self.provider, self.factory, label=f"{self.till.kiosk_code}-{n}",
                                   backoff=self.backoff, on_outcome=self._changed)
            self.workers.append(worker.start())

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def kick(self) -> None:
        for worker in self.workers:
            worker.kick()

    def _changed(self, outcome: Outcome) -> None:
        for listener in list(self.listeners):
            listener(outcome)

    # --- resident side -------------------------------------------------------------------------
    def offer(self, receipt_number: int | str) -> InvoiceOffer:
        """Whether the success screen offers "开发票" for this receipt, and for how much."""
        table, _ = self._ready()
        with unit_of_work(self.factory) as s:
            return requests.offer(s, self.till.site_id, receipt_number, table)

    def saved_titles(self, household_id: int) -> tuple[SavedTitle, ...]:
        with unit_of_work(self.factory) as s:
            return titles.saved_titles(s, household_id)

    def open_title_form(self, expires_in_s: int = 180) -> TitleForm:
        """The phone-side title form: show `url` as a QR, count down to `expires_at`, poll `read_title`.
        Whatever keeps the form from opening (the provider's form service down, refusing, answering nonsense) is
        InvoiceTitleFormUnavailable: the resident is told to try again, use a saved title or ask staff; nothing
        was requested, so the provider's own words would only mislead."""
        _, provider = self._ready()
        try:
            return provider.open_title_form(expires_in_s)
        except InvoicingOff:
            raise
        except InvoiceError as exc:
            log.warning("invoice title form not opened: %s", exc)
            raise InvoiceTitleFormUnavailable(str(exc)) from exc

    def read_title(self, session_id: str) -> InvoiceBuyer | None:
        """The title the resident submitted on the phone, checked as if typed here (None until submitted)."""
        _, provider = self._ready()
        buyer = provider.read_title(session_id)
        if buyer is None:
            return None
        return titles.make_buyer(buyer.kind, buyer.name, buyer.tax_id, phone=buyer.phone, email=buyer.email)

    def request(self, receipt_number: int | str, *, actor: str, buyer: InvoiceBuyer | None = None,
                title_id: int | None = None, household_id: int | None = None, print_note: bool = False,
                now: datetime | None = None) -> InvoiceView:
        """Queue the invoice (stored before anything is sent) and wake the worker. `buyer` from
        titles.make_buyer / read_title, or `title_id` of the household's saved title. `print_note` queues a copy
        of the receipt carrying the invoice's QR and "发票开具中" (when the receipt already printed)."""
        table, _ = self._ready()
        with unit_of_work(self.factory) as s:
            if buyer is None:
                if title_id is None or household_id is None:
                    raise ValueError("a buyer or a saved title of the household is needed")
                buyer = titles.saved_buyer(s, household_id, title_id)
            view = requests.request_invoice(
                s, site_id=self.till.site_id, receipt_number=receipt_number, buyer=buyer, table=table, actor=actor,
                kiosk_id=self.till.kiosk_id, receipt_qr_template=self.settings.receipt_qr_template, now=now)
            if print_note:
                from kiosk.services import receipts

                receipts.queue_reprint(s, receipts.find(s, self.till.site_id, int(receipt_number)),
                                       self.till.kiosk_id)
        self.kick()
        return view

    def household_invoices(self, household_id: int) -> tuple[InvoiceView, ...]:
        """My records: number, amount, state, QR for the PDF."""
        with unit_of_work(self.factory) as s:
            return requests.household_invoices(s, household_id)

    def for_receipt(self, receipt_number: int | str) -> InvoiceView | None:
        with unit_of_work(self.factory) as s:
            return requests.for_receipt(s, self.till.site_id, receipt_number)

    def resend(self, *, actor: str, request_id: int | None = None, invoice_no: str = "", phone: str = "",
               email: str = "", household_id: int | None = None) -> Delivery:
        """Re-send an issued invoice by SMS (`phone`) or e-mail (`email`), at most RESENDS_PER_DAY a day
        (kiosk.invoices.delivery). `household_id` when a resident asks: only the household's own invoices."""
        _, provider = self._ready()
        return delivery.resend(self.factory, provider, request_id=request_id, invoice_no=invoice_no, phone=phone,
                               email=email, actor=actor, household_id=household_id)

    # --- staff side ------------------------------------------------------------------------------
    def list(self, state: str | None = None, limit: int = 200) -> tuple[InvoiceView, ...]:
        with unit_of_work(self.factory) as s:
            return requests.list_requests(s, self.till.site_id, state=state, limit=limit)

    def get(self, request_id: int) -> InvoiceView:
        with unit_of_work(self.factory) as s:
            return request_view(s, requests.get(s, request_id))

    def retry(self, request_id: int, *, actor: str, title: str | None = None, tax_id: str = "",
              buyer: InvoiceBuyer | None = None, title_id: int | None = None) -> InvoiceView:
        """Staff send a failed request again under a new order number, with the title corrected when `title`
        (typed: a company when `tax_id` is given), `buyer` (from the phone form, checked) or `title_id` (one the
        household saved) is given. The title is checked (GB 32100, characters) before anything is stored.

        Exactly once: first the provider is asked about the OLD order number. Still failed (or unknown to it):
        the retry goes ahead. Issued or being issued (someone re-issued it at the provider): no new number; the
        request goes back to `unknown` under the old one and InvoiceNoLongerFailed says so. No usable answer:
        nothing changes (InvoiceRetryUnconfirmed)."""
        _, provider = self._ready()
        if title is not None:
            buyer = titles.make_buyer(BuyerKind.COMPANY if tax_id else BuyerKind.PERSONAL, title, tax_id)
        elif buyer is not None:
            buyer = titles.make_buyer(buyer.kind, buyer.name, buyer.tax_id, phone=buyer.phone, email=buyer.email)
        with unit_of_work(self.factory) as s:
            request = requests.get(s, request_id)
            old, state, household = request.order_no, request.state, request.household_id
            if buyer is None and title_id is not None:
                if household is None:
                    raise NotFound(f"invoice request {request_id} has no household to take a saved title from")
                buyer = titles.saved_buyer(s, household, title_id)
        if state != InvoiceState.FAILED:
            raise InvoiceWrongState(f"request {request_id} is {state}", state=state)
        try:
            said = provider.query(old)
        except InvoiceError as exc:
            log.warning("retry of invoice request %s: order %s not confirmed failed: %s", request_id, old, exc)
            raise InvoiceRetryUnconfirmed(f"order {old}: {exc}") from exc
        if said.status not in (InvoiceStatus.FAILED, InvoiceStatus.NOT_FOUND):
            with unit_of_work(self.factory) as s:
                requests.reopen(s, request_id, order_no=old, actor=actor, status=str(said.status))
            self.kick()
            raise InvoiceNoLongerFailed(f"order {old} is {said.status} at the provider")
        with unit_of_work(self.factory) as s:
            view = requests.retry(s, request_id, actor=actor, buyer=buyer,
                                  checked=(old, str(said.status), said.reason))
        self.kick()
        return view

    def red(self, invoice_no: str, *, reason: str, actor: str, positions: Sequence[int] | None = None) -> InvoiceView:
        """File a red letter for an issued invoice (reason 1-4; whole, or the lines at `positions`)."""
        with unit_of_work(self.factory) as s:
            request = requests.by_invoice_no(s, invoice_no)
            red_letters.file_red_letter(s, request, reason=red_letters.parse_reason(reason), actor=actor,
                                        positions=positions)
            view = request_view(s, request)
        self.kick()
        return view

    def sync(self) -> list[Outcome]:
        """Send what is queued and ask once about everything pending, on this thread."""
        _, provider = self._ready()
        return sync(provider, self.factory)
