"""`kiosk install --root DIR`: the files a Debian 12 kiosk needs, verified by systemd-analyze, idempotent, checked."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devices.card_reader.transport import stable_links
from kiosk.cli.main import main
from kiosk.install.check import verify_units

UNITS = Path("etc/systemd/system")
SECRETS = Path("var/lib/estate-kiosk/secrets.toml")


def install(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["install", "--root", str(root), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def unit_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_install_writes_units_that_systemd_analyze_verifies_and_a_second_run_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = install(tmp_path, capsys)
    assert code == 0, err
    assert "installed: /etc/systemd/system/estate-kiosk.service" in out
    units = sorted((tmp_path / UNITS).glob("estate-kiosk*.*"))
    assert [u.name for u in units] == ["estate-kiosk-backup.service", "estate-kiosk-backup.timer",
                                       "estate-kiosk-last-resort.service", "estate-kiosk.service"]
    assert verify_units(units) == []  # systemd-analyze verify, all four together

    code, out, err = install(tmp_path, capsys)
    assert (code, out.count("installed:")) == (0, 0), out + err
    code, out, err = install(tmp_path, capsys, "--check")
    assert code == 0 and "everything in place" in out, err


def test_the_service_is_a_watchdogged_notify_service_that_escalates_and_is_hardened(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(tmp_path, capsys)
    service = unit_lines(tmp_path / UNITS / "estate-kiosk.service")
    for line in ("Type=notify", "NotifyAccess=all", "WatchdogSec=30", "Restart=always", "StartLimitIntervalSec=600",
                 "StartLimitBurst=5", "OnFailure=estate-kiosk-last-resort.service", "User=kiosk",
                 "ProtectSystem=strict", "ReadWritePaths=/var/lib/estate-kiosk", "NoNewPrivileges=yes",
                 "PrivateTmp=yes", "ProtectHome=yes", "DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw",
                 "DeviceAllow=char-usb rw", "DeviceAllow=char-drm rw", "WantedBy=graphical.target"):
        assert line in service, line
    exec_start = next(line for line in service if line.startswith("ExecStart="))
    assert exec_start.startswith("ExecStart=/usr/bin/cage -d -- ") and exec_start.endswith(" -m kiosk run")
    assert " -s" not in exec_start  # cage switches VTs only with -s
    backup = unit_lines(tmp_path / UNITS / "estate-kiosk-backup.service")
    assert any(line.endswith(" -m kiosk db backup --nightly") for line in backup if line.startswith("ExecStart="))
    assert "Persistent=true" in unit_lines(tmp_path / UNITS / "estate-kiosk-backup.timer")
    assert "SystemMaxUse=500M" in unit_lines(tmp_path / "etc/systemd/journald.conf.d/estate-kiosk.conf")
    assert "RuntimeWatchdogSec=30s" in unit_lines(tmp_path / "etc/systemd/system.conf.d/estate-kiosk-watchdog.conf")
    assert os.readlink(tmp_path / UNITS / "graphical.target.wants/estate-kiosk.service") == \
        "/etc/systemd/system/estate-kiosk.service"
    assert (tmp_path / SECRETS).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var/lib/estate-kiosk").stat().st_mode & 0o777 == 0o700


def test_check_names_each_tampered_permission_and_file_with_its_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(tmp_path, capsys)
    (tmp_path / SECRETS).chmod(0o644)
    (tmp_path / "var/lib/estate-kiosk").chmod(0o755)
    service = tmp_path / UNITS / "estate-kiosk.service"
    service.write_text(service.read_text().replace("WatchdogSec=30", "WatchdogSec=thirty"))
    code, out, err = install(tmp_path, capsys, "--check")
    assert code == 1
    assert "[E8112] /var/lib/estate-kiosk/secrets.toml is mode 0644" in err
    assert "[E8112] /var/lib/estate-kiosk is mode 0755" in err
    assert "[E8111] /etc/systemd/system/estate-kiosk.service is not what kiosk install writes" in err
    assert "[E8116] systemd-analyze verify refuses estate-kiosk.service" in err and "thirty" in err

    code, out, err = install(tmp_path, capsys)  # the install puts it all back
    assert code == 0 and out.count("installed:") == 3, out + err
    assert install(tmp_path, capsys, "--check")[0] == 0


def test_rotation_and_usb_names_come_from_the_site_config(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[ui]\nrotation = 270\n[install.usb]\nreader = "067B:2303"\nprinter = "0416:5011:PRN01"\n'
                    'cash = "0403:6001:A1b2C3"\n')
    root = tmp_path / "root"
    code, out, err = install(root, capsys, "--config", str(site))
    assert code == 0, err
    assert (root / "etc/estate-kiosk/site.toml").read_text() == site.read_text()
    assert "ExecStart=/usr/bin/cage -d -r -r -r -- " in (root / UNITS / "estate-kiosk.service").read_text()
    rules = (root / "etc/udev/rules.d/70-estate-kiosk.rules").read_text()
    assert ('SUBSYSTEM=="tty", ATTRS{idVendor}=="067b", ATTRS{idProduct}=="2303", SYMLINK+="kiosk-reader", '
            'GROUP="dialout", MODE="0660"') in rules
    assert 'ATTRS{serial}=="A1b2C3", SYMLINK+="kiosk-cash"' in rules
    assert 'KERNEL=="lp[0-9]*", ATTRS{idVendor}=="0416", ATTRS{idProduct}=="5011", ATTRS{serial}=="PRN01", ' \
           'SYMLINK+="kiosk-printer", GROUP="lp"' in rules

    site.write_text('[install.usb]\nreader = "67b:2303"\n')
    code, out, err = install(root, capsys, "--config", str(site))
    assert code == 2 and "[E8102] The USB id '67b:2303' for reader" in err
    site.write_text('[install.usb]\nfridge = "067b:2303"\n')
    code, out, err = install(root, capsys, "--config", str(site))
    assert code == 2 and "[E8103]" in err and "fridge" in err
    site.write_text('[ui]\nrotation = 45\n')
    code, out, err = install(root, capsys, "--config", str(site))
    assert code == 2 and "ui.rotation" in err


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None, reason="useradd --root needs root")
def test_under_a_root_with_its_own_etc_the_user_is_made_in_dialout_and_lp_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "etc").mkdir()
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        shutil.copy2(Path("/etc") / name, tmp_path / "etc" / name)
    code, out, err = install(tmp_path, capsys)
    assert code == 0 and "installed: user kiosk (groups dialout, lp)" in out, err
    passwd = [r.split(":") for r in (tmp_path / "etc/passwd").read_text().splitlines()]
    kiosk = next(r for r in passwd if r[0] == "kiosk")
    assert kiosk[6] == "/usr/sbin/nologin"
    st = (tmp_path / SECRETS).stat()
    assert (st.st_uid, st.st_mode & 0o777) == (int(kiosk[2]), 0o600)
    assert install(tmp_path, capsys)[1].count("installed:") == 0

    group = tmp_path / "etc/group"
    group.write_text("".join(line + (",kiosk" if line.startswith("audio:") and not line.endswith(":") else
                                     "kiosk" if line.startswith("audio:") else "") + "\n"
                             for line in group.read_text().splitlines()))
    os.chown(tmp_path / SECRETS, 0, 0)
    code, out, err = install(tmp_path, capsys, "--check")
    assert code == 1
    assert "[E8114] The system user kiosk is in the groups audio, dialout, lp; it must be in dialout, lp" in err
    assert "[E8112] /var/lib/estate-kiosk/secrets.toml is mode 0600 owned by root:root; it must be mode 0600 " \
           "owned by kiosk:kiosk" in err


def test_the_units_can_name_the_python_of_the_current_release(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = install(tmp_path, capsys, "--python", "/usr/bin/python3")
    assert code == 0, err
    service = (tmp_path / UNITS / "estate-kiosk.service").read_text()
    assert "ExecStart=/usr/bin/cage -d -- /usr/bin/python3 -m kiosk run" in service
    assert install(tmp_path, capsys, "--check")[0] == 1  # another python than the one checked with: E8111
    assert install(tmp_path, capsys, "--check", "--python", "/usr/bin/python3")[0] == 0


def test_cage_is_there_and_rotates_without_vt_switching() -> None:
    done = subprocess.run(["cage", "-h"], capture_output=True, text=True, timeout=10)
    usage = done.stdout + done.stderr
    assert " -r\t Rotate the output 90 degrees clockwise" in usage and " -s\t Allow VT switching" in usage


def test_the_device_screen_offers_kiosk_names_before_by_id_links(tmp_path: Path) -> None:
    port = tmp_path / "ttyUSB0"
    port.touch()
    (tmp_path / "by-id").mkdir()
    (tmp_path / "by-id" / "usb-Prolific-if00-port0").symlink_to(port)
    (tmp_path / "kiosk-reader").symlink_to(port)
    links = stable_links((str(tmp_path / "kiosk-*"), str(tmp_path / "by-id" / "*")))
    assert links[str(port)] == [str(tmp_path / "kiosk-reader"), str(tmp_path / "by-id" / "usb-Prolific-if00-port0")]
