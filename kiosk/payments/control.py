"""PaymentControl: how a long-running payment talks to the screen while it waits on hardware.

A flow creates one `PaymentControl`, passes it to the facade call that moves money (pay bills,
top up, replace a card, book, pay parking) and calls that on a worker thread. Whoever moves the
money (the card station, the cash collector, the QR collector) reports what the person must do
through `report(PaymentProgress)` and checks `cancelled` between steps. The screen shows the
latest progress (it arrives on the worker thread: hop to the UI thread before touching widgets)
and offers cancel and, for cash, the overpay consent.

Nothing here blocks or sleeps; `wait_for_consent` waits only for the person's answer, with a
timeout, and returns False when cancelled.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.i18n import N_


class Stage(StrEnum):
    PREPARING = "preparing"  # intent recorded, nothing asked of the person yet
    HOLD_CARD = "hold_card"  # keep the card on the reader (writing / verifying)
    PLACE_CARD = "place_card"  # put the (same / new) card on the reader
    INSERT_NOTES = "insert_notes"  # cash: due / inserted live
    CONFIRM_OVERPAY = "confirm_overpay"  # cash: a note in escrow would overpay; agree or not
    SCAN_QR = "scan_qr"  # QR: show code_url, wait for the gateway
    SHOW_CODE = "show_code"  # payment code: the resident shows the app's payment code to the kiosk's scanner
    CONFIRM_ON_PHONE = "confirm_on_phone"  # payment code: USERPAYING, the resident confirms on the phone
    FINISHING = "finishing"  # money has arrived; ledger, receipt


STAGE_MESSAGES: dict[Stage, str] = {
    Stage.PREPARING: N_("Please wait…"),
    Stage.HOLD_CARD: N_("Keep the card on the reader until you are told to remove it."),
    Stage.PLACE_CARD: N_("Please place your card on the reader."),
    Stage.INSERT_NOTES: N_("Please insert your banknotes."),
    Stage.CONFIRM_OVERPAY: N_("This note is more than needed. Accept it? The excess is credited to your account."),
    Stage.SCAN_QR: N_("Scan the code with your phone to pay."),
    Stage.SHOW_CODE: N_("Open the payment code in your app and hold it under the scanner."),
    Stage.CONFIRM_ON_PHONE: N_("Waiting for you to confirm on your phone"),
    Stage.FINISHING: N_("Payment received. Printing your receipt…"),
}


@dataclass(frozen=True)
class PaymentProgress:
    stage: Stage
    due_fen: int = 0
    received_fen: int = 0
    code_url: str = ""  # SCAN_QR: what the QR code encodes
    expires_in_s: int = 0  # SCAN_QR / SHOW_CODE / CONFIRM_ON_PHONE: seconds left (a countdown)
    message: str = ""  # msgid with `params`; empty means STAGE_MESSAGES[stage]
    params: tuple[tuple[str, int | str], ...] = field(default=())
    notice: str = ""  # msgid shown before acceptance starts (e.g. no change is given)
    can_cancel: bool = True
    notes_fen: tuple[int, ...] = ()  # INSERT_NOTES: the banknotes the acceptor takes now (its enabled values)

    @property
    def text_id(self) -> str:
        return self.message or STAGE_MESSAGES[self.stage]


class PaymentControl:
    """Shared between one screen and one money-moving call. Thread-safe."""

    def __init__(self, on_progress: Callable[[PaymentProgress], None] | None = None) -> None:
        self._on_progress = on_progress
        self._cancel = threading.Event()
        self._stir = threading.Event()  # what wait_cancelled sleeps on: set by cancel() and by wake()
        self._answer = threading.Event()
        self._consent = False
        self._lock = threading.Lock()
        self.last: PaymentProgress | None = None
        # QR only, chosen by the flow before the payment starts: the network ("wechatpay", "alipay"; "" = the
        # kiosk's first) and the direction ("kiosk_code": the resident scans the kiosk's code; "payment_code":
        # the kiosk's scanner reads the resident's). docs/payments.md, "Both networks at once".
        self.network = ""
        self.direction = "kiosk_code"

    # --- for money movers ----------------------------------------------------------------
    def report(self, progress: PaymentProgress) -> None:
        with self._lock:
            self.last = progress
            if progress.stage is Stage.CONFIRM_OVERPAY:  # a new question: forget the last answer
                self._answer.clear()
        if self._on_progress is not None:
            self._on_progress(progress)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait_cancelled(self, timeout: float) -> bool:
        """Sleep-free wait used between device polls: returns True as soon as cancel is pressed, and False early
        when wake() says the money mover has news to look at (a verified gateway notification for its order)."""
        if self._stir.wait(timeout) and not self._cancel.is_set():
            self._stir.clear()  # consumed: the caller looks at its state right after
        return self._cancel.is_set()

    def wake(self) -> None:
        """End the money mover's current wait_cancelled now (it then looks at what changed), without cancelling."""
        self._stir.set()

    def wait_for_consent(self, timeout: float) -> bool:
        if not self._answer.wait(timeout) or self.cancelled:
            return False
        with self._lock:
            return self._consent

    def consent_answer(self, timeout: float) -> bool | None:
        """Like wait_for_consent, but None while the person has not answered yet (so a caller can
        keep polling the device between short waits); False once cancelled."""
        if not self._answer.wait(timeout):
            return None
        if self.cancelled:
            return False
        with self._lock:
            return self._consent

    # --- for the screen ------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()
        self._stir.set()
        self._answer.set()

    def answer_overpay(self, accept: bool) -> None:
        with self._lock:
            self._consent = accept
        self._answer.set()


# A money mover is handed to the payment service as `move_money`: it runs between the intent and
# the settlement, with the payment row (id, amount, method, household) and the control.
# It returns normally once the money has arrived (on the ledger as the household's credit for
# cash/QR), raises PaymentCancelled / PaymentExpired / a DeviceError otherwise; anything that
# did arrive stays on the ledger as credit.
