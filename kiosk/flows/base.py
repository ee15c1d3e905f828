"""Flow base: one interaction's state machine, its context, worker calls, and error views for screens."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from kiosk.domain.site_clock import site_now
from kiosk.errors import KioskError
from kiosk.flows.facade import KioskServices
from kiosk.flows.records import ServiceStatus, SiteInfo
from kiosk.flows.runner import Job, Runner
from kiosk.flows.session import Session
from kiosk.flows.tool_records import PrinterGateView
from kiosk.i18n import N_, format_date, format_datetime, format_money, translate
from kiosk.payments.control import STAGE_MESSAGES, PaymentControl, PaymentProgress, Stage

log = logging.getLogger(__name__)

DEFAULT_CALL_TIMEOUT_S = 20.0
PAYMENT_TIMEOUT_S = 300.0  # a person inserting notes or scanning a code; progress is shown meanwhile

Navigate = Callable[..., None]


@dataclass(frozen=True)
class ErrorView:
    """An error as the screen shows it: a title word and a code as well as colour, plus what to do."""

    code: str
    text: str
    hint: str
    reference: str = ""


@dataclass(frozen=True)
class ProgressView:
    text: str
    can_cancel: bool = True


# Where the person acts on the kiosk now; the screen draws a pictogram of that place (screens/pictograms.py).
DEVICE_CARD, DEVICE_NOTES, DEVICE_QR, DEVICE_SCANNER, DEVICE_PRINTER = "card", "notes", "qr", "scanner", "printer"
DEVICE_PHONE = "phone"  # the resident's own phone: confirm the payment-code payment there (no place on the kiosk)
DEVICES = (DEVICE_CARD, DEVICE_NOTES, DEVICE_QR, DEVICE_SCANNER, DEVICE_PRINTER, DEVICE_PHONE)
STAGE_DEVICES = {Stage.PLACE_CARD: DEVICE_CARD, Stage.HOLD_CARD: DEVICE_CARD, Stage.INSERT_NOTES: DEVICE_NOTES,
                 Stage.CONFIRM_OVERPAY: DEVICE_NOTES, Stage.SCAN_QR: DEVICE_QR, Stage.FINISHING: DEVICE_PRINTER,
                 Stage.SHOW_CODE: DEVICE_SCANNER, Stage.CONFIRM_ON_PHONE: DEVICE_PHONE}
# The page's heading while money moves: the step in a few words (the live message says the rest)
STAGE_HEADINGS = {
    Stage.PREPARING: N_("Please wait"),
    Stage.HOLD_CARD: N_("Keep the card on the reader"),
    Stage.PLACE_CARD: N_("Place your card on the reader"),
    Stage.INSERT_NOTES: N_("Insert banknotes"),
    Stage.CONFIRM_OVERPAY: N_("Accept this note?"),
    Stage.SCAN_QR: N_("Scan the code to pay"),
    Stage.SHOW_CODE: N_("Show your payment code"),
    Stage.CONFIRM_ON_PHONE: N_("Confirm on your phone"),
    Stage.FINISHING: N_("Printing your receipt"),
}
RECEIVED_NO_PRINT = N_("Payment received")  # FINISHING when the printer cannot print


@dataclass(frozen=True)
class PaymentView:
    """What the person must do while money moves: a message, due/received, a QR code, overpay consent,
    and where on the kiosk to act (`device`, drawn as a pictogram)."""

    text: str
    lines: tuple[tuple[str, str], ...] = ()
    notice: str = ""
    qr: str = ""  # what the QR code encodes (SCAN_QR)
    overpay: bool = False  # show accept / decline buttons
    can_cancel: bool = True
    device: str = ""  # one of DEVICES, or "" (nothing to do at a device: preparing)
    heading: str = ""  # the step in a few words ("Insert banknotes"): the page's heading while money moves
    detail: str = ""  # the live message when it says more than the heading and the notice ("" otherwise)
    due: str = ""  # the amount due, formatted ("" when there is none)
    received: str = ""  # banknotes: the amount received so far, formatted ("" for other devices)
    notes: tuple[str, ...] = ()  # banknotes: the notes the acceptor takes now ("¥10", "¥20", ...)


@dataclass
class FlowContext:
    services: KioskServices
    session: Session
    runner: Runner
    navigate: Navigate  # navigate(route_name, **params)
    clock: Callable[[], datetime] = site_now  # the site's wall clock (aware), whatever the machine's TZ
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    payment_timeout_s: float = PAYMENT_TIMEOUT_S
    site: SiteInfo | None = None  # cached by the attract flow, read by the navigator
    status: ServiceStatus | None = None
    routes: frozenset[str] = frozenset()  # route names that exist (phase-2 journeys may be missing)


class Flow:
    """Holds one interaction. Screens read `view()` (a frozen dataclass) and call the flow's methods."""

    route: ClassVar[str] = ""
    title: ClassVar[str] = ""

    def __init__(self, ctx: FlowContext, **params: Any) -> None:
        self.ctx = ctx
        self.params = params
        self.job: Job | None = None
        self.control: PaymentControl | None = None
        self.payment_progress: PaymentProgress | None = None
        self.closed = False
        self._listeners: list[Callable[[Any], None]] = []
        self.gate: PrinterGateView | None = None  # the printer check made before a confirm step
        self.gate_checking = False

    # --- plumbing ------------------------------------------------------------------------------
    @property
    def services(self) -> KioskServices:
        return self.ctx.services

    @property
    def session(self) -> Session:
        return self.ctx.session

    @property
    def language(self) -> str:
        return self.ctx.session.language

    def start(self) -> None:
        """Kick off the first load; called once by the navigator after the flow is shown."""

    def view(self) -> Any:
        raise TypeError(f"{type(self).__name__} must define view()")

    def subscribe(self, listener: Callable[[Any], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        if self.closed:
            return
        state = self.view()
        for listener in list(self._listeners):
            listener(state)

    def activity(self) -> tuple[bool, str]:
        """(busy, device stage), for the frame log the journey benchmark reads: busy while a call is in flight or
        the printer is being checked (the page is not ready for the next tap yet); the payment stage while the
        person or a device must act (card on the reader, notes, a code to scan), else ""."""
        running = self.job is not None and not self.job.finished
        p = self.payment_progress
        device = p.stage.value if running and p is not None and p.stage in PERSON_AT_DEVICE else ""
        return running or self.gate_checking, device

    def close(self) -> None:
        """The flow is dropped: pending results are ignored and listeners forgotten."""
        if self.job is not None and not self.job.finished:
            self.job.cancel()
        self.closed = True
        self._listeners.clear()

    # --- text ---------------------------------------------------------------------------------
    def t(self, message: str, **params: Any) -> str:
        return translate(message, self.language, **params)

    def money(self, fen: int) -> str:
        return format_money(fen, self.language)

    def when(self, value: datetime) -> str:
        return format_datetime(value, self.language)

    def day(self, value: Any) -> str:
        return format_date(value, self.language)

    def error_view(self, exc: KioskError, hint: str = "", reference: str = "") -> ErrorView:
        return ErrorView(exc.code, exc.user_message(self.language), self.t(hint) if hint else "",
                         reference or str(exc.params.get("reference", "")))

    # --- worker calls --------------------------------------------------------------------------
    def call(self, label: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[KioskError], None], timeout_s: float | None = None,
             on_cancel: Callable[[], None] | None = None) -> Job:
        """Run `fn` on the worker; callbacks run on the UI thread unless the flow was closed meanwhile."""
        generation = self.session.generation

        def live() -> bool:
            return not self.closed and generation == self.session.generation

        def done(result: Any) -> None:
            if live():
                on_done(result)
                self.changed()

        def failed(exc: KioskError) -> None:
            if live():
                log.info("%s: %s failed: %s", self.route, label, exc)
                on_error(exc)
                self.changed()

        def cancelled() -> None:
            if live() and on_cancel is not None:
                on_cancel()
                self.changed()

        self.job = self.ctx.runner.submit(label, fn, done, failed, timeout_s or self.ctx.call_timeout_s, cancelled)
        return self.job

    def cancel(self) -> None:
        """The cancel button of a progress view. A payment is asked to stop (the mover answers with
        PaymentCancelled and keeps any money already in as credit); other calls are dropped."""
        if self.control is not None and self.job is not None and not self.job.finished:
            self.control.cancel()
            return
        if self.job is not None:
            self.job.cancel()

    # --- the printer check before money ---------------------------------------------------------
    def check_printer(self) -> None:
        """Ask whether a receipt can be printed, on the way to a confirm step that takes money; the
        confirm button waits for the answer, and a printer that cannot print is said BEFORE paying."""
        self.gate, self.gate_checking = None, True

        def gated(gate: PrinterGateView) -> None:
            self.gate, self.gate_checking = gate, False

        def failed(exc: KioskError) -> None:
            self.gate, self.gate_checking = PrinterGateView(False, NO_ANSWER, True, exc.code), False

        self.call("printer_gate", self.services.printer_gate, gated, failed)

    @property
    def paper_receipt(self) -> bool:
        return self.gate is None or self.gate.can_print

    def printer_notice(self, step: str) -> str:
        """Shown under the prompt (never at the end of a long list): while checking, the printer's trouble
        before paying, and after paying that the receipt prints later. "[ ! ]" so it is not colour alone."""
        if step == "confirm" and self.gate_checking:
            return self.t(N_("Checking the receipt printer, please wait"))
        if self.paper_receipt:
            return ""
        if step == "confirm":
            return "[ ! ] " + self.t(self.gate.reason or NO_ANSWER) + "\n" + self.t(N_(
                "You can continue without a paper receipt: the receipt number is shown on screen and the receipt "
                "is printed later. Or tap Back to cancel."))
        if step == "done":
            return "[ ! ] " + self.t(N_("Please note the receipt number: the receipt is printed when the printer "
                                        "is ready, or ask staff."))
        return ""

    def confirm_caption(self, caption: str) -> str:
        return caption if self.paper_receipt else self.t(N_("Pay without a paper receipt"))

    # --- payments in progress -----------------------------------------------------------------
    def new_payment_control(self) -> PaymentControl:
        """A control for the next money call; its progress reaches `payment_view()` on the UI thread."""
        generation = self.session.generation

        def on_progress(progress: PaymentProgress) -> None:
            def show() -> None:
                if not self.closed and generation == self.session.generation and control is self.control:
                    self.payment_progress = progress
                    self.changed()
            self.ctx.runner.post(show)

        control = PaymentControl(on_progress)
        self.control, self.payment_progress = control, None
        return control

    def answer_overpay(self, accept: bool) -> None:
        if self.control is not None:
            self.control.answer_overpay(accept)

    def payment_view(self) -> PaymentView | None:
        p = self.payment_progress
        if p is None or self.job is None or self.job.finished:
            return None
        try:
            text = self.t(p.text_id, **{k: (self.money(v) if isinstance(v, int) else v) for k, v in p.params})
        except (KeyError, IndexError):
            text = self.t(p.text_id)
        code = dict(p.params).get("code")
        if code:  # an error the resident can act on while the payment waits (E6300: scan again)
            text = f"{text} ({code})"
        lines: tuple[tuple[str, str], ...] = ()
        cash = p.stage in (Stage.INSERT_NOTES, Stage.CONFIRM_OVERPAY, Stage.FINISHING)
        if p.due_fen:
            lines = ((self.t(N_("Amount due")), self.money(p.due_fen)),)
            if cash:
                lines += ((self.t(N_("Received")), self.money(p.received_fen)),)
        notice = self.t(p.notice) if p.notice else ""
        device = STAGE_DEVICES.get(p.stage, "")
        heading = self.t(STAGE_HEADINGS[p.stage])
        if p.stage is Stage.FINISHING and not self.paper_receipt:
            device, heading = "", self.t(RECEIVED_NO_PRINT)
        said = {notice, heading, self.t(STAGE_MESSAGES[p.stage])}  # the notice is said once, in its box
        return PaymentView(text, lines, notice, p.code_url if p.stage is Stage.SCAN_QR else "",
                           p.stage is Stage.CONFIRM_OVERPAY, p.can_cancel, device=device, heading=heading,
                           detail="" if text in said else text, due=self.money(p.due_fen) if p.due_fen else "",
                           received=self.money(p.received_fen) if p.due_fen and cash else "",
                           notes=tuple(note_label(v) for v in sorted(p.notes_fen)))


def note_label(fen: int) -> str:
    """A banknote as printed on it: '¥10' (whole yuan), else the money format."""
    return f"¥{fen // 100}" if fen > 0 and fen % 100 == 0 else format_money(fen)


def new_reference() -> str:
    """A short reference number a user can show staff."""
    return uuid.uuid4().hex[:8].upper()


NO_ANSWER = N_("The receipt printer is not responding.")
# payment stages in which the resident or a device acts (the card on the reader while it is read and written, notes
# going in, a code being scanned, the overpay question): the kiosk is not what the resident waits for
PERSON_AT_DEVICE = frozenset({Stage.HOLD_CARD, Stage.PLACE_CARD, Stage.INSERT_NOTES, Stage.CONFIRM_OVERPAY,
                              Stage.SCAN_QR, Stage.SHOW_CODE, Stage.CONFIRM_ON_PHONE})
PLEASE_TRY_AGAIN = N_("Please try again, or ask staff for help.")
