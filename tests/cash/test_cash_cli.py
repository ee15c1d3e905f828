"""The command line: `kiosk devices probe cash`, `kiosk sim cash`, `kiosk sim gateway`, `kiosk sim gateway-pay`."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.gateway.sandbox import SandboxGateway
from devices.sim.cctalk_sim import SimBillValidator
from kiosk.cli.main import main
from kiosk.ports import CashEventKind, OrderState


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path))
    return tmp_path


def kiosk_process(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kiosk", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_probe_prints_identity_and_bill_types(sim: SimBillValidator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "probe", "cash", "--port", sim.path]) == 0
    out = capsys.readouterr().out
    assert f"cash acceptor {sim.path} address 40: Bill Validator" in out
    assert "manufacturer: SIM" in out and "product code: SIMBV-CN6" in out
    assert f"serial number: {0x0A1B2C}" in out
    assert "bill type 6: CN0100A = 100.00 CN" in out


def test_probe_with_nothing_answering_says_so_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with SimBillValidator() as quiet:
        quiet.no_reply = True
        assert main(["devices", "probe", "cash", "--port", quiet.path, "--timeout", "0.1"]) == 4
    assert "NO ANSWER" in capsys.readouterr().out


def test_probe_of_a_coin_acceptor_says_not_a_bill_validator(capsys: pytest.CaptureFixture[str]) -> None:
    with SimBillValidator(address=2, category="Coin Acceptor") as coins:
        assert main(["devices", "probe", "cash", "--port", coins.path, "--address", "2"]) == 4
    assert "NOT A BILL VALIDATOR ('Coin Acceptor')" in capsys.readouterr().out.replace("equipment category ", "")


def test_probe_of_a_missing_port_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "probe", "cash", "--port", "/dev/no-such-cash"]) == 4
    assert "NO ANSWER" in capsys.readouterr().out


def test_probe_with_echo_reports_the_bus_echo(capsys: pytest.CaptureFixture[str]) -> None:
    with SimBillValidator(echo=True) as echoing:
        assert main(["devices", "probe", "cash", "--port", echoing.path]) == 0
    assert "bus echo: yes" in capsys.readouterr().out


def test_sim_cash_prints_its_path_first_and_takes_commands(stop_later: list) -> None:
    proc = kiosk_process("sim", "cash", "--control-port", "0")
    stop_later.append(proc)
    path = proc.stdout.readline().strip()
    control = proc.stdout.readline().strip()
    assert path.startswith("/dev/pts/") and control.startswith("control 127.0.0.1:")
    with CctalkBillValidator(path, timeout_s=0.3) as validator:
        validator.enable([2000])
        proc.stdin.write("insert 20\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "escrow"
        assert [e.kind for e in validator.poll()] == [CashEventKind.ESCROW]
        port = int(control.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"jam\n")
            assert conn.makefile().readline().strip() == "ok"
        assert [e.kind for e in validator.poll()] == [CashEventKind.JAM]


def test_sim_gateway_prints_url_first_and_gateway_pay_pays(stop_later: list,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    proc = kiosk_process("sim", "gateway", "--secret", "cli-secret")
    stop_later.append(proc)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    client = SandboxGateway(url, "cli-secret")
    client.create_order("CLI-1", 1250, "fees", 60)
    assert main(["sim", "gateway-pay", "CLI-1", "--url", url, "--notify", "never"]) == 0
    assert "order CLI-1: paid 12.50" in capsys.readouterr().out
    assert client.query("CLI-1").state is OrderState.PAID
    assert main(["sim", "gateway-pay", "CLI-1", "--url", url]) == 8
    assert "NOT PAID (ORDER_PAID)" in capsys.readouterr().out
