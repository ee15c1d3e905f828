"""Layered TOML settings: defaults, site file, technician overrides; errors name file and key."""
from __future__ import annotations

import pytest

from kiosk import settings
from kiosk.errors import ConfigError


def test_defaults_load_and_secrets_are_created_private(tmp_path):
    s = settings.load(tmp_path)
    assert s.site.code and s.ui.language == "zh_Hans" and s.devices.reader.baud == 115200
    secret_file = tmp_path / "secrets.toml"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert s.secrets is not None and len(bytes.fromhex(s.secrets.card_master_key)) == 16


def test_site_file_then_technician_file_override_key_by_key(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[site]\nname_en = "Sunny Mall"\n[devices.reader]\nbaud = 230400\n', encoding="utf-8")
    (tmp_path / "technician.toml").write_text('[devices.reader]\nurl = "/dev/ttyUSB0"\n', encoding="utf-8")
    s = settings.load(tmp_path, str(site))
    assert s.site.name_en == "Sunny Mall" and s.site.name_zh_hans == "和悦花园"
    assert s.devices.reader.baud == 230400 and s.devices.reader.url == "/dev/ttyUSB0"


@pytest.mark.parametrize("content, words", [
    ("[ui]\nidle_timeout_s = \"soon\"\n", ["ui.idle_timeout_s", "integer"]),
    ("[devices.reader]\nspeed = 9600\n", ["devices.reader.speed", "unknown"]),
    ("[site.hours]\nmon = \"9-5\"\n", ["site.hours.mon"]),
    ("[ui\n", ["site.toml"]),
    ("[payments]\nmethods = [\"cheque\"]\n", ["payments.methods"]),
    ("[ui]\nidle_fps = 0\n", ["ui.idle_fps", "site.toml", "from 1 to 60"]),
    ("[devices.reader]\nremoval_grace_ms = 5000\n", ["devices.reader.removal_grace_ms", "site.toml", "from 0 to 2000"]),
    ("[devices.reader]\npoll_ms = 0.5\n", ["devices.reader.poll_ms", "integer"]),
    ("[site]\nfeatures_not_offered = [\"valet\"]\n", ["site.features_not_offered", "valet", "parking"]),
    ("[site.hours]\nout_of_hours_features = [\"notice\"]\n", ["site.hours.out_of_hours_features", "notice"]),
])
def test_bad_site_file_names_the_file_and_key(tmp_path, content, words):
    site = tmp_path / "site.toml"
    site.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        settings.load(tmp_path, str(site))
    text = str(err.value)
    assert all(w in text for w in words), text


def test_missing_site_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        settings.load(tmp_path, str(tmp_path / "nope.toml"))


def test_service_hours_window_per_weekday(tmp_path):
    s = settings.load(tmp_path)
    assert s.site.hours.window(0) == (9 * 60 + 30, 22 * 60)
    assert s.site.hours.window(6) == (9 * 60 + 30, 22 * 60 + 30)


def test_a_site_lists_the_features_it_does_not_offer(tmp_path):
    assert settings.load(tmp_path).site.features_not_offered == ()
    site = tmp_path / "mall.toml"
    site.write_text('[site]\nfeatures_not_offered = ["parking", "bookings"]\n', encoding="utf-8")
    assert settings.load(tmp_path, str(site)).site.features_not_offered == ("parking", "bookings")


def test_an_older_secrets_file_gains_invoice_credentials_and_keeps_its_keys(tmp_path):
    from kiosk.settings import load_secrets

    old = {"card_master_key": "00" * 16, "card_mac_key": "11" * 32, "gateway_secret": "g", "account_hash_key": "a"}
    (tmp_path / "secrets.toml").write_text("".join(f'{k} = "{v}"\n' for k, v in old.items()))
    first = load_secrets(tmp_path)
    again = load_secrets(tmp_path)
    assert first.gateway_secret == "g" and first.card_master_key == "00" * 16
    assert first.invoice_app_key and first.invoice_app_secret
    assert (again.invoice_app_key, again.invoice_app_secret) == (first.invoice_app_key, first.invoice_app_secret)
