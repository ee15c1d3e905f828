"""`kiosk card issue` and `kiosk card read` against the simulated reader, with the data directory's secrets,
a real database and a staff PIN from stdin."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk import bootstrap
from kiosk.cli.main import main
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Building, Card, Household
from kiosk.services import cards, staff
from sqlalchemy import select

PIN = "246813"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    settings = bootstrap.load_settings(str(data), None)
    db = bootstrap.open_database(settings)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as s:
        b = Building(site_id=till.site_id, code="1", name="1栋")
        s.add(b)
        s.flush()
        s.add(Household(site_id=till.site_id, building_id=b.id, unit_no="1-0101", holder_name="王"))
        staff.add_staff(s, name="wang", role="staff", pin=PIN, actor="office")
    db.engine.dispose()
    return data


def run(data: Path, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main([*args, "--data-dir", str(data)])


def test_issue_then_read_a_card_with_the_sites_secrets(site, monkeypatch, capsys):
    with SimPn532(pace=False) as sim:
        card = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
        sim.present(card)
        assert run(site, "card", "issue", "--port", sim.path, "--household", "1-0101", "--kind", "vehicle",
                   stdin=PIN + "\n", monkeypatch=monkeypatch) == 0
        assert "issued card" in capsys.readouterr().out
        assert run(site, "card", "read", "--port", sim.path, "--wait", "1", monkeypatch=monkeypatch) == 0
        out = capsys.readouterr().out
    for line in ("uid:          04A1B2C3", "kind:         vehicle", "household:    1-0101", "counter:      0",
                 "value:        0.00 (0 fen)", "MAC:          ok"):
        assert line in out
    settings = bootstrap.load_settings(str(site), None)
    db = bootstrap.open_database(settings, upgrade=False)
    with unit_of_work(db.factory) as s:
        issued = s.scalars(select(Card)).one()
        assert issued.uid_hex == "04A1B2C3" and issued.kind == "vehicle"
        assert cards.ledger_card_state(s, issued.id).pending == ()
        assert "card.issued" in set(s.scalars(select(AuditEntry.action)))
    db.engine.dispose()


def test_issue_with_a_wrong_pin_is_refused_before_the_card_is_touched(site, monkeypatch, capsys):
    with SimPn532(pace=False) as sim:
        card = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
        sim.present(card)
        assert run(site, "card", "issue", "--port", sim.path, "--household", "1-0101", "--kind", "resident",
                   stdin="999999\n", monkeypatch=monkeypatch) == 6
    assert card.operations == 0
    assert "PIN" in capsys.readouterr().err


def test_card_commands_without_the_sites_secrets_name_the_file(tmp_path, monkeypatch, capsys):
    with SimPn532(pace=False) as sim:
        assert run(tmp_path / "empty", "card", "read", "--port", sim.path, monkeypatch=monkeypatch) == 2
    err = capsys.readouterr().err
    assert "secrets.toml" in err and not (tmp_path / "empty" / "secrets.toml").exists()
