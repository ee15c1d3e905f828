"""Touchscreen app benchmark vs a minimal Kivy app started the same way in the same run (one table).

Run: .venv/bin/python bench/app.py [--idle 60] [--taps 24] [--fake]   (uses $DISPLAY or starts Xvfb; not pytest)
The kiosk is the REAL one (tests/e2e/real_app.py: runtime, wire-level simulators in the same process, demo
estate in SQLite), started once beforehand to seed its database, then measured on a second, ordinary start;
--fake measures `python -m screens` on FakeKioskServices instead.
Figures: cold start to the first attract frame, PSS/RSS of the process tree after the idle period,
CPU used during the idle period (percent of one core), touch-to-next-screen p50/p95 (xdotool click
to the first frame drawn after the screen changed, wall clock on both sides).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import HEIGHT, WIDTH, Xvfb  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        stack.extend(int(c) for c in children)
    return pids


def memory_kib(pid: int) -> tuple[int, int]:
    pss = rss = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / CLK_TCK


def wait_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if line.startswith(prefix):
            return float(line.split()[1])
        if not line and proc.poll() is not None:
            raise RuntimeError(f"process exited before {prefix}")
    raise RuntimeError(f"no {prefix} within {timeout} s")


def start(cmd: list[str], display: str, tmp: Path, hook_path: str = "") -> tuple[subprocess.Popen[str], float]:
    env = dict(os.environ, DISPLAY=display, KIVY_HOME=str(tmp / "kivy"), KIOSK_REPORT_FIRST_FRAME="1",
               BENCH_WIDTH=str(WIDTH), BENCH_HEIGHT=str(HEIGHT), KIOSK_UI_TEST_HOOK=hook_path,
               KIOSK_UI_WIDTH=str(WIDTH), KIOSK_UI_HEIGHT=str(HEIGHT), KIOSK_UI_FULLSCREEN="0")
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = wait_line(proc, "FIRST_FRAME", 60)
    return proc, first - t0


class Hook:
    def __init__(self, path: str) -> None:
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise RuntimeError("no test hook socket")
            time.sleep(0.05)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        self.stream = sock.makefile("rw", encoding="utf-8")

    def __call__(self, **command: object) -> dict:
        self.stream.write(json.dumps(command) + "\n")
        self.stream.flush()
        return json.loads(self.stream.readline())


def click(display: str, x: int, y: int) -> float:
    t0 = time.time()
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True,
                   env=dict(os.environ, DISPLAY=display))
    return t0


def kiosk_taps(display: str, hook: Hook, taps: int) -> list[float]:
    """Alternate attract -> notices -> back and attract -> sign-in -> back; gaps cover idle and active frame rates."""
    captions = [("公告通知", "返回"), ("用房号和密码登录", "返回")]
    latencies = []
    for i in range(taps):
        forward, back = captions[(i // 2) % 2]
        caption = forward if i % 2 == 0 else back
        found = hook(cmd="find", text=caption)
        before = len(hook(cmd="flips")["route_flips"])
        time.sleep(3.0 if i % 3 == 0 else 0.4)  # every third tap arrives when the app has gone to idle fps
        t0 = click(display, found["x"], found["y"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            flips = hook(cmd="flips")["route_flips"]
            if len(flips) > before:
                latencies.append(flips[before] - t0)
                break
            time.sleep(0.02)
        else:
            raise RuntimeError(f"tap on {caption!r} changed nothing")
    return latencies


def minimal_taps(display: str, proc: subprocess.Popen[str], taps: int) -> list[float]:
    latencies = []
    for i in range(taps):
        time.sleep(3.0 if i % 3 == 0 else 0.4)
        t0 = click(display, WIDTH // 4 if i % 2 else 3 * WIDTH // 4, 3 * HEIGHT // 4)
        latencies.append(wait_line(proc, "FLIP", 5) - t0)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--taps", type=int, default=24)
    parser.add_argument("--fake", action="store_true", help="the kiosk on FakeKioskServices (phase 1-2 figures)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    hook_path = str(tmp / "hook.sock")
    results: dict[str, dict[str, float]] = {}
    measured: dict[str, tuple[float, tuple[int, int], float, list[float]]] = {}
    with Xvfb() as x:
        # one app at a time, so PSS is not shared between the two and neither steals the other's CPU
        for name in ("minimal", "kiosk"):
            if name == "kiosk" and args.fake:
                cmd = [sys.executable, "-m", "screens", "--test-hook", hook_path, "--size", f"{WIDTH}x{HEIGHT}"]
            elif name == "kiosk":
                cmd = [sys.executable, "-m", "tests.e2e.real_app", "--data-dir", str(tmp / "data")]
                first, _ = start(cmd, x.display, tmp, str(tmp / "seed.sock"))  # seeds the estate, issues cards
                first.terminate()
                first.wait(30)
            else:
                cmd = [sys.executable, str(ROOT / "bench" / "minimal_app.py")]
            proc, start_s = start(cmd, x.display, tmp, hook_path if name == "kiosk" else "")
            try:
                hook = Hook(hook_path) if name == "kiosk" else None
                time.sleep(3)  # settle (the kiosk drops to its idle frame rate after 2 s without input)
                cpu0 = cpu_seconds(proc.pid)
                time.sleep(args.idle)
                cpu = cpu_seconds(proc.pid) - cpu0
                mem = memory_kib(proc.pid)
                taps = kiosk_taps(x.display, hook, args.taps) if hook else minimal_taps(x.display, proc, args.taps)
            finally:
                proc.terminate()
                proc.wait(15)
            measured[name] = (start_s, mem, cpu, taps)
    for name, (start_s, (pss, rss), cpu, taps) in measured.items():
        results[name] = {"start_s": start_s, "pss_mib": pss / 1024, "rss_mib": rss / 1024,
                         "cpu_pct": 100 * cpu / args.idle, "tap_p50_ms": 1000 * pct(taps, 0.5),
                         "tap_p95_ms": 1000 * pct(taps, 0.95)}
    k, m = results["kiosk"], results["minimal"]
    rows = [("cold start to first attract frame (s)", "start_s", "{:.2f}", "<= 2x minimal"),
            ("PSS of process tree after idle (MiB)", "pss_mib", "{:.0f}", "<= 1.3x minimal"),
            ("RSS of process tree after idle (MiB)", "rss_mib", "{:.0f}", ""),
            (f"CPU over {args.idle:.0f} s idle (% of one core)", "cpu_pct", "{:.2f}", "<= 1%"),
            ("touch-to-next-screen p50 (ms)", "tap_p50_ms", "{:.0f}", ""),
            ("touch-to-next-screen p95 (ms)", "tap_p95_ms", "{:.0f}", "<= 150 ms")]
    print(f"| figure | kiosk | minimal Kivy app | ratio | target |\n|---|---:|---:|---:|---|")
    for label, key, fmt, target in rows:
        ratio = k[key] / m[key] if m[key] else float("inf")
        print(f"| {label} | {fmt.format(k[key])} | {fmt.format(m[key])} | {ratio:.2f}x | {target} |")
    print(f"\n{args.taps} taps each; Xvfb {WIDTH}x{HEIGHT}, software GL (llvmpipe); "
          f"kiosk on {'FakeKioskServices' if args.fake else 'the real runtime with in-process simulators'}; "
          f"{os.cpu_count()} CPUs shared with other work.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
