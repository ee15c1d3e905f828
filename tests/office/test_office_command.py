"""`kiosk staff web-password` and `kiosk office` as the office server runs them: real processes on a real database;
the console answers over HTTP and the password set on the shell signs in."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from tests.support.chain_key import write_secrets
from tests.support.databases import sqlite_database


def test_a_web_password_set_on_the_shell_signs_in_to_the_console_the_command_serves(tmp_path, monkeypatch, capsys):
    from kiosk.cli.main import main

    data = tmp_path / "data"
    write_secrets(data)
    with sqlite_database(tmp_path) as url:
        common = ["--data-dir", str(data), "--db-url", url]
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        monkeypatch.setattr("sys.stdin", io.StringIO("135792\n"))
        assert main(["staff", "add", "陈静", "--role", "technician", *common]) == 0
        monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
        assert main(["staff", "web-password", "陈静", *common]) != 0
        assert "E8253" in capsys.readouterr().err
        monkeypatch.setattr("sys.stdin", io.StringIO("a-long-web-password\n"))
        assert main(["staff", "web-password", "陈静", *common]) == 0
        assert "陈静" in capsys.readouterr().out
        server = subprocess.Popen([sys.executable, "-m", "kiosk", "office", "--listen", "127.0.0.1:0", *common],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            line = server.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if found is None:
                server.terminate()
                raise AssertionError(f"{line!r} {server.communicate(timeout=10)}")
            base = found.group(1)
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            page = opener.open(f"{base}/sign-in?lang=en", timeout=10).read().decode()
            csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
            form = urllib.parse.urlencode({"name": "陈静", "password": "a-long-web-password", "csrf_token": csrf})
            fleet = opener.open(f"{base}/sign-in", data=form.encode(), timeout=10)
            body = fleet.read().decode()
            assert fleet.url.endswith("/fleet") and "陈静 (technician)" in body
        finally:
            server.terminate()
            server.wait(10)
