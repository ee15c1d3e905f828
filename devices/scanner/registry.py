"""Scanner kinds by name, as chosen by the setting devices.scanner.kind ("serial" or "hid")."""
from __future__ import annotations

from devices.scanner.driver import PaymentCodeScanner
from devices.scanner.hid_source import HidScanSource, hid_support
from devices.scanner.serial_source import SerialScanSource
from kiosk.errors import DriverNotFound

SETTING = "devices.scanner.kind"
KINDS = ("serial", "hid")


def offered_kinds() -> dict[str, str]:
    """Each kind with "" when it can be used here, else the reason it is not offered."""
    return {"serial": "", "hid": hid_support()}


def build_scanner(kind: str, port: str, baud: int = 9600, *, name: str = "scanner") -> PaymentCodeScanner:
    """A (not yet opened) scanner; DriverNotFound names the setting for an unknown or unusable kind."""
    if kind == "serial":
        return PaymentCodeScanner(SerialScanSource(port, baud, name=name), name=name)
    if kind == "hid":
        why = hid_support()
        if why:
            raise DriverNotFound(f"kind 'hid' is not offered here: {why}", driver=kind, key=SETTING)
        return PaymentCodeScanner(HidScanSource(port, name=name), name=name)
    raise DriverNotFound(f"known kinds: {', '.join(KINDS)}", driver=kind, key=SETTING)
