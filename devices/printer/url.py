"""Printer connection URLs: tcp://HOST:PORT, serial:PATH?baud=N[&flow=...], usb:VID:PID, file:PATH."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs

from kiosk.errors import ConfigError

URL_KEY = "devices.printer.url"
FLOW_CONTROLS = ("none", "dsrdtr", "rtscts", "xonxoff")


class LinkKind(StrEnum):
    TCP = "tcp"
    SERIAL = "serial"
    USB = "usb"
    FILE = "file"


@dataclass(frozen=True)
class PrinterUrl:
    kind: LinkKind
    host: str = ""
    port: int = 9100
    path: str = ""
    baud: int = 9600
    flow: str = "none"  # serial flow control: none, dsrdtr, rtscts or xonxoff
    vendor_id: int = 0
    product_id: int = 0

    def __str__(self) -> str:
        if self.kind is LinkKind.TCP:
            return f"tcp://{self.host}:{self.port}"
        if self.kind is LinkKind.SERIAL:
            return f"serial:{self.path}?baud={self.baud}" + (f"&flow={self.flow}" if self.flow != "none" else "")
        if self.kind is LinkKind.USB:
            return f"usb:{self.vendor_id:04x}:{self.product_id:04x}"
        return f"file:{self.path}"


def _bad(url: str, why: str) -> ConfigError:
    return ConfigError(f"{url!r}: {why}", key=URL_KEY)


def _int(text: str, url: str, what: str, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise _bad(url, f"{what} {text!r} is not a number") from None


def parse_printer_url(url: str) -> PrinterUrl:
    """Parse a printer URL; a bad one raises ConfigError naming devices.printer.url."""
    scheme, sep, rest = url.strip().partition(":")
    if not sep or not rest:
        raise _bad(url, "expected tcp://HOST:PORT, serial:PATH?baud=N, usb:VID:PID or file:PATH")
    scheme = scheme.lower()
    if scheme == "tcp":
        hostport = rest.removeprefix("//").rstrip("/")
        host, _, port = hostport.rpartition(":")
        if not host:
            host, port = hostport, "9100"
        port_no = _int(port, url, "port")
        if not host or not 0 < port_no < 65536:
            raise _bad(url, "expected tcp://HOST:PORT")
        return PrinterUrl(LinkKind.TCP, host=host.strip("[]"), port=port_no)
    if scheme == "serial":
        path, _, query = rest.removeprefix("//").partition("?")
        params = parse_qs(query)
        baud = _int(params.get("baud", ["9600"])[0], url, "baud")
        flow = params.get("flow", ["none"])[0].lower()
        if not path or baud <= 0:
            raise _bad(url, "expected serial:PATH?baud=N")
        if flow not in FLOW_CONTROLS:
            raise _bad(url, f"flow must be one of {', '.join(FLOW_CONTROLS)}")
        return PrinterUrl(LinkKind.SERIAL, path=path, baud=baud, flow=flow)
    if scheme == "usb":
        parts = rest.split(":")
        if len(parts) != 2:
            raise _bad(url, "expected usb:VID:PID in hex, e.g. usb:0416:5011")
        vid, pid = (_int(p.lower().removeprefix("0x"), url, "USB id", 16) for p in parts)
        return PrinterUrl(LinkKind.USB, vendor_id=vid, product_id=pid)
    if scheme == "file":
        path = rest.removeprefix("//")
        if not path:
            raise _bad(url, "expected file:PATH")
        return PrinterUrl(LinkKind.FILE, path=path)
    raise _bad(url, f"unknown scheme {scheme!r}")
