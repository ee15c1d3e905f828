"""`kiosk install --office --root DIR`: the office server's two services, verified by systemd-analyze, idempotent,
checked; no kiosk session on it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kiosk.cli.main import main
from kiosk.install.check import verify_units

UNITS = Path("etc/systemd/system")


def install(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["install", "--office", "--root", str(root), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def unit_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_office_install_writes_two_hardened_units_that_verify_and_a_second_run_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = install(tmp_path, capsys, "--listen", "127.0.0.1:8751")
    assert code == 0, err
    units = sorted((tmp_path / UNITS).glob("*.service"))
    assert [u.name for u in units] == ["estate-fleet-watch.service", "estate-office.service"]
    assert verify_units(units) == []
    assert not (tmp_path / "etc/udev").exists() and not (tmp_path / "etc/systemd/system.conf.d").exists()
    assert not (tmp_path / UNITS / "default.target").exists()
    for name, command in (("estate-office.service", " -m kiosk office --listen 127.0.0.1:8751 --secure-cookies"),
                          ("estate-fleet-watch.service", " -m kiosk fleet watch")):
        lines = unit_lines(tmp_path / UNITS / name)
        for line in ("User=kiosk", "Restart=always", "After=network-online.target", "ProtectSystem=strict",
                     "ReadWritePaths=/var/lib/estate-kiosk", "NoNewPrivileges=yes", "PrivateTmp=yes",
                     "PrivateDevices=yes", "ProtectHome=yes", "WantedBy=multi-user.target"):
            assert line in lines, (name, line)
        assert next(x for x in lines if x.startswith("ExecStart=")).endswith(command), name
        assert not any(x.startswith(("DeviceAllow", "TTYPath", "WatchdogSec", "SupplementaryGroups")) for x in lines)
    assert (tmp_path / "var/lib/estate-kiosk/secrets.toml").stat().st_mode & 0o777 == 0o600

    code, out, err = install(tmp_path, capsys, "--listen", "127.0.0.1:8751")
    assert (code, out.count("installed:")) == (0, 0), out + err
    code, out, err = install(tmp_path, capsys, "--check", "--listen", "127.0.0.1:8751")
    assert code == 0 and "everything in place" in out, err


def test_office_check_names_a_tampered_unit_and_a_kiosk_file_with_their_codes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert install(tmp_path, capsys)[0] == 0
    unit = tmp_path / UNITS / "estate-fleet-watch.service"
    unit.write_text(unit.read_text().replace("Restart=always", "Restart=sometimes"))
    kiosk_unit = tmp_path / UNITS / "estate-kiosk.service"
    kiosk_unit.write_text("[Service]\nExecStart=/bin/true\n")
    code, out, err = install(tmp_path, capsys, "--check")
    assert code == 1
    assert "[E8111] /etc/systemd/system/estate-fleet-watch.service is not what kiosk install writes" in err
    assert "[E8116] systemd-analyze verify refuses estate-fleet-watch.service" in err and "sometimes" in err
    assert "[E8118] /etc/systemd/system/estate-kiosk.service belongs to a kiosk" in err
    assert "E8117" not in err  # no compositor wanted on the office server

    kiosk_unit.unlink()
    code, out, err = install(tmp_path, capsys)  # the install puts the unit back
    assert code == 0 and out.count("installed:") == 1, out + err


@pytest.mark.parametrize("listen", ["8750", "0.0.0.0:99999", "host:port", "a b:80"])
def test_office_install_refuses_a_listen_that_is_not_host_port(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], listen: str) -> None:
    code, out, err = install(tmp_path, capsys, "--listen", listen)
    assert code == 2 and "[E8119]" in err and "Traceback" not in err
    assert not (tmp_path / UNITS).exists()


def test_listen_belongs_to_the_office_install_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["install", "--root", str(tmp_path), "--listen", "127.0.0.1:8750"])
    assert code == 2 and "--listen is for kiosk install --office" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None, reason="useradd --root needs root")
def test_under_a_root_with_its_own_etc_the_office_user_is_in_no_group(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "etc").mkdir()
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        shutil.copy2(Path("/etc") / name, tmp_path / "etc" / name)
    code, out, err = install(tmp_path, capsys)
    assert code == 0 and "installed: user kiosk (groups -)" in out, err
    group = [r.split(":") for r in (tmp_path / "etc/group").read_text().splitlines()]
    assert not any("kiosk" in r[3].split(",") for r in group if r[0] in ("dialout", "lp"))
    assert install(tmp_path, capsys)[1].count("installed:") == 0
    assert install(tmp_path, capsys, "--check")[0] == 0
