"""Every setting has a range checked at load; a value outside it is one translated line naming file, key, range."""
from __future__ import annotations

import subprocess
import sys
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from kiosk import settings, settings_ranges, settings_toml
from kiosk.domain.bounds import DEFAULT_MAX_ITEM_FEN, MAX_ITEM_CEILING_FEN
from kiosk.errors import ConfigError, ConfigOutOfRange, ConfigTextTooLong, DatabaseUrlUnsupported
from kiosk.i18n import LANGUAGES


def numeric_keys(cls: type = settings.Settings, path: str = "") -> list[str]:
    """Every numeric setting as RANGES names it ("[]" for list items, ".*" for table values)."""
    found = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name in ("data_dir", "sources", "secrets"):
            continue
        dotted = f"{path}.{f.name}" if path else f.name
        kind = hints[f.name]
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if is_dataclass(kind):
            found += numeric_keys(kind, dotted)  # type: ignore[arg-type]
        elif kind in (int, float):
            found.append(dotted)
        elif origin is tuple and args[0] in (int, float):
            found.append(f"{dotted}[]")
        elif origin is dict and args[1] in (int, float):
            found.append(f"{dotted}.*")
    return found


def test_every_numeric_setting_has_a_range_and_the_defaults_are_inside_them(tmp_path):
    assert sorted(numeric_keys()) == sorted(settings_ranges.RANGES)
    loaded = settings.load(tmp_path)
    assert loaded.limits.max_item_fen == DEFAULT_MAX_ITEM_FEN == 100_000_000
    assert loaded.database.start_wait_s == 30


def _load(tmp_path: Path, content: str, **kw: str) -> settings.Settings:
    site = tmp_path / "site.toml"
    site.write_text(content, encoding="utf-8")
    return settings.load(tmp_path, str(site), **kw)


@pytest.mark.parametrize("content, key, low, high", [
    ("[payments]\ncard_replacement_fee_fen = -5\n", "payments.card_replacement_fee_fen", "0", "100000000"),
    ("[payments]\ncard_replacement_fee_fen = 100000000000000\n", "payments.card_replacement_fee_fen", "0",
     "100000000"),
    ("[limits]\nmax_item_fen = 5000\n[payments]\ncard_replacement_fee_fen = 5001\n",
     "payments.card_replacement_fee_fen", "0", "5000"),
    ("[payments]\ntop_up_amounts_fen = [5000, 0]\n", "payments.top_up_amounts_fen", "1", "100000000"),
    ("[bookings.fees_fen]\ntv = -1\n", "bookings.fees_fen.tv", "0", "100000000"),
    ("[limits]\nmax_item_fen = 0\n", "limits.max_item_fen", "1", str(MAX_ITEM_CEILING_FEN)),
    ("[limits]\nmax_item_fen = 9223372036854775807\n", "limits.max_item_fen", "1", str(MAX_ITEM_CEILING_FEN)),
    ("[database]\nstart_wait_s = 0\n", "database.start_wait_s", "1", "600"),
    ("[ui]\nidle_timeout_s = 86400\n", "ui.idle_timeout_s", "30", "3600"),
    ("[ui]\nscreen_diagonal_in = nan\n", "ui.screen_diagonal_in", "5", "120"),
    ("[ui]\nscreen_diagonal_in = inf\n", "ui.screen_diagonal_in", "5", "120"),
    ("[devices.cash]\naddress = 256\n", "devices.cash.address", "1", "255"),
    ("[devices.gateway]\norder_timeout_s = -1\n", "devices.gateway.order_timeout_s", "10", "3600"),
    ("[devices.printer]\ncolumns = 4\n", "devices.printer.columns", "16", "128"),
    ("[payments]\ntop_up_amounts_fen = [" + ", ".join(["100"] * 65) + "]\n", "payments.top_up_amounts_fen (items)",
     "0", "64"),
])
def test_a_value_outside_its_range_names_the_file_the_key_and_the_range(tmp_path, content, key, low, high):
    with pytest.raises(ConfigOutOfRange) as err:
        _load(tmp_path, content)
    error = err.value
    assert (error.code, error.params["key"], error.params["low"], error.params["high"]) == ("E1010", key, low, high)
    assert error.params["file"] == str(tmp_path / "site.toml")
    for language in LANGUAGES:
        line = error.user_message(language)
        assert key in line and "site.toml" in line and low in line and high in line and "\n" not in line
    assert "必须在 " + low + " 到 " + high + " 之间" in error.user_message("zh_Hans")


def test_a_fee_set_by_the_technician_file_is_blamed_on_that_file(tmp_path):
    (tmp_path / "technician.toml").write_text("[payments]\ncard_replacement_fee_fen = -1\n", encoding="utf-8")
    with pytest.raises(ConfigOutOfRange) as err:
        settings.load(tmp_path)
    assert err.value.params["file"] == str(tmp_path / "technician.toml")


def test_the_per_item_maximum_is_a_setting_that_raises_every_fee_bound(tmp_path):
    loaded = _load(tmp_path, "[limits]\nmax_item_fen = 500000000\n[payments]\ncard_replacement_fee_fen = 200000000\n")
    assert loaded.payments.card_replacement_fee_fen == 200_000_000


@pytest.mark.parametrize("content, key", [
    ("[site]\ncode = \"\"\n", "site.code"),
    ("[site]\nname_en = \"" + "x" * 121 + "\"\n", "site.name_en"),
    ("[devices.printer]\nurl = \"" + "x" * 501 + "\"\n", "devices.printer.url"),
])
def test_texts_have_lengths(tmp_path, content, key):
    with pytest.raises(ConfigTextTooLong) as err:
        _load(tmp_path, content)
    assert err.value.params["key"] == key and err.value.code == "E1011"


@pytest.mark.parametrize("content, words", [
    ("[site]\nreceipt_qr_template = \"https://x/{receipt}\"\n", ["site.receipt_qr_template", "{number}"]),
    ("[site]\ntimezone = \"America\"\n", ["site.timezone", "America"]),
    ("[site]\nname_en = \"two\\nlines\"\n", ["site.name_en", "control characters"]),
    ("[ui]\nidle_timeout_s = 30\nidle_warning_s = 40\n", ["ui.idle_timeout_s", "ui.idle_warning_s"]),
])
def test_rules_between_values_name_the_file_too(tmp_path, content, words):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, content)
    assert all(w in str(err.value) for w in [*words, "site.toml"]), str(err.value)


@pytest.mark.parametrize("url, reason", [
    ("mysql://kiosk@db/kiosk", "mysql:// is not supported"),
    ("postgres://kiosk@db/kiosk", "needs a driver"),
    ("postgresql://kiosk@db/kiosk", "needs a driver"),
    ("postgresql+psycopg://kiosk@db:99999/kiosk", "port"),
    ("postgresql+psycopg://kiosk@db:port/kiosk", "port"),
    ("sqlite://", "sqlite:///PATH"),
    ("kiosk.sqlite3", "not a URL"),
])
def test_a_database_url_the_kiosk_cannot_use_is_one_line(tmp_path, url, reason):
    with pytest.raises(DatabaseUrlUnsupported) as err:
        settings.load(tmp_path, db_url=url)
    assert err.value.code == "E1012" and reason in err.value.params["reason"] and err.value.params["file"] == "--db-url"
    with pytest.raises(DatabaseUrlUnsupported):
        _load(tmp_path, f'[database]\nurl = "{url}"\n')


@pytest.mark.parametrize("raw, words", [
    (bytes(range(256)), ["not UTF-8"]),
    (b"a = 1" + b"0" * 5000 + b"\n", ["not a settings file"]),
    (b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", ["not a settings file"]),
    (b"[payments\n", ["site.toml"]),
    (b"x" * (settings_toml.MAX_FILE_BYTES + 1), ["larger than"]),
])
def test_a_settings_file_that_is_not_toml_is_one_config_error(tmp_path, raw, words):
    site = tmp_path / "site.toml"
    site.write_bytes(raw)
    with pytest.raises(ConfigError) as err:
        settings.load(tmp_path, str(site))
    assert all(w in str(err.value) for w in words), str(err.value)


def _kiosk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120)


def test_db_check_and_a_start_refuse_a_bad_fee_the_same_way(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[payments]\ncard_replacement_fee_fen = -2000\n", encoding="utf-8")
    check = _kiosk(tmp_path, "db", "check", "--config", str(site))
    start = _kiosk(tmp_path, "run", "--no-window", "--config", str(site))
    for out in (check, start):
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.strip().splitlines() == [
            f"kiosk: [E1010] The setting payments.card_replacement_fee_fen in {site} is -2000; it must be from 0 "
            "to 100000000."]


@pytest.mark.parametrize("raw", [bytes(range(128, 256)), b"a = 1" + b"0" * 5000 + b"\n", b"[devices\n"])
def test_the_technician_screen_reads_a_broken_file_as_one_config_error(tmp_path, raw):
    from kiosk.app_runtime import technician_config

    (tmp_path / settings.TECHNICIAN_FILE).write_bytes(raw)
    with pytest.raises(ConfigError) as err:
        technician_config.read(tmp_path)
    assert "technician.toml" in str(err.value)
