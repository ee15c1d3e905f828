"""`kiosk devices probe reader`, `kiosk card read`, `kiosk sim reader` and `kiosk devices list` end to end."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk.cli.main import main


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM and wait; a simulator that does not stop in time fails the test and is killed, never left."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise


def test_probe_prints_firmware_then_the_uid(sim: SimPn532, card: VirtualMifareCard,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    sim.present(card)
    assert main(["devices", "probe", "reader", "--driver", "pn532", "--port", sim.path, "--wait", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["firmware: PN532 v1.6 (support 0x07)", "uid: 04A1B2C3"]


def test_probe_without_a_card_fails_with_one_line(sim: SimPn532, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "probe", "reader", "--port", sim.path, "--wait", "0.2"]) == 7
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["kiosk: no card was presented within 0.2 s"]


def test_probe_of_a_port_where_nothing_answers_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    master, slave = os.openpty()
    try:
        assert main(["devices", "probe", "reader", "--port", os.ttyname(slave), "--wait", "0.2"]) == 4
    finally:
        os.close(master)
        os.close(slave)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no PN532 answered" in err[0]


def test_probe_with_an_unknown_driver_names_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "probe", "reader", "--driver", "nope", "--port", "/dev/null"]) == 4
    assert "devices.reader.driver" in capsys.readouterr().err


def test_devices_list_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "list"]) == 0
    assert capsys.readouterr().out.strip()


def test_sim_reader_prints_its_path_first_and_obeys_commands(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cards = tmp_path / "cards.json"
    cards.write_text('{"cards": [{"uid": "04A1B2C3"}, {"uid": "04112233445566", "atqa": "0044"}]}')
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "reader", "--cards", str(cards)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        path = proc.stdout.readline().strip()
        assert os.path.exists(path)
        proc.stdout.readline()  # the comment line with the pty
        r = Pn532CardReader(path)
        r.open()
        tag = r.poll(1.0)
        assert tag is not None and tag.uid.hex == "04A1B2C3"
        proc.stdin.write("swap 1\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok swap 04112233445566"
        tag = r.poll(1.0)
        assert tag is not None and tag.uid.hex == "04112233445566"
        proc.stdin.write("unplug\n")
        proc.stdin.flush()
        assert proc.stdout.readline().startswith("ok unplugged")
        assert not os.path.exists(path)
        r.close()
        proc.stdin.write("replug\n")
        proc.stdin.flush()
        assert proc.stdout.readline().startswith("ok replugged")
        r.open()
        assert r.poll(1.0) is not None
        r.close()
    finally:
        _stop(proc)
    assert proc.returncode == 0
    assert not os.path.exists(os.path.dirname(path))


def test_sim_reader_keeps_running_when_stdin_is_closed() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "reader"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        time.sleep(0.5)
        assert proc.poll() is None and os.path.exists(path)
    finally:
        _stop(proc)
