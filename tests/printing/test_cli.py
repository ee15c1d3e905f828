"""`kiosk printer queue|requeue|spool`: the kiosk's print queue from the command line, against SimPrinter."""
from __future__ import annotations

from pathlib import Path

import pytest

from devices.sim.escpos_sim import SimState
from kiosk import bootstrap
from kiosk.cli.main import main
from kiosk.domain.receipt import ReceiptKind
from kiosk.persistence.db import unit_of_work
from kiosk.services import print_queue, receipts


@pytest.fixture
def office(tmp_path: Path, db_url: str, monkeypatch):
    """A data dir and database with this kiosk's till; `issue()` queues a receipt for its printer."""
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    data = tmp_path / "data"
    settings = bootstrap.load_settings(str(data), None, db_url)
    db = bootstrap.open_database(settings)
    till = bootstrap.ensure_till(db, settings)

    def issue(title: str = "Top-up receipt") -> str:
        with unit_of_work(db.factory) as s:
            receipt, _ = receipts.issue(s, till, kind=ReceiptKind.TOP_UP, language="en", title=title, total_fen=5000)
            return receipts.format_number(receipt.number)

    def run(*args: str) -> int:
        return main([*args, "--data-dir", str(data), "--db-url", db_url])

    yield issue, run, db, till
    db.engine.dispose()


def test_spool_prints_the_queue_and_says_it_is_empty(office, sim, capsys):
    issue, run, _db, _till = office
    numbers = [issue(), issue()]
    assert run("printer", "spool", "--url", sim.url, "--timeout", "10") == 0
    out = capsys.readouterr().out
    assert f"receipt {numbers[0]} printed" in out and f"receipt {numbers[1]} printed" in out and "queue empty" in out
    assert len(sim.wait_for_records(2)) == 2
    assert run("printer", "queue") == 0
    assert "0 queued, 0 failed, 2 printed" in capsys.readouterr().out


def test_spool_on_an_empty_printer_exits_4_and_the_queue_shows_why(office, sim, capsys):
    issue, run, _db, _till = office
    number = issue()
    sim.set_state(SimState.OUT)
    assert run("printer", "spool", "--url", sim.url, "--timeout", "5", "--status-timeout", "0.2") == 4
    out = capsys.readouterr().out
    assert "paper_out: " in out and "NOT READY: 1 receipt(s) still queued" in out and "paper out" in out
    assert sim.records == []
    assert run("printer", "queue") == 0
    out = capsys.readouterr().out
    assert "1 queued" in out and f"receipt {number}  queued  attempts 0" in out and "printer paper_out at" in out


def test_requeue_puts_failed_jobs_back(office, capsys):
    issue, run, db, till = office
    issue()
    with unit_of_work(db.factory) as s:
        job = print_queue.queued_jobs(s, till.kiosk_id)[0]
        assert print_queue.mark_failed(s, job.job_id, "cutter jammed", max_attempts=1) == "failed"
    assert run("printer", "queue") == 0
    assert "failed  attempts 1  last error: cutter jammed" in capsys.readouterr().out
    assert run("printer", "requeue") == 0
    assert "1 failed job(s) queued again" in capsys.readouterr().out
    assert run("printer", "queue") == 0
    assert "1 queued, 0 failed" in capsys.readouterr().out
