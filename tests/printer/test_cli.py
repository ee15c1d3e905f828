"""The printer commands: probe, test print, sample preview, and the simulator command itself."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from devices.sim.escpos_sim import SimState
from kiosk.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)


def test_probe_prints_ready_and_exits_zero(sim, capsys):
    assert main(["devices", "probe", "printer", "--url", sim.url]) == 0
    assert "ready, paper ok" in capsys.readouterr().out


@pytest.mark.parametrize("state, words", [(SimState.OUT, "paper out"), (SimState.NO_REPLY, "no reply"),
                                          (SimState.COVER_OPEN, "cover open")])
def test_probe_of_a_printer_that_cannot_print_exits_4_with_one_clear_line(sim, capsys, state, words):
    sim.set_state(state)
    assert main(["devices", "probe", "printer", "--url", sim.url, "--status-timeout", "0.2"]) == 4
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "NOT READY" in out[0] and words in out[0]


def test_probe_of_nothing_listening_exits_4(capsys):
    assert main(["devices", "probe", "printer", "--url", "tcp://127.0.0.1:9"]) == 4
    assert "NOT READY: cannot connect" in capsys.readouterr().out


def test_printer_test_prints_chinese_a_native_qr_and_cuts(sim, capsys):
    assert main(["printer", "test", "--url", sim.url]) == 0
    [record] = sim.wait_for_records(1)
    assert any("中文" in line for line in record["lines"])
    assert record["qr_codes"] and record["cut"] == "full"
    assert "test receipt printed" in capsys.readouterr().out


def test_printer_test_on_an_empty_printer_fails_with_the_device_exit_code(sim, capsys):
    sim.set_state(SimState.OUT)
    assert main(["printer", "test", "--url", sim.url]) == 4
    assert "E6100" in capsys.readouterr().err


def test_sample_writes_a_png_as_wide_as_the_paper(tmp_path):
    out = tmp_path / "sample.png"
    assert main(["printer", "sample", "--kind", "top_up", "--lang", "en", "--columns", "32", "--out", str(out)]) == 0
    assert Image.open(out).width == 384 + 32


def test_sim_command_says_where_it_listens_and_saves_receipts(tmp_path):
    out = tmp_path / "receipts"
    env = {**os.environ, "KIOSK_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "printer", "--port", "0", "--pty", "--out", str(out)],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("ESC/POS printer simulator listening on tcp://127.0.0.1:")
        assert "serial:/dev/pts/" in first and str(out) in first
        url = first.split()[5]
        proc.stdin.write("near_end\n")
        proc.stdin.flush()
        while "state near_end" not in proc.stdout.readline():
            pass
        result = subprocess.run([sys.executable, "-m", "kiosk", "devices", "probe", "printer", "--url", url],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "paper near_end" in result.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_sim_command_without_a_usable_font_says_so(tmp_path, capsys):
    code = main(["sim", "printer", "--port", "0", "--out", str(tmp_path), "--font", str(tmp_path / "none.ttc")])
    assert code == 4
    assert "--font" in capsys.readouterr().err
