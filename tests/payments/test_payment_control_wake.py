"""PaymentControl's wait between device polls: cancel ends it (True); wake() ends it early without cancelling
(False), so a QR payment sees a verified notification for its order at once instead of on its next look."""
from __future__ import annotations

import threading
import time

from kiosk.payments.control import PaymentControl


def _ends_after(control: PaymentControl, poke: str) -> tuple[bool, float]:
    poker = threading.Timer(0.05, getattr(control, poke))
    poker.start()
    start = time.monotonic()
    try:
        return control.wait_cancelled(30.0), time.monotonic() - start
    finally:
        poker.cancel()


def test_wake_ends_the_wait_early_without_cancelling_and_is_consumed() -> None:
    control = PaymentControl()
    cancelled, waited = _ends_after(control, "wake")
    assert not cancelled and not control.cancelled and waited < 10
    assert not control.wait_cancelled(0.01)  # consumed: the next wait sleeps again, still not cancelled


def test_cancel_still_ends_the_wait_with_true_and_stays_cancelled() -> None:
    control = PaymentControl()
    cancelled, waited = _ends_after(control, "cancel")
    assert cancelled and waited < 10
    assert control.wait_cancelled(0.0) and control.cancelled  # every later wait says so at once


def test_a_wake_after_cancel_does_not_undo_it() -> None:
    control = PaymentControl()
    control.cancel()
    control.wake()
    assert control.wait_cancelled(0.0) and control.wait_cancelled(0.0)
