"""Private files: what the kiosk creates is 0700/0600 whatever the umask; at start a file other users can read is set
private when the kiosk's user owns it (E2301), else named with the chmod that fixes it (E2300)."""
from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import private_files
from kiosk.errors import FileMadePrivate, FileNotPrivate
from kiosk.private_files import check, create_private_file, make_private_dir, write_private_text

OTHER_UID = 65534  # nobody


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The umask an operator's shell usually has: files 0644, folders 0755 unless the kiosk says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _old_install(data: Path) -> dict[str, Path]:
    """A data dir as a kiosk before this rule left it: everything readable by every user."""
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    files = {name: data / name for name in ("kiosk.sqlite3", "kiosk.sqlite3-wal", "kiosk.sqlite3-shm",
                                            "secrets.toml", "technician.toml")}
    (data / "backups").mkdir(mode=0o755)
    files["backup"] = data / "backups" / "kiosk-20261201T000000Z.sqlite3"
    for path in files.values():
        path.write_text("x")
        os.chmod(path, 0o644)
    return files


def test_folders_and_files_the_kiosk_creates_are_private_under_an_open_umask(tmp_path):
    folder = make_private_dir(tmp_path / "a" / "data")
    assert mode(folder) == 0o700
    assert create_private_file(folder / "kiosk.sqlite3") and mode(folder / "kiosk.sqlite3") == 0o600
    assert not create_private_file(folder / "kiosk.sqlite3")  # an existing file is never truncated
    export = folder / "settlement.csv"
    export.write_text("old")
    os.chmod(export, 0o644)
    write_private_text(export, "record,day\r\n")  # replacing a readable file leaves a private one
    assert mode(export) == 0o600 and export.read_bytes() == b"record,day\r\n"
    assert sorted(p.name for p in folder.iterdir()) == ["kiosk.sqlite3", "settlement.csv"]  # no temporary left


def test_the_private_umask_makes_whatever_the_process_creates_private(tmp_path):
    old = private_files.use_private_umask()
    try:
        (tmp_path / "printer-sim").mkdir()
        (tmp_path / "printer-sim" / "receipt.png").write_bytes(b"png")
    finally:
        os.umask(old)
    assert mode(tmp_path / "printer-sim") == 0o700 and mode(tmp_path / "printer-sim" / "receipt.png") == 0o600


def test_readable_files_the_kiosk_owns_are_set_private_at_start_and_each_is_a_warning(tmp_path):
    data = tmp_path / "data"
    files = _old_install(data)
    found = check(data, files["kiosk.sqlite3"], fix=True)
    assert {f.path for f in found} == {data, data / "backups", *files.values()}
    assert all(f.fixed and f.mode in (0o644, 0o755) for f in found)
    assert mode(data) == 0o700 and mode(data / "backups") == 0o700
    assert all(mode(p) == 0o600 for p in files.values())
    assert check(data, files["kiosk.sqlite3"], fix=True) == []  # nothing left
    warning = next(f for f in found if f.path == files["kiosk.sqlite3"]).warning()
    assert isinstance(warning, FileMadePrivate) and warning.code == "E2301"
    assert warning.user_message("en") == (f"{files['kiosk.sqlite3']} could be read by other users of this computer "
                                          "(mode 0644); the kiosk has set it to 0600.")
    assert "自助机已将其改为 0600" in warning.user_message("zh_Hans")


def test_the_check_alone_changes_nothing_and_names_the_chmod_that_fixes_it(tmp_path):
    data = tmp_path / "data"
    files = _old_install(data)
    found = check(data, files["kiosk.sqlite3"], fix=False)
    assert len(found) == 8 and not any(f.fixed for f in found) and mode(files["kiosk.sqlite3"]) == 0o644
    db = next(f for f in found if f.path == files["kiosk.sqlite3"]).warning()
    assert isinstance(db, FileNotPrivate) and db.code == "E2300"
    assert db.user_message("en").endswith(f"(mode 0644). Fix: chmod 600 {files['kiosk.sqlite3']}")
    assert next(f for f in found if f.path == data).fix == f"chmod 700 {data}"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_readable_file_another_user_owns_is_left_alone_and_named_with_its_fix(tmp_path):
    data = tmp_path / "data"
    files = _old_install(data)
    os.chown(files["kiosk.sqlite3"], OTHER_UID, OTHER_UID)
    found = {f.path: f for f in check(data, files["kiosk.sqlite3"], fix=True)}
    assert not found[files["kiosk.sqlite3"]].fixed and mode(files["kiosk.sqlite3"]) == 0o644
    assert found[files["kiosk.sqlite3-wal"]].fixed and mode(files["kiosk.sqlite3-wal"]) == 0o600
    assert found[files["kiosk.sqlite3"]].warning().user_message("zh_Hans") == (
        f"{files['kiosk.sqlite3']} 可被本机其他用户读取（权限 0644）。修复方法：chmod 600 {files['kiosk.sqlite3']}")


def test_a_private_install_has_nothing_to_report_and_files_outside_the_list_are_not_touched(tmp_path):
    data = make_private_dir(tmp_path / "data")
    create_private_file(data / "kiosk.sqlite3")
    (data / "notes.txt").write_text("the operator's own file")
    os.chmod(data / "notes.txt", 0o644)
    assert check(data, data / "kiosk.sqlite3", fix=True) == []
    assert mode(data / "notes.txt") == 0o644  # unreadable by others anyway: the folder is 0700


def test_each_finding_is_logged_translated_with_its_code(tmp_path, caplog):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    with caplog.at_level(logging.WARNING, logger="kiosk.private_files"):
        private_files.log_findings(check(data, None, fix=True), "zh_Hant")
    assert caplog.messages == [f"[E2301] {data} 曾可被本機其他使用者讀取（權限 0755），自助機已將其改為 0700。"]
