"""Errors of money and business rules: rules and entries, cards, staff sign-in, payments (E3xxx-E5xxx, E70xx)."""
from __future__ import annotations

from kiosk.errors.base import KioskError
from kiosk.i18n import N_


# --- money and business rules ----------------------------------------------------------------
class BusinessRuleError(KioskError):
    code = "E3000"
    message = N_("This cannot be done.")


class BillAlreadyPaid(BusinessRuleError):
    code = "E3001"
    message = N_("This bill has already been paid.")


class BillNotFound(BusinessRuleError):
    code = "E3002"
    message = N_("The bill was not found.")


class InsufficientBalance(BusinessRuleError):
    code = "E3003"
    message = N_("The card balance is not enough.")


class CreditNotEnough(InsufficientBalance):
    """The household's account credit does not cover the part asked of it (spent meanwhile elsewhere)."""

    code = "E3020"
    message = N_("Your account credit is not enough for this payment.")


class IdempotencyConflict(BusinessRuleError):
    code = "E3004"
    message = N_("This request was already used for a different operation.")


class InvalidAmount(BusinessRuleError):
    code = "E3005"
    message = N_("The amount is not valid.")


class NotFound(BusinessRuleError):
    code = "E3006"
    message = N_("Nothing was found for what you entered.")


class SlotUnavailable(BusinessRuleError):
    code = "E3007"
    message = N_("That time slot is no longer available.")


class ReceiptAlreadyVoided(BusinessRuleError):
    code = "E3008"
    message = N_("This receipt has already been voided.")


class OutOfHours(BusinessRuleError):
    code = "E3009"
    message = N_("This service is not available at this hour.")


class InvalidEntry(BusinessRuleError):
    code = "E3010"
    message = N_("Please check what you entered: {field}.")


class AlreadyDone(BusinessRuleError):
    code = "E3011"
    message = N_("This has already been done.")


# --- cards -----------------------------------------------------------------------------------
class CardError(KioskError):
    code = "E4000"
    message = N_("The card cannot be used.")


class CardBlocked(CardError):
    code = "E4001"
    message = N_("This card has been reported lost and is blocked. Please contact staff.")


class CardFrozen(CardError):
    code = "E4002"
    message = N_("This card is frozen. You can unfreeze it at the kiosk.")


class CardReplaced(CardError):
    code = "E4003"
    message = N_("This card has been replaced and can no longer be used.")


class CardUnknown(CardError):
    code = "E4004"
    message = N_("This card is not registered here.")


class CardTampered(CardError):
    code = "E4005"
    message = N_("This card's data failed a security check. Please contact staff.")


class CardRolledBack(CardError):
    code = "E4006"
    message = N_("This card holds an out-of-date balance. Please contact staff.")


class CardRemoved(CardError):
    code = "E4007"
    message = N_("The card was taken away too soon. Please put it back on the reader.")


class CardAuthFailed(CardError):
    code = "E4008"
    message = N_("The card could not be unlocked.")


class CardWriteUnsupported(CardError):
    code = "E4009"
    message = N_("This card reader can only identify cards; top-up is not available.")


class CardWritePending(CardError):
    code = "E4010"
    message = N_("The card left the reader before it was written. Your money is safe: tap the same card "
                 "again to finish. Reference: {reference}.")


class NoCardPresented(CardError):
    code = "E4011"
    message = N_("No card was placed on the reader in time.")


class CardForeignKeys(CardError):
    """A registered card whose sectors do not open with this site's keys: it cannot be rewritten."""

    code = "E4012"
    message = N_("This card does not open with this site's keys and cannot be repaired. Please replace the card.")


class CardFrozenByStaff(CardError):
    """A freeze set by staff: only staff lift it (the resident's own freeze is lifted by the resident)."""

    code = "E4013"
    message = N_("This card was frozen by staff. Please ask staff to unfreeze it.")


class CardFlagged(CardError):
    """A card the kiosk flagged as tampered or rolled back: refused at every tap, for every use, until staff
    repair it (kiosk.services.card_repair clears the flag)."""

    code = "E4014"
    message = N_("This card is held for a check by staff and cannot be used. Please see staff at the service desk.")


# --- staff -----------------------------------------------------------------------------------
class AuthError(KioskError):
    code = "E5000"
    message = N_("Sign-in failed.")


class WrongPin(AuthError):
    code = "E5001"
    message = N_("Wrong PIN. {remaining} attempts left.")


class AccountLocked(AuthError):
    code = "E5002"
    message = N_("Too many wrong PINs. Locked until {until}.")


class PermissionDenied(AuthError):
    code = "E5003"
    message = N_("You are not allowed to do this.")


class StaffCardTapped(AuthError):
    """A staff card where a resident's card was expected: not a refusal, the way to the staff PIN pad."""

    code = "E5004"
    message = N_("This is a staff card. Please enter your staff PIN.")


# --- payments ----------------------------------------------------------------------------------
class PaymentError(KioskError):
    code = "E7000"
    message = N_("The payment could not be completed. Reference: {reference}.")


class PaymentCancelled(PaymentError):
    code = "E7001"
    message = N_("The payment was cancelled.")


class PaymentExpired(PaymentError):
    code = "E7002"
    message = N_("The payment code has expired.")


class GatewayError(PaymentError):
    code = "E7003"
    message = N_("The payment service is not reachable. Please try another method.")


class PaymentAbandoned(PaymentError):
    code = "E7005"
    message = N_("The payment was not finished before the kiosk restarted. Money received is kept as account credit.")


class PaymentCancelledByRestart(PaymentCancelled):
    """A retry of a payment that the kiosk released at its restart (kiosk.services.abandoned): nothing was
    bought; what arrived stays as the household's credit."""

    code = "E7006"
    message = N_("This payment was cancelled when the kiosk restarted, so nothing was paid. Money you put in is "
                 "kept as account credit. Reference: {reference}.")


class PaymentInProgress(PaymentError):
    """A retry while the first attempt with the same idempotency key is still running (on any thread or
    process): nothing was done twice; asking again later gives its outcome."""

    code = "E7007"
    message = N_("This payment is still in progress. Please wait a moment and check again. Reference: {reference}.")


class PaymentTimedOut(PaymentError):
    """A payment whose unit of work waited past the database's lock or statement timeout (a row another kiosk or
    program held): that unit of work was rolled back whole. An intent already recorded stays an intent, so asking
    again with the same idempotency key finishes it once the lock is gone (docs/fleet.md, "A stuck lock")."""

    code = "E7008"
    message = N_("The records were held by another kiosk for {seconds} s, so this payment was not completed. "
                 "Please try again. Reference: {reference}.")


class BadSignature(PaymentError):
    code = "E7004"
    message = N_("A payment notification failed its signature check.")
