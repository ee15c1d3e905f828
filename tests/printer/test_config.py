"""Printer URLs, options and the driver registry: bad settings fail at start-up naming the key."""
from __future__ import annotations

import pytest

from devices.printer.registry import build_receipt_printer
from devices.printer.url import LinkKind, parse_printer_url
from kiosk.errors import ConfigError, DriverNotFound


@pytest.mark.parametrize("url, kind, attrs", [
    ("tcp://192.168.1.50:9100", LinkKind.TCP, {"host": "192.168.1.50", "port": 9100}),
    ("tcp://printer.local", LinkKind.TCP, {"host": "printer.local", "port": 9100}),
    ("serial:/dev/ttyUSB0?baud=115200", LinkKind.SERIAL, {"path": "/dev/ttyUSB0", "baud": 115200}),
    ("serial:/dev/serial/by-id/usb-1a86-port0", LinkKind.SERIAL, {"baud": 9600}),
    ("serial:/dev/ttyS0?baud=19200&flow=rtscts", LinkKind.SERIAL, {"baud": 19200, "flow": "rtscts"}),
    ("usb:0416:5011", LinkKind.USB, {"vendor_id": 0x0416, "product_id": 0x5011}),
    ("usb:0x04b8:0x0202", LinkKind.USB, {"vendor_id": 0x04B8, "product_id": 0x0202}),
    ("file:/dev/usb/lp0", LinkKind.FILE, {"path": "/dev/usb/lp0"}),
])
def test_url_forms_parse(url, kind, attrs):
    parsed = parse_printer_url(url)
    assert parsed.kind is kind
    assert {k: getattr(parsed, k) for k in attrs} == attrs


@pytest.mark.parametrize("url", ["", "lp0", "tcp://host:port", "serial:?baud=9600", "usb:0416", "usb:xyz:1",
                                 "ftp://x", "serial:/dev/ttyS0?baud=fast",
                                 "serial:/dev/ttyS0?flow=magic"])
def test_bad_urls_name_the_setting(url):
    with pytest.raises(ConfigError) as info:
        parse_printer_url(url)
    assert info.value.params["key"] == "devices.printer.url"


def test_unknown_driver_names_the_setting():
    with pytest.raises(DriverNotFound) as info:
        build_receipt_printer("star", "tcp://127.0.0.1:9100")
    assert info.value.params == {"driver": "star", "key": "devices.printer.driver"}


@pytest.mark.parametrize("options, key", [
    ({"columns": 40}, "devices.printer.columns"),
    ({"columns": 48, "width_dots": 512}, "devices.printer.width_dots"),
    ({"encoding": "shift_jis"}, "devices.printer.encoding"),
    ({"profile": "NoSuchModel"}, "devices.printer.profile"),
    ({"logo": "/no/such/logo.png"}, "devices.printer.logo"),
    ({"colour": "red"}, "devices.printer"),
])
def test_bad_options_name_their_key(options, key):
    with pytest.raises(ConfigError) as info:
        build_receipt_printer("escpos", "tcp://127.0.0.1:9100", **options)
    assert info.value.params["key"] == key


def test_usb_without_pyusb_fails_at_start_naming_the_url_setting():
    pytest.importorskip("escpos.printer")
    try:
        import usb  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="pyusb"):
            build_receipt_printer("escpos", "usb:0416:5011")
    else:
        assert build_receipt_printer("escpos", "usb:0416:5011").name == "receipt printer"
