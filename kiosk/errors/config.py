"""Errors of configuration: the settings, the technician's file, and `kiosk install`'s answers (E10xx, E81xx)."""
from __future__ import annotations

from kiosk.errors.base import KioskError
from kiosk.i18n import N_


# --- configuration -----------------------------------------------------------------------
class ConfigError(KioskError):
    code = "E1000"
    message = N_("The kiosk configuration is invalid: {key}")


class KioskCodeInUse(ConfigError):
    """Another kiosk process holds this kiosk code's lease (kiosk.persistence.kiosk_lease): two kiosks with one
    code would share a receipt series, an audit chain and each other's unfinished payments."""

    code = "E1013"
    message = N_("Kiosk code {code} is already used by the kiosk on {host}, last seen {last_seen}. Give this kiosk "
                 "its own code: set kiosk_code under [site] in its site file.")


class ConfigOutOfRange(ConfigError):
    """A setting of the right type whose value the kiosk cannot work with (a negative fee, a timeout of a day)."""

    code = "E1010"
    message = N_("The setting {key} in {file} is {value}; it must be from {low} to {high}.")


class ConfigTextTooLong(ConfigError):
    code = "E1011"
    message = N_("The setting {key} in {file} is {length} characters long; it must be {low} to {high} characters.")


class DatabaseUrlUnsupported(ConfigError):
    """A database URL of a kind the kiosk does not speak (mysql://, postgres:// without the psycopg driver ...)."""

    code = "E1012"
    message = N_("The database URL in {file} cannot be used ({reason}). Use sqlite:///PATH or "
                 "postgresql+psycopg://USER@HOST/DATABASE.")


# --- install (kiosk.install, docs/deploy.md) ------------------------------------------------------------------
class InstallError(KioskError):
    """`kiosk install` could not lay the kiosk down, or `kiosk install --check` found it not as laid down."""

    code = "E8100"
    message = N_("The kiosk installation has a problem: {problem}")


class InstallNeedsRoot(InstallError):
    code = "E8101"
    message = N_("kiosk install must run as root (or with --root DIR to write its files under DIR).")


class InstallUsbIdInvalid(InstallError, ConfigError):
    code = "E8102"
    message = N_("The USB id '{value}' for {device} under [install.usb] in {file} is not VID:PID or VID:PID:SERIAL "
                 "(hex, as lsusb shows them).")


class InstallUnknownDevice(InstallError, ConfigError):
    code = "E8103"
    message = N_("[install.usb] in {file} names {device}; the kiosk's devices are {known}.")


class InstallStepFailed(InstallError):
    code = "E8104"
    message = N_("The install step {step} failed: {reason}")


class InstallFileMissing(InstallError):
    code = "E8110"
    message = N_("{path} is missing. Run kiosk install.")


class InstallFileChanged(InstallError):
    code = "E8111"
    message = N_("{path} is not what kiosk install writes. Run kiosk install again.")


class InstallFileMode(InstallError):
    code = "E8112"
    message = N_("{path} is mode {mode} owned by {owner}; it must be mode {wanted} owned by {wanted_owner}.")


class InstallUserMissing(InstallError):
    code = "E8113"
    message = N_("The system user {user} does not exist. Run kiosk install.")


class InstallUserGroups(InstallError):
    code = "E8114"
    message = N_("The system user {user} is in the groups {groups}; it must be in {wanted} and no other.")


class InstallNotEnabled(InstallError):
    code = "E8115"
    message = N_("{unit} is not enabled at boot. Run kiosk install.")


class InstallUnitInvalid(InstallError):
    code = "E8116"
    message = N_("systemd-analyze verify refuses {unit}: {reason}")


class InstallCompositorMissing(InstallError):
    code = "E8117"
    message = N_("The kiosk compositor cage is not installed. Install it with: apt-get install cage")


class InstallKioskOnOffice(InstallError):
    """`kiosk install --office --check`: a kiosk's file (session, udev names, watchdog, backup timer) on the office
    server."""

    code = "E8118"
    message = N_("{path} belongs to a kiosk; the office server runs no kiosk session. Remove it.")


class InstallListenInvalid(InstallError, ConfigError):
    code = "E8119"
    message = N_("--listen {value} is not HOST:PORT (for example 127.0.0.1:8750).")
