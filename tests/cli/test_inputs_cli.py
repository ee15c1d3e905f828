"""Inputs from outside through the `kiosk` command: a bad file, settings file or database URL prints one clear
line (after the import's FILE:LINE list) and exits non-zero, never a traceback."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.cli.main import EXIT_BAD_FILE, EXIT_CONFIG, main

CLI_EXAMPLES = 25  # each example opens the database: a few seconds in all, whatever the profile


def kiosk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120)


def in_process(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    return code, err.getvalue()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-fuzz") / "data"


@settings(max_examples=min(settings().max_examples, CLI_EXAMPLES), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=2048))
def test_kiosk_import_bills_of_random_bytes_exits_9_with_one_error_line(data_dir, raw: bytes) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "random.csv"
    path.write_bytes(raw)
    code, err = in_process("import", "bills", str(path), "--data-dir", str(data_dir))
    lines = err.strip().splitlines()
    assert code == EXIT_BAD_FILE and "Traceback" not in err
    assert lines[-1].startswith("kiosk: [E2100] The import file has ")
    assert all(line.startswith(f"{path}:") for line in lines[:-1])


def test_a_megabyte_field_through_the_command(tmp_path):
    path = tmp_path / "field.csv"
    path.write_text("unit_no,kind,period,amount,due_date,external_ref\n"
                    f"1-0101,water,2026-11,1.00,2026-12-15,{'x' * 1_000_000}\n", encoding="utf-8")
    out = kiosk(tmp_path, "import", "bills", str(path))
    assert out.returncode == EXIT_BAD_FILE and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [
        f"{path}:2: a field is longer than 131072 characters; nothing after it was read",
        "kiosk: [E2100] The import file has 1 bad rows; nothing was imported. "
        "(line 2: a field is longer than 131072 characters; nothing after it was read)"]


MYSQL = (["--db-url", "mysql://kiosk@db/kiosk"], "kiosk: [E1012] The database URL in --db-url cannot be used (mysql://")
POSTGRES = (["--db-url", "postgres://kiosk@db/kiosk"], "kiosk: [E1012] The database URL in --db-url cannot be used")
RANDOM = (["--config", "RANDOM"], "kiosk: [E1000] The kiosk configuration is invalid: ")
NEGATIVE = (["--config", "NEGATIVE"], "kiosk: [E1010] The setting payments.card_replacement_fee_fen in ")


@pytest.mark.parametrize("command, args, first_words", [
    (["db", "check"], *MYSQL), (["db", "check"], *POSTGRES), (["db", "check"], *RANDOM), (["db", "check"], *NEGATIVE),
    (["run", "--no-window"], *MYSQL), (["run", "--no-window"], *RANDOM),  # a start: the same refusal
])
def test_start_and_db_check_print_one_line_for_bad_settings(tmp_path, command, args, first_words):
    (tmp_path / "RANDOM").write_bytes(os.urandom(512) + b"\xff")
    (tmp_path / "NEGATIVE").write_text("[payments]\ncard_replacement_fee_fen = -1\n", encoding="utf-8")
    args = [str(tmp_path / a) if a in ("RANDOM", "NEGATIVE") else a for a in args]
    out = kiosk(tmp_path, *command, *args)
    assert out.returncode == EXIT_CONFIG and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith(first_words), out.stderr
