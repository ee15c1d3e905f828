"""On the REAL kiosk (runtime, simulators, fresh SQLite), by xdotool clicks: out of hours the first page says the
service is closed, when it opens again and what still works, and a card tap asks for no PIN (a staff badge still
opens the staff PIN pad); staff switch a feature off in maintenance and a resident sees it disabled with the
message, stored in the shared database and audited with the staff member."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.domain.site_clock import site_now, use_zone
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, FeatureSwitch
from tests.e2e.harness import WEEKDAYS, RealKioskProcess, demo_card
from tests.e2e.test_real_journeys import Db

pytestmark = pytest.mark.xvfb


def _closed_today_site(path):
    """Hours only on tomorrow's weekday (site time, Asia/Shanghai): closed now whenever the test runs."""
    use_zone("Asia/Shanghai")
    tomorrow = (site_now() + timedelta(days=1)).weekday()
    lines = "".join(f'{d} = "{"09:30-22:00" if i == tomorrow else ""}"\n' for i, d in enumerate(WEEKDAYS))
    path.write_text("[site.hours]\n" + lines, encoding="utf-8")
    return path


def _demo_card(app: RealKioskProcess, label: str) -> None:
    app.click("Cards")
    app.click(demo_card(label, "en"))


def test_out_of_hours_the_first_page_says_closed_and_a_card_tap_asks_no_pin(display, tmp_path):
    site = _closed_today_site(tmp_path / "closed.toml")
    with RealKioskProcess(display, tmp_path / "data", language="en", env={"KIOSK_CONFIG": str(site)}) as real:
        state = real.wait_for_text("The service centre is closed now", 30)
        texts = state["texts"]
        assert "Opens again tomorrow at 09:30" in texts
        assert "Still available" in texts  # over the tiles of what still works, and only those
        assert {"Notices", "Phone directory", "Request a callback"} <= set(texts) and "Pay fees" not in texts
        assert "Sign in with unit number and PIN" not in texts  # no sign-in offered for closed services
        _demo_card(real, "1-0101 resident")
        real.wait_for_route("out_of_hours", 20)
        state = real.wait_for_text("The service centre is closed now.")  # the page drawn, not only routed
        assert not state["identified"]
        assert "Opens again tomorrow at 09:30" in state["texts"] and "Notices" in state["texts"]
        _demo_card(real, "Staff card staff01")  # staff still get in out of hours
        real.wait_for_route("staff_unlock", 20)


def test_staff_switch_parking_off_and_the_resident_sees_it_disabled_with_the_message(display, tmp_path):
    with RealKioskProcess(display, tmp_path / "data", language="en") as real:
        real.wait_for_text("Hello, Heyue Garden", 30)
        _demo_card(real, "Staff card staff01")
        real.wait_for_route("staff_unlock", 20)
        for key in "246810":
            real.click(key)
        real.click("Sign in")
        real.wait_for_route("staff_home", 20)
        real.click("Services on and off")
        real.click("Parking · On")
        real.click("Temporarily suspended. Please visit the service desk.")
        real.click("Switch off")
        real.wait_for_text("Parking is switched off on every kiosk of the site.", 20)
        real.click("Back")
        real.click("Lock")
        real.wait_for_route("attract")
        _demo_card(real, "1-0101 resident")
        real.wait_for_route("household", 20)
        state = real.wait_for_text("Temporarily suspended. Please visit the service desk.")  # the page loaded
        assert "Parking" in state["texts"]  # the tile, with the staff's message on its second line
        found = real.cmd(cmd="find", text="Temporarily suspended. Please visit the service desk.")
        assert found["ok"] and found["disabled"]
        db = Db(real.data_dir)
        with unit_of_work(db.factory) as s:
            row = s.scalars(select(FeatureSwitch)).one()
            assert (row.feature, row.message) == ("parking", "Temporarily suspended. Please visit the service desk.")
            audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "feature.switched_off")).one()
            assert audit.actor == "staff:staff01" and audit.subject == "feature:parking"
