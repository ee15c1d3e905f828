"""Errors of the attached devices (E6xxx) and of the touchscreen itself (E80xx)."""
from __future__ import annotations

from kiosk.errors.base import KioskError
from kiosk.i18n import N_


# --- devices ---------------------------------------------------------------------------------
class DeviceError(KioskError):
    code = "E6000"
    message = N_("A device is not working.")


class DeviceUnavailable(DeviceError):
    code = "E6001"
    message = N_("The {device} is not available right now.")


class DeviceTimeout(DeviceError):
    code = "E6002"
    message = N_("The {device} did not answer in time.")


class ProtocolError(DeviceError):
    code = "E6003"
    message = N_("The {device} sent a garbled reply.")


class DriverNotFound(DeviceError):
    code = "E6004"
    message = N_("Unknown driver {driver!r} for setting {key}.")


class PrinterNotReady(DeviceError):
    """The printer cannot print: nothing of the job was sent (a spooler counts no attempt)."""

    code = "E6100"
    message = N_("The receipt printer cannot print right now ({reason}).")


class PrintInterrupted(DeviceError):
    """The job was sent and the printer then reported that it stopped (paper ran out, cover opened, no status
    after the job): the receipt may be partly or wholly on paper; the caller keeps the job and counts an attempt."""

    code = "E6101"
    message = N_("The receipt printer stopped while printing ({reason}).")


class CashAcceptorFault(DeviceError):
    code = "E6200"
    message = N_("The banknote acceptor reported a problem: {reason}.")


class ScanUnreadable(DeviceError):
    """The scanner read something that is no WeChat or Alipay payment code (garbled, cut short, another
    barcode): nothing was charged and the scanner stays ready for the next scan."""

    code = "E6300"
    message = N_("The payment code could not be read. Please refresh the code on your phone and scan it again.")


class NothingScanned(DeviceError):
    """The technician's scanner test: the port opened but no scan came while the test waited."""

    code = "E6330"
    message = N_("Nothing was scanned within {seconds} s. Hold a payment code under the scanner and test again.")


class PaymentCodeOtherNetwork(DeviceError):
    """The resident showed the other network's payment code than the one chosen (kiosk.payments.code_collector):
    refused, nothing charged; the scanner waits for the right code."""

    code = "E6310"
    message = N_("This payment code is from the other payment app. Please show the payment code of the app you chose.")


class PaymentCodeDeclined(DeviceError):
    """The network declined the payment code (balance not enough, limit, the resident refused): nothing charged."""

    code = "E6311"
    message = N_("The payment was declined in your app. Nothing was charged. Please try another way to pay.")


class PaymentCodeNotConfirmed(DeviceError):
    """The resident did not confirm on the phone in time, or cancelled: the order was reversed, nothing charged."""

    code = "E6312"
    message = N_("The payment was not confirmed on your phone in time, so it was cancelled. Nothing was charged.")


class VoidRefundRefused(DeviceError):
    """A void's refund at the gateway was refused (kiosk.payments.void_refunds): the void stands and the amount is
    kept as the household's account credit (the REFUND entry reversed)."""

    code = "E6313"
    message = N_("The receipt is voided, but the payment service refused the refund: the amount is kept as the "
                 "household's account credit (E6313).")


class VoidRefundPending(DeviceError):
    """A void's refund at the gateway is not confirmed yet (no answer): retried by recover() with the same id."""

    code = "E6314"
    message = N_("The receipt is voided. The payment service did not answer yet: the refund is sent again "
                 "automatically until it answers (E6314).")


# --- user interface --------------------------------------------------------------------------
class UiError(KioskError):
    code = "E8000"
    message = N_("The screen could not finish this step. Please start again.")


class RequestTimedOut(UiError):
    code = "E8001"
    message = N_("This is taking too long. Please try again.")


class KioskStarting(UiError):
    code = "E8003"
    message = N_("The kiosk is still starting. Please try again in a moment.")


class UnexpectedFailure(UiError):
    code = "E8002"
    message = N_("Something went wrong (reference {reference}). Please show this to staff.")
