"""Errors of invoicing (数电发票): the tax table, the tax service, the invoices asked for (E90xx, E91xx)."""
from __future__ import annotations

from kiosk.errors.base import KioskError
from kiosk.errors.config import ConfigError
from kiosk.i18n import N_, translate


# --- invoices (数电发票) -------------------------------------------------------------------------
class InvoiceError(KioskError):
    code = "E9000"
    message = N_("The invoice could not be issued. Your request is kept; please ask staff.")


class InvoiceProviderUnreachable(InvoiceError):
    """No usable answer from the tax provider (down, timed out, garbled): what was sent is unknown until
    the order number is queried."""

    code = "E9001"
    message = N_("The invoice service cannot be reached right now. Your request is kept and will be sent later.")


class InvoiceSignatureRejected(InvoiceError):
    """The provider refused our signature or access token: the app key / secret or the clock is wrong."""

    code = "E9002"
    message = N_("The invoice service refused the kiosk's credentials. Please ask staff to check the invoice "
                 "settings.")


class InvoiceRateLimited(InvoiceError):
    """Too many requests (or access tokens) for the provider's limits: wait and send again."""

    code = "E9003"
    message = N_("The invoice service is busy. Your request is kept and will be sent later.")


class InvoiceRejected(InvoiceError):
    """The provider refused the order itself (a field, the tax arithmetic, the buyer's tax ID): sending the
    same order again gets the same answer; `reason` is the provider's own words, `provider_code` its code."""

    code = "E9004"
    message = N_("The invoice service refused this invoice: {reason}")

    @property
    def provider_code(self) -> str:
        return str(self.params.get("provider_code", ""))


class InvalidTaxId(InvoiceError):
    code = "E9005"
    message = N_("{tax_id} is not a valid unified social credit code. Please check it.")


class InvoicingOff(InvoiceError):
    """Invoicing is switched off, or refused to start (the tax table): nothing is queued."""

    code = "E9100"
    message = N_("Invoices are not available at this kiosk right now. Please ask staff.")


class TaxTableMissingRow(InvoicingOff, ConfigError):
    """A fee kind the kiosk charges has no row in [invoices.tax]: invoicing refuses to start."""

    code = "E9101"
    message = N_("Invoicing is off: the tax table has no row for the fee kind {kind} ([invoices.tax.{kind}]).")


class TaxTableBadRow(InvoicingOff, ConfigError):
    """A tax table row is malformed: invoicing refuses to start. `problem` is a msgid of its own, translated
    with the row's details (`problem_params`)."""

    code = "E9102"
    message = N_("Invoicing is off: the tax table row for {kind} is wrong: {problem}")

    def user_message(self, language: str) -> str:
        problem = translate(str(self.params.get("problem", "")), language,
                            **dict(self.params.get("problem_params") or {}))
        return translate(self.message, language, kind=self.params.get("kind", ""), problem=problem)

    def __str__(self) -> str:
        return f"[{self.code}] " + self.user_message("en")


class InvoiceNotOffered(InvoiceError):
    """This payment cannot have an invoice: not paid, voided, or only of kinds the tax table does not invoice."""

    code = "E9103"
    message = N_("No invoice can be issued for this payment.")


class InvoiceAlreadyRequested(InvoiceError):
    code = "E9104"
    message = N_("An invoice has already been requested for receipt {receipt}.")


class InvoiceTitleInvalid(InvoiceError):
    """A buyer name or company title the provider would refuse (empty, too long, characters it does not take)."""

    code = "E9105"
    message = N_("Please check the invoice title: {problem}")

    def user_message(self, language: str) -> str:
        problem = translate(str(self.params.get("problem", "")), language,
                            **dict(self.params.get("problem_params") or {}))
        return translate(self.message, language, problem=problem)

    def __str__(self) -> str:
        return f"[{self.code}] " + self.user_message("en")


class InvoiceWrongState(InvoiceError):
    """Retry of a request that has not failed, a red letter for an invoice not issued, and the like."""

    code = "E9106"
    message = N_("This cannot be done while the invoice is {state}.")


class InvoiceTitleFormUnavailable(InvoiceError):
    """The phone-side title form could not be opened (the provider's form service down, refused or garbled): the
    resident is told what to do instead; nothing was requested."""

    code = "E9120"
    message = N_("The invoice title form for your phone could not be opened. Please try again, choose a title "
                 "saved for your household, or ask staff for help.")


class InvoiceRetryUnconfirmed(InvoiceError):
    """Staff retry of a failed request: the provider could not be asked whether the old order still stands as
    failed, so no new order number was taken (a retry must never make two invoices)."""

    code = "E9121"
    message = N_("The tax service could not confirm that this invoice failed, so it was not sent again. Nothing "
                 "changed; please try again later.")


class InvoiceNoLongerFailed(InvoiceError):
    """Staff retry of a failed request: the provider now holds the old order number as issued or being issued
    (re-issued elsewhere), so it was not sent again; the request is asked about under its own number."""

    code = "E9122"
    message = N_("The tax service no longer reports this invoice as failed, so it was not sent again. Its state "
                 "is being checked.")


class InvoicePhoneInvalid(InvoiceError):
    """A re-send to a phone that is not a mainland mobile number (11 digits, 1[3-9]...)."""

    code = "E9130"
    message = N_("{phone} is not a mobile phone number. Please check it.")


class InvoiceEmailInvalid(InvoiceError):
    """A re-send to something that is not an e-mail address."""

    code = "E9131"
    message = N_("{email} is not an e-mail address. Please check it.")


class InvoiceResendLimit(InvoiceError):
    """An invoice re-sent as often as a day allows (kiosk.invoices.delivery.RESENDS_PER_DAY)."""

    code = "E9132"
    message = N_("This invoice was already sent {count} times today. Please try again tomorrow.")


class InvoiceNotSent(InvoiceError):
    """A re-send the provider did not take (down, busy, credentials refused): nothing was sent or recorded."""

    code = "E9133"
    message = N_("The invoice could not be sent right now. Nothing was sent; please try again later.")
