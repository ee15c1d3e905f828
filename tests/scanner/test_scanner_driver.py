"""The payment-code scanner driver against the scanner simulator on a real pseudo-terminal (real bytes)."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from devices.scanner.driver import PaymentCodeScanner, Scan, Unreadable
from devices.scanner.serial_source import SerialScanSource
from devices.sim.scanner_sim import SimScanner
from kiosk.domain.payment_code import Network

WECHAT = "134567890123456789"
ALIPAY = "28123456789012345678"


@pytest.fixture
def sim() -> Iterator[SimScanner]:
    s = SimScanner()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def scanner(sim: SimScanner) -> Iterator[PaymentCodeScanner]:
    dev = PaymentCodeScanner(SerialScanSource(sim.path, 9600))
    dev.open()
    yield dev
    dev.close()


def _poll_until(scanner: PaymentCodeScanner, timeout: float = 2.0) -> Scan | Unreadable | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = scanner.poll(0.2)
        if result is not None:
            return result
    return None


@pytest.mark.parametrize("terminator", ["cr", "lf", "crlf"])
def test_an_armed_scanner_yields_the_whole_code_with_its_network_for_each_terminator(
        sim: SimScanner, scanner: PaymentCodeScanner, terminator: str) -> None:
    sim.execute(f"terminator {terminator}")
    scanner.arm()
    sim.execute(f"scan {ALIPAY}")
    assert _poll_until(scanner) == Scan(ALIPAY, Network.ALIPAY)


def test_the_scanner_disarms_itself_with_the_code_so_a_later_scan_reaches_no_payment(
        sim: SimScanner, scanner: PaymentCodeScanner) -> None:
    scanner.arm()
    sim.execute(f"scan {WECHAT}")
    assert _poll_until(scanner) == Scan(WECHAT, Network.WECHAT)
    assert not scanner.armed
    sim.execute(f"scan {ALIPAY}")
    assert scanner.poll(0.5) is None
    assert scanner.discarded == 1


def test_a_garbled_scan_asks_for_another_and_the_next_good_one_is_taken(
        sim: SimScanner, scanner: PaymentCodeScanner) -> None:
    scanner.arm()
    assert sim.execute("garbled").startswith("scanned ")
    result = _poll_until(scanner)
    assert isinstance(result, Unreadable)
    error = result.error
    assert error.code == "E6300"
    assert "scan it again" in error.user_message("en")
    assert "重新扫描" in error.user_message("zh_Hans") and "重新掃描" in error.user_message("zh_Hant")
    assert scanner.armed  # still waiting for the resident's next try
    sim.execute(f"scan {WECHAT}")
    assert _poll_until(scanner) == Scan(WECHAT, Network.WECHAT)


@pytest.mark.parametrize("line", ["13456789012345", "1345678901234567890", "99" + "1" * 16, "13ab567890123456789",
                                  "\x1b[A" + WECHAT[:10]])
def test_codes_of_no_network_are_refused(sim: SimScanner, scanner: PaymentCodeScanner, line: str) -> None:
    scanner.arm()
    sim.send(line)
    assert isinstance(_poll_until(scanner), Unreadable)


def test_non_ascii_bytes_on_the_line_are_a_refused_scan_not_an_exception(
        sim: SimScanner, scanner: PaymentCodeScanner) -> None:
    import os

    scanner.arm()
    os.write(sim._master, b"13\xff\xfe45678901234567\r\n")
    assert isinstance(_poll_until(scanner), Unreadable)


def test_two_codes_at_once_only_the_first_is_taken(sim: SimScanner, scanner: PaymentCodeScanner) -> None:
    scanner.arm()
    sim.execute(f"double {WECHAT} {ALIPAY}")
    assert _poll_until(scanner) == Scan(WECHAT, Network.WECHAT)
    assert scanner.discarded == 1
    assert scanner.poll(0.3) is None  # the second one went nowhere


def test_a_garbled_read_and_a_good_code_in_one_burst_take_the_good_code(
        sim: SimScanner, scanner: PaymentCodeScanner) -> None:
    scanner.arm()
    sim.send("13?A5678", ALIPAY)
    assert _poll_until(scanner) == Scan(ALIPAY, Network.ALIPAY)


def test_codes_scanned_while_no_payment_waits_are_discarded_and_logged_masked(
        sim: SimScanner, scanner: PaymentCodeScanner, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="devices.scanner.driver")
    sim.execute(f"scan {WECHAT}")
    assert scanner.poll(0.5) is None
    scanner.idle_check()
    assert scanner.discarded == 1
    assert "discarded (no payment waits" in caplog.text
    assert WECHAT not in caplog.text and "13**************89" in caplog.text


def test_a_code_queued_before_arming_is_not_taken_for_the_payment(
        sim: SimScanner, scanner: PaymentCodeScanner) -> None:
    sim.execute(f"scan {WECHAT}")
    time.sleep(0.1)  # it is in the port's buffer, nobody has read it
    scanner.arm()
    sim.execute(f"scan {ALIPAY}")
    assert _poll_until(scanner) == Scan(ALIPAY, Network.ALIPAY)


def test_the_idle_check_leaves_an_armed_scanner_s_code_for_the_payment(
        sim: SimScanner, scanner: PaymentCodeScanner) -> None:
    scanner.arm()
    sim.execute(f"scan {WECHAT}")
    time.sleep(0.1)
    scanner.idle_check()
    assert _poll_until(scanner) == Scan(WECHAT, Network.WECHAT)


def test_a_scan_never_shows_its_code_in_full_in_a_repr() -> None:
    assert WECHAT not in repr(Scan(WECHAT, Network.WECHAT))


def test_any_line_on_the_wire_is_a_scan_exactly_when_it_follows_a_network_s_rule() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kiosk.domain.payment_code import network_of

    sim = SimScanner()
    sim.start()
    scanner = PaymentCodeScanner(SerialScanSource(sim.path, 9600))
    scanner.open()
    lines = st.one_of(st.binary(min_size=1, max_size=40), st.from_regex(rb"\A(1[0-5]|2[5-9]|30)[0-9]{12,24}\Z"))

    @settings(max_examples=60, deadline=None)
    @given(lines.filter(lambda b: b"\r" not in b and b"\n" not in b and b.strip()))
    def check(line: bytes) -> None:
        scanner.arm()
        import os

        os.write(sim._master, line + b"\r\n")
        result = _poll_until(scanner)
        text = line.decode("ascii", errors="replace").strip()
        if network_of(text) is not None:
            assert result == Scan(text, network_of(text))
        else:
            assert isinstance(result, Unreadable)
        scanner.disarm()

    try:
        check()
    finally:
        scanner.close()
        sim.stop()
