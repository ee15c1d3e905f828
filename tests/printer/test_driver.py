"""EscposReceiptPrinter against the simulator over TCP and a pty: printing, states, faults, reopening."""
from __future__ import annotations

import time

import pytest

from devices.printer.registry import build_receipt_printer
from devices.sim.escpos_sim import SimState
from kiosk.domain.receipt import ReceiptKind
from kiosk.errors import DeviceUnavailable, PrinterNotReady, PrintInterrupted
from kiosk.ports import PaperState, ReceiptPrinter
from kiosk.receipts.samples import sample_receipt


# A status reply from the in-process simulator can take longer than 0.3 s on a loaded 2-core CI machine (a test of
# the wait itself uses its own driver below); a printer that does not answer is still found within this bound.
STATUS_TIMEOUT_S = 1.0


@pytest.fixture
def printer(sim):
    driver = build_receipt_printer("escpos", sim.url, columns=48, width_dots=576, status_timeout=STATUS_TIMEOUT_S)
    yield driver
    driver.close()


def test_driver_implements_the_port(printer):
    assert isinstance(printer, ReceiptPrinter)


def test_receipt_prints_with_chinese_qr_and_cut(sim, printer):
    doc = sample_receipt(ReceiptKind.BILL_PAYMENT, "zh_Hans")
    printer.print_receipt(doc)
    [record] = sim.wait_for_records(1)
    assert record["lines"][0] == "翠湖花园物业客服中心"
    assert any(line.endswith("562.00") for line in record["lines"])
    assert record["qr_codes"] == [doc.qr_url]
    assert record["cut"] == "full" and record["complete"] and record["wrapped_lines"] == 0
    assert (sim.out_dir / record["png"]).stat().st_size > 1000


def test_every_kind_prints_in_every_language(sim, printer):
    count = 0
    for language in ("zh_Hans", "zh_Hant", "en"):
        for kind in ReceiptKind:
            printer.print_receipt(sample_receipt(kind, language))
            count += 1
    records = sim.wait_for_records(count, timeout=30)
    assert all(r["complete"] and r["wrapped_lines"] == 0 and r["widest_line_dots"] <= 576 for r in records)


@pytest.mark.parametrize("state", [SimState.OUT, SimState.COVER_OPEN, SimState.OFFLINE])
def test_printer_that_cannot_print_refuses_the_job_before_sending(sim, printer, state):
    sim.set_state(state)
    before = sim.bytes_received
    with pytest.raises(PrinterNotReady):
        printer.print_receipt(sample_receipt())
    assert sim.bytes_received - before == 4 * 3  # only the four status requests went out
    assert sim.records == []


def test_near_end_still_prints(sim, printer):
    sim.set_state(SimState.NEAR_END)
    assert printer.status().paper is PaperState.NEAR_END
    printer.print_receipt(sample_receipt())
    assert sim.wait_for_records(1)[0]["complete"]


def test_a_printer_that_stops_answering_is_not_ready_within_the_timeout(sim, printer):
    sim.set_state(SimState.NO_REPLY)
    started = time.monotonic()
    status = printer.status()
    assert not status.ready and "no reply" in status.reason
    assert time.monotonic() - started < STATUS_TIMEOUT_S + 0.5
    with pytest.raises(PrinterNotReady):
        printer.print_receipt(sample_receipt())


def test_status_answers_again_once_the_printer_does(sim, printer):
    sim.set_state(SimState.NO_REPLY)
    assert not printer.status().ready
    sim.set_state(SimState.OK)
    assert printer.status().ready


def test_paper_running_out_mid_job_is_reported_and_the_receipt_marked_incomplete(sim, printer):
    sim.paper_out_after(8)
    with pytest.raises(PrintInterrupted, match="during printing"):
        printer.print_receipt(sample_receipt())
    [record] = sim.wait_for_records(1)
    assert not record["complete"] and len(record["lines"]) < 20
    sim.set_state(SimState.OK)  # paper loaded: the job is printed again
    printer.print_receipt(sample_receipt())
    assert sim.wait_for_records(2)[1]["complete"]


def test_refused_connection_is_offline_and_the_job_is_refused(sim, printer):
    sim.refuse_connections()
    status = printer.status()
    assert not status.online and "cannot connect" in status.reason
    with pytest.raises(PrinterNotReady):
        printer.print_receipt(sample_receipt())
    sim.refuse_connections(False)
    printer.print_receipt(sample_receipt())
    assert len(sim.wait_for_records(1)) == 1


def test_reset_connection_is_reopened_without_a_restart(sim, printer):
    assert printer.status().ready
    sim.reset_connections()
    assert printer.status().ready  # the broken object was closed and a new one opened
    printer.print_receipt(sample_receipt())
    assert len(sim.wait_for_records(1)) == 1


def test_power_cycle_mid_session_prints_again(sim, printer):
    printer.print_receipt(sample_receipt())
    sim.wait_for_records(1)
    sim.power_cycle()
    printer.print_receipt(sample_receipt(ReceiptKind.TOP_UP))
    assert sim.wait_for_records(2)[1]["lines"][1] == "充值收据"


def test_serial_url_over_the_simulators_pty(sim):
    driver = build_receipt_printer("escpos", f"serial:{sim.pty_path}?baud=115200", columns=42, width_dots=576)
    try:
        assert driver.status().ready
        driver.print_receipt(sample_receipt(ReceiptKind.CALLBACK, "zh_Hant"))
    finally:
        driver.close()
    assert sim.wait_for_records(1)[0]["lines"][1] == "回電登記"


def test_file_url_writes_the_job_and_reports_no_status_channel(tmp_path):
    path = tmp_path / "lp0"
    driver = build_receipt_printer("escpos", f"file:{path}", columns=42, width_dots=576)
    try:
        status = driver.status()
        assert status.online and status.paper is PaperState.UNKNOWN
        driver.print_receipt(sample_receipt())
    finally:
        driver.close()
    assert path.read_bytes() == driver.render(sample_receipt())


def test_file_url_in_a_missing_directory_is_unavailable(tmp_path):
    driver = build_receipt_printer("escpos", f"file:{tmp_path}/no/such/lp0")
    with pytest.raises(DeviceUnavailable):
        driver.open()
    assert not driver.status().online


def test_connection_reset_during_a_job_is_reported_and_the_next_job_prints(sim, printer):
    assert printer.status().ready
    sim.reset_next_job()
    with pytest.raises(DeviceUnavailable):
        printer.print_receipt(sample_receipt())
    assert sim.records == []
    printer.print_receipt(sample_receipt())
    assert len(sim.wait_for_records(1)) == 1


def test_a_job_at_9600_baud_is_not_mistaken_for_a_printer_that_stopped(tmp_path):
    """The status request after a job queues behind the job's bytes on a slow line; its reply comes
    only when the job has crossed the wire. That wait is not "no reply": the job printed once."""
    from devices.sim.escpos_sim import SimPrinter

    doc = sample_receipt(ReceiptKind.BILL_PAYMENT, "zh_Hans")
    with SimPrinter(tmp_path / "slow", port=0, pty=True, wire_baud=9600) as slow:
        driver = build_receipt_printer("escpos", f"serial:{slow.pty_path}?baud=9600", status_timeout=0.3)
        try:
            assert len(driver.render(doc)) * 10 / 9600 > 0.3  # longer on the wire than one status wait
            started = time.monotonic()
            driver.print_receipt(doc)
            took = time.monotonic() - started
        finally:
            driver.close()
        [record] = slow.wait_for_records(1)
    assert record["complete"] and took >= len(driver.render(doc)) * 10 / 9600 * 0.9


@pytest.mark.parametrize("link", ["tcp", "serial"])
def test_a_status_reply_that_comes_late_is_never_read_as_the_answer_to_a_later_request(tmp_path, link):
    """The printer answers one status request after the driver stopped waiting. On a serial line that byte still
    arrives, during the next status: read as its answer, every answer after it would be one request off, and a
    printer out of paper read as ready ("feed button", "head temperature", paper OK). The driver drops what is
    owed before it asks again. Over TCP the late byte goes to the connection the driver closed."""
    from devices.sim.escpos_sim import SimPrinter

    timeout = 1.0
    with SimPrinter(tmp_path / "late", port=0, pty=True) as sim:
        url = sim.url if link == "tcp" else f"serial:{sim.pty_path}?baud=115200"
        driver = build_receipt_printer("escpos", url, status_timeout=timeout)
        try:
            assert driver.status().ready
            sim.delay_next_status_reply(timeout * 1.5)  # "all clear", sent half a timeout after the driver gave up
            first = driver.status()
            assert not first.ready and first.reason == "no reply to DLE EOT 1"
            sim.set_state(SimState.OUT)  # the paper runs out while that reply is still on its way
            second = driver.status()
            assert (second.ready, second.paper, second.reason) == (False, PaperState.OUT,
                                                                   "printing stopped: paper end, paper out")
            _, asked = sim.traffic()
            with pytest.raises(PrinterNotReady, match="paper out"):
                driver.print_receipt(sample_receipt())
            received, requests = sim.traffic()
            assert requests == asked + 4 and sim.records == []  # asked, refused, nothing sent
        finally:
            driver.close()


def test_a_reply_still_owed_on_a_serial_line_is_waited_for_and_then_given_up(tmp_path):
    """A printer that never answers a request (it was reset) is not asked again while the reply may still come,
    so nothing is misread; once the reply is overdue it is taken as lost and the printer is asked afresh."""
    from devices.sim.escpos_sim import SimPrinter

    timeout = 0.3
    with SimPrinter(tmp_path / "lost", port=0, pty=True) as sim:
        driver = build_receipt_printer("escpos", f"serial:{sim.pty_path}?baud=115200", status_timeout=timeout)
        try:
            sim.set_state(SimState.NO_REPLY)
            assert driver.status().reason == "no reply to DLE EOT 1"
            sim.set_state(SimState.OK)  # answers again, but the request above is lost for good
            _, asked = sim.traffic()
            waiting = driver.status()
            assert not waiting.ready and "not asking again" in waiting.reason
            assert sim.traffic()[1] == asked  # nothing asked while a reply is owed
            time.sleep(2.0)  # overdue (max(2 s, 4 timeouts) after it was given up): lost
            assert driver.status().ready
        finally:
            driver.close()
