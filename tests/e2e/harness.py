"""End-to-end harness: the real kiosk app in a subprocess on Xvfb, driven by xdotool clicks and a test hook."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1280, 800
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# site hours for a kiosk under test: journeys must not depend on the time of day the suite runs at
OPEN_ALL_DAY = "[site.hours]\n" + "".join(f'{d} = "00:00-24:00"\n' for d in WEEKDAYS)


def demo_card(label: str, language: str = "zh_Hans") -> str:
    """A demo card as the demo bar's card list names it in `language`: "1-0101 resident" -> "1-0101 住户卡",
    "1-0402 vehicle (lost)" -> "1-0402 车辆IC卡 (已挂失)" (unit, kind and state as the database has them)."""
    from kiosk.app_runtime.demo_controls import demo_card_label

    match = re.fullmatch(r"(\S+) (\w+)(?: \((\w+)\))?", label)
    if match is None:
        return label  # a staff or blank card: named in words already
    unit, kind, status = match.groups()
    return demo_card_label(unit, kind, status or "active", language)


class Xvfb:
    """Uses $DISPLAY when set, else starts `Xvfb :N` on a free display number and stops it afterwards."""

    def __init__(self, size: tuple[int, int] = (WIDTH, HEIGHT), own: bool = False) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = "" if own else os.environ.get("DISPLAY", "")  # own: always a screen of exactly `size`
        self.size = size

    def __enter__(self) -> Xvfb:
        if self.display:
            return self
        for number in range(90, 140):
            if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
                break
        self.display = f":{number}"
        self.proc = subprocess.Popen(["Xvfb", self.display, "-screen", "0", f"{self.size[0]}x{self.size[1]}x24", "-nolisten", "tcp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"Xvfb {self.display} did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


class KioskProcess:
    """`python -m tests.support.fake_app` (fake services) with the test hook; commands go over the hook's Unix socket."""

    def __init__(self, display: str, env: dict[str, str] | None = None, language: str = "zh_Hans",
                 args: tuple[str, ...] = (), size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
        self.args = args
        self.size = size  # the window's; the Xvfb screen must be at least as large (Xvfb(size))
        self.display = display
        self.tmp = Path(tempfile.mkdtemp(prefix="kiosk-e2e-"))
        self.sock_path = str(self.tmp / "hook.sock")
        self.extra_env = env or {}
        self.language = language
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._conn: Any = None

    def __enter__(self) -> KioskProcess:
        env = dict(os.environ, DISPLAY=self.display, KIVY_HOME=str(self.tmp / "kivy"), **self.extra_env)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.started_at = time.monotonic()
        self.log = open(self.tmp / "app.log", "wb")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.environment(env), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.wait_until(lambda: os.path.exists(self.sock_path), 60, "the test hook socket")
        self.wait_until(lambda: self.state().get("step") == "ready", 30, "the attract screen")
        return self

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.support.fake_app", "--test-hook", self.sock_path, "--language", self.language,
                "--size", f"{self.size[0]}x{self.size[1]}", *self.args]

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return env

    def __exit__(self, *_exc: object) -> None:
        if self._conn is not None:
            self._conn.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def log_text(self) -> str:
        return (self.tmp / "app.log").read_text(errors="replace")

    # --- hook ------------------------------------------------------------------------------------
    def cmd(self, **command: Any) -> dict[str, Any]:
        if self._conn is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(15)
            sock.connect(self.sock_path)
            self._conn = sock.makefile("rw", encoding="utf-8")
        self._conn.write(json.dumps(command) + "\n")
        self._conn.flush()
        return json.loads(self._conn.readline())

    def state(self) -> dict[str, Any]:
        try:
            return self.cmd(cmd="state")
        except (OSError, ValueError):
            self._conn = None
            return {}

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"kiosk exited ({self.proc.returncode}) waiting for {what}:\n{self.log_text[-3000:]}")
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; state: {self.state()}")

    def wait_for_text(self, text: str, timeout: float = 10) -> dict[str, Any]:
        return self.wait_until(lambda: (s := self.state()) and any(text in t for t in s.get("texts", ())) and s,
                               timeout, f"text {text!r}")

    def sign_in_with_unit(self, unit: str, pin: str) -> dict[str, Any]:
        """From the attract page, by touch (zh_Hans captions): unit number and PIN on the keypad, to the household page."""
        self.click("用房号和密码登录")
        self.click("使用数字键盘")
        for key in unit:
            self.click(key)
        self.click("下一步")
        self.wait_for_text("请输入密码")
        for key in pin:
            self.click(key)
        self.click("下一步")
        return self.wait_for_route("household")

    def wait_for_route(self, route: str, timeout: float = 10) -> dict[str, Any]:
        return self.wait_until(lambda: (s := self.state()).get("route") == route and s, timeout, f"route {route}")

    # --- real input through X11 ---------------------------------------------------------------------
    def wait_layout(self, text: str) -> dict[str, Any]:
        """Wait until the widget showing `text` stops moving (layout passes finished)."""
        last: dict[str, Any] = {}

        def settled() -> dict[str, Any] | None:
            nonlocal last
            found = self.cmd(cmd="find", text=text)
            if not found.get("ok") or "loading" in str(self.state().get("step")):
                last = {}
                return None
            same = last and (last["x"], last["y"]) == (found["x"], found["y"])
            last = found
            return found if same else None

        return self.wait_until(settled, 10, f"widget {text!r} in place")

    def click(self, text: str) -> None:
        """Find the widget by its text, then click its centre with xdotool (a real pointer event)."""
        found = self.wait_layout(text)
        assert not found["disabled"], f"button {text!r} is disabled"
        self.click_at(found["x"], found["y"])

    def click_at(self, x: int, y: int) -> None:
        subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True,
                       env=dict(os.environ, DISPLAY=self.display), timeout=10)

    def key(self, name: str) -> None:
        subprocess.run(["xdotool", "key", name], check=True, env=dict(os.environ, DISPLAY=self.display), timeout=10)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-window", "root", "-display", self.display, str(path)], check=True, timeout=30)
        return path


class RealKioskProcess(KioskProcess):
    """The assembled kiosk (tests/e2e/real_app.py): real runtime, simulators, a fresh database in `data_dir`."""

    def __init__(self, display: str, data_dir: Path, db_url: str | None = None, language: str = "zh_Hans",
                 env: dict[str, str] | None = None, size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
        super().__init__(display, env, language, size=size)
        self.data_dir = data_dir
        self.db_url = db_url

    def __enter__(self) -> RealKioskProcess:
        super().__enter__()  # the attract screen: from the last known content on a second start
        self.wait_until(lambda: self.state().get("services_ready"), 60, "the runtime behind the window")
        return self

    def command(self) -> list[str]:
        extra = ["--db-url", self.db_url] if self.db_url else []
        return [sys.executable, "-m", "tests.e2e.real_app", "--data-dir", str(self.data_dir), *extra]

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        if "KIOSK_CONFIG" not in env:  # a test about hours passes its own site file
            site = self.tmp / "open-all-day.toml"
            site.write_text(OPEN_ALL_DAY, encoding="utf-8")
            env = dict(env, KIOSK_CONFIG=str(site))
        return dict(env, KIOSK_TEST_HOOK=self.sock_path, KIOSK_UI_LANGUAGE=self.language,
                    KIOSK_UI_DEFAULT_LANGUAGE=self.language, KIOSK_UI_WIDTH=str(self.size[0]), KIOSK_UI_HEIGHT=str(self.size[1]),
                    KIOSK_UI_FULLSCREEN="0", KIOSK_UI_BORDERLESS="1")  # at the screen's origin, its full size

    def receipts(self) -> list[dict[str, Any]]:
        """What the simulated printer printed: one JSON record per cut, oldest first."""
        folder = self.data_dir / "printer-sim"
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))] \
            if folder.exists() else []

    def wait_for_receipt(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        return self.wait_until(lambda: next((r for r in self.receipts() if predicate(r)), None), timeout,
                               "a printed receipt")
