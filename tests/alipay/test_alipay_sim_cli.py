"""`kiosk sim alipay` from the command line: keys made once and reused, unusable key files one clear line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.alipay_rig import ROOT, alipay_process


def test_a_second_start_reuses_the_keys_and_names_them_in_credentials_json(tmp_path: Path) -> None:
    with alipay_process(tmp_path) as first:
        key = Path(first.credentials["app_private_key_path"]).read_bytes()
    with alipay_process(tmp_path) as second:
        assert Path(second.credentials["app_private_key_path"]).read_bytes() == key
        assert second.credentials["gateway_url"] == second.url + "/gateway.do"
    assert (tmp_path / "app_private_key.pem").stat().st_mode & 0o077 == 0


def test_unusable_key_files_are_one_line_and_exit_4(tmp_path: Path) -> None:
    for name in ("app_private_key.pem", "app_public_key.pem", "alipay_private_key.pem", "alipay_public_key.pem"):
        (tmp_path / name).write_text("junk\n")
    done = subprocess.run([sys.executable, "-m", "kiosk", "sim", "alipay", "--keys", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and "not usable" in done.stderr and "Traceback" not in done.stderr
