"""Every page of the console renders for its roles in each of the three languages, every string the templates show
is translated, and the fleet table's fragment follows the heartbeats the kiosks write."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kiosk.fleet import heartbeat
from kiosk.i18n import LANGUAGES
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import KioskHeartbeat

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("/fleet", "/fleet/table", "/fleet/K01", "/alerts", "/alerts?show=all", "/actions", "/notices", "/notices/new",
         "/callbacks", "/callbacks?show=all", "/receipts", "/receipts?number=1", "/bills", "/settlement",
         "/staff/web-password")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_renders_for_an_admin_in_each_language(console, language):
    client = console.signed_in("王芳")
    client.get(f"/fleet?lang={language}")
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True)[:500])
    assert client.get("/receipts/1.png").data[:8] == b"\x89PNG\r\n\x1a\n"
    home = client.get("/fleet").get_data(as_text=True)
    assert {"zh_Hans": "自助机状态", "zh_Hant": "自助機狀態", "en": "Fleet"}[language] in home


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_console_is_translated(language):
    with open(ROOT / "kiosk" / "locale" / language / "LC_MESSAGES" / "kiosk.po", "rb") as fh:
        translated = {m.id for m in read_po(fh) if m.id and m.string}
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    wanted = {msg for _file, _line, msg, _comments, _ctx in
              extract_from_dir(ROOT / "office", method_map, keywords={"_": None, "N_": None, "translate": None})}
    assert len(wanted) > 60 and wanted - translated == set()


def test_the_fleet_table_turns_red_when_a_kiosks_heartbeat_is_old(console):
    client = console.signed_in("李强")
    code = console.till.kiosk_code
    with unit_of_work(console.db.factory) as s:
        heartbeat.write(s, heartbeat.Beat(code, "0.1.0", "kiosk-host", 60, "in_service",
                                          devices={"printer": {"state": "ok", "paper": "ok", "online": True}}))
    rows = client.get("/fleet/table").get_data(as_text=True)
    assert f'data-kiosk="{code}" data-colour="green"' in rows
    with unit_of_work(console.db.factory) as s:  # the writer stopped three minutes ago
        row = s.get(KioskHeartbeat, code)
        row.beat_at = row.beat_at - timedelta(minutes=3)
    rows = client.get("/fleet/table").get_data(as_text=True)
    assert f'data-kiosk="{code}" data-colour="red"' in rows and "silent for 3 min" in rows
