"""Errors of the estate office (heartbeats, alerts, remote actions, the web console) and of `kiosk doctor`."""
from __future__ import annotations

from kiosk.errors.base import KioskError
from kiosk.errors.devices import DeviceError
from kiosk.errors.money import AuthError, BusinessRuleError, InvalidEntry
from kiosk.errors.storage import StorageError
from kiosk.i18n import N_


# --- the estate office: fleet heartbeats, alerts, remote actions (kiosk.fleet, docs/office.md) ---------------
class FleetError(BusinessRuleError):
    code = "E8200"
    message = N_("The estate office could not do this.")


class UnknownKiosk(FleetError):
    """A kiosk code the estate database does not know: a heartbeat from it is refused (and raised as an alert),
    an action for it is refused."""

    code = "E8201"
    message = N_("There is no kiosk {kiosk} at this estate (known: {known}). Check the code with "
                 "'kiosk fleet status'.")


class AlertNotFound(FleetError):
    code = "E8202"
    message = N_("There is no alert {alert}. 'kiosk fleet alerts' lists them with their numbers.")


class AlertClearsItself(FleetError):
    code = "E8203"
    message = N_("Alert {alert} clears by itself when its condition ends; only sticky alerts are cleared by staff.")


class AlertNoteMissing(FleetError):
    code = "E8204"
    message = N_("Clearing an alert needs a note of 1 to 300 characters saying what was done.")


class AlertAlreadyCleared(FleetError):
    code = "E8205"
    message = N_("Alert {alert} was already cleared by {by} at {at}.")


class ActionMessageInvalid(FleetError):
    code = "E8206"
    message = N_("A pause needs a message of 1 to 200 characters for the kiosk's screen.")


# --- the office web console (office/, docs/office.md "The console") ------------------------------------------
class WebSignInRefused(AuthError):
    code = "E8250"
    message = N_("Wrong name or password. {remaining} attempts left before the account is locked.")


class WebAccountLocked(AuthError):
    code = "E8251"
    message = N_("Too many wrong passwords. This account is locked until {until}.")


class WebPasswordNotSet(AuthError):
    code = "E8252"
    message = N_("This staff user has no web password yet. An admin sets one with 'kiosk staff web-password'.")


class WebPasswordTooShort(InvalidEntry):
    code = "E8253"
    message = N_("A web password needs 10 to 128 characters.")


class FormExpired(AuthError):
    code = "E8254"
    message = N_("This form has expired or did not come from this console. Nothing was changed: please try again.")


class SessionEnded(AuthError):
    code = "E8255"
    message = N_("Your session has ended. Please sign in again.")


class NoticeEditedMeanwhile(BusinessRuleError):
    code = "E8256"
    message = N_("Someone else saved this notice while you were editing it. Your changes were not saved: "
                 "reload it to see theirs, then make your changes again.")


class UploadTooLarge(InvalidEntry):
    code = "E8257"
    message = N_("The file is larger than {limit}.")


# --- kiosk doctor (kiosk.site_doctor, docs/deploy.md) --------------------------------------------------------
class DoctorDatabaseDown(StorageError):
    code = "E8120"
    message = N_("The database cannot be reached: {reason}")


class DoctorSchemaBehind(StorageError):
    code = "E8121"
    message = N_("The database is at schema {current}; this version expects {head}. Run kiosk db upgrade.")


class DoctorDeviceDown(DeviceError):
    code = "E8122"
    message = N_("The {device} does not answer: {reason}")


class DoctorDiskLow(StorageError):
    code = "E8123"
    message = N_("Only {free} is free on the disk of {path}.")


class DoctorClockUnsynchronised(KioskError):
    code = "E8124"
    message = N_("The clock is not synchronised ({detail}). Receipts and service hours use it: check the NTP client.")


class DoctorBackupOld(StorageError):
    code = "E8125"
    message = N_("The last backup is from {when}, more than {days} days ago.")
