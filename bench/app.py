"""Touchscreen app benchmark vs a minimal Kivy app started the same way in the same run.

Run: .venv/bin/python bench/app.py [--idle 60] [--taps 24] [--only run|demo|fake] [--size 1080x1920]
(starts its own Xvfb; not pytest). --size is repeatable; by default the whole benchmark runs once at 1280x800 and
once at 1080x1920 (portrait), each size with its own minimal app as the baseline.
Kiosks measured, each against the same minimal app (a label and two buttons in the same CJK font):
  run   `kiosk run`, the product as a counter runs it, on the demo estate in SQLite, its devices being the
        wire-level simulators in separate processes (`kiosk sim reader|printer|cash|gateway`), as real
        hardware would be: their CPU is the devices', not the kiosk's;
  demo  tests/e2e/real_app.py, what `kiosk demo` assembles: the same runtime with the simulators in the
        kiosk's own process (their CPU counted);
  fake  `python -m tests.support.fake_app` on FakeKioskServices (the window alone).
Each real kiosk is started once beforehand to seed its database and issue the demo cards, then measured
on an ordinary second start.
Figures: cold start to the first attract frame, start to usable (READY=1 on the benchmark's own NOTIFY_SOCKET:
the runtime ready, the devices opened, money recovered; kiosk.app_runtime.usable) with its ratio to the minimal
app's first frame, start to the runtime being ready behind the window,
PSS/RSS of the process tree after the idle period, CPU used during the idle period (percent of one core),
touch-to-next-screen p50/p95 (xdotool click to the first frame drawn after the screen changed, wall clock
on both sides).
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import HEIGHT, OPEN_ALL_DAY, WIDTH, Xvfb  # noqa: E402

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


def memory_kib(pid: int) -> tuple[int, int, int]:
    """PSS, RSS and USS (private pages only) of the process tree. PSS divides a shared page by every process on
    the machine that maps it: the minimal app is mostly shared libraries (libLLVM alone is 54 MiB resident), so
    its PSS falls when other Kivy processes run beside the benchmark, while USS does not depend on them."""
    pss = rss = uss = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    uss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss, uss


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / CLK_TCK


class ReadyListener:
    """What systemd does with NOTIFY_SOCKET, for one app: a datagram socket; keeps the wall time READY=1 arrived
    (the kiosk sends it once usable: screens/service_watchdog.py)."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.address = str(path)
        self.ready_at: float | None = None
        self.arrived = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while self.ready_at is None:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if "READY=1" in data.decode(errors="replace").split("\n"):
                self.ready_at = time.time()
                self.arrived.set()

    def wait(self, proc: subprocess.Popen[str], timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while not self.arrived.wait(0.2):
            if proc.poll() is not None:
                raise RuntimeError("process exited before READY=1")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no READY=1 within {timeout} s")
        return self.ready_at  # type: ignore[return-value]


class Marks:
    """Reads a process's stdout on a thread and keeps its "WORD <wall time>" lines (FIRST_FRAME,
    SERVICES_READY, FLIP), so a line printed before anyone asked for it is not lost or waited on forever."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: dict[str, list[float]] = {}
        self.taken: dict[str, int] = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            word, _, rest = line.partition(" ")
            try:
                value = float(rest.split()[0])
            except (IndexError, ValueError):
                continue
            with self.cond:
                self.seen.setdefault(word, []).append(value)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def next(self, word: str, timeout: float) -> float:
        """The next not yet taken `word` line's time."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.seen.get(word, ())) <= self.taken.get(word, 0):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no {word} within {timeout} s")
                if self.proc.poll() is not None:
                    raise RuntimeError(f"process exited before {word}")
                self.cond.wait(min(left, 0.5))
            index = self.taken.get(word, 0)
            self.taken[word] = index + 1
            return self.seen[word][index]


def wait_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> float:
    return proc.bench_marks.next(prefix, timeout)  # type: ignore[attr-defined]


Size = tuple[int, int]
SIZES: tuple[Size, ...] = ((WIDTH, HEIGHT), (1080, 1920))


def start(cmd: list[str], display: str, tmp: Path, hook_path: str = "",
          size: Size = (WIDTH, HEIGHT)) -> tuple[subprocess.Popen[str], float]:
    site = tmp / "open-all-day.toml"  # the taps reach the same screens whatever the time of day
    site.write_text(OPEN_ALL_DAY, encoding="utf-8")
    env = dict(os.environ, DISPLAY=display, KIVY_HOME=str(tmp / "kivy"), KIOSK_REPORT_FIRST_FRAME="1",
               KIOSK_CONFIG=str(site),
               BENCH_WIDTH=str(size[0]), BENCH_HEIGHT=str(size[1]), KIOSK_TEST_HOOK=hook_path,
               KIOSK_UI_WIDTH=str(size[0]), KIOSK_UI_HEIGHT=str(size[1]), KIOSK_UI_FULLSCREEN="0",
               KIOSK_UI_BORDERLESS="1")
    notify = ReadyListener(tmp / f"notify-{time.monotonic_ns()}")
    env["NOTIFY_SOCKET"] = notify.address  # the minimal app ignores it; the kiosk says READY=1 once usable
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.bench_t0, proc.bench_marks, proc.bench_notify = t0, Marks(proc), notify  # type: ignore[attr-defined]
    first = wait_line(proc, "FIRST_FRAME", 60)
    return proc, first - t0


def ready_after(proc: subprocess.Popen[str]) -> float:
    """Seconds from Popen to the runtime being ready behind the window (the kiosk prints it once)."""
    return wait_line(proc, "SERVICES_READY", 60) - proc.bench_t0  # type: ignore[attr-defined]


def usable_after(proc: subprocess.Popen[str]) -> float:
    """Seconds from Popen to READY=1 on the benchmark's NOTIFY_SOCKET: the kiosk usable (a journey works)."""
    return proc.bench_notify.wait(proc, 60) - proc.bench_t0  # type: ignore[attr-defined]


class DeviceSimulators:
    """The four wire-level simulators as separate processes, where real hardware would be."""

    COMMANDS = (("reader", ["reader", "--no-card"]), ("printer", ["printer", "--port", "0"]), ("cash", ["cash"]),
                ("gateway", ["gateway"]))

    def __init__(self, data_dir: Path, reader_cards: Path | None = None) -> None:
        self.data_dir = data_dir
        self.reader_cards = reader_cards  # a card file the reader holds (laid on it by `present UID` on its stdin)
        self.procs: list[subprocess.Popen[str]] = []
        self.urls: dict[str, str] = {}

    def __enter__(self) -> DeviceSimulators:
        for name, args in self.COMMANDS:
            if name == "reader" and self.reader_cards is not None:
                args = [*args, "--cards", str(self.reader_cards)]
            proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", *args, "--data-dir", str(self.data_dir)],
                                    cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            self.procs.append(proc)
            found = re.search(r"(tcp|http)://[^\s;]+|(?<!\S)/\S+", proc.stdout.readline())  # type: ignore[union-attr]
            if found is None:
                raise RuntimeError(f"simulated {name} printed no address")
            self.urls[name] = found.group(0).rstrip(";")
        return self

    def config(self) -> Path:
        """A site file that points the kiosk at the simulators (what a technician's file does for hardware)."""
        path = self.data_dir / "bench-devices.toml"
        path.write_text(OPEN_ALL_DAY + "".join(f'[devices.{name}]\nurl = "{url}"\n' for name, url in self.urls.items()),
                        encoding="utf-8")
        return path

    def __exit__(self, *_exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(15)


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


def minimal_taps(display: str, proc: subprocess.Popen[str], taps: int, size: Size) -> list[float]:
    latencies = []
    for i in range(taps):
        time.sleep(3.0 if i % 3 == 0 else 0.4)
        t0 = click(display, size[0] // 4 if i % 2 else 3 * size[0] // 4, 3 * size[1] // 4)
        latencies.append(wait_line(proc, "FLIP", 5) - t0)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


Measured = tuple[float, float, float, tuple[int, int, int], float, list[float]]  # start, usable, ready, memory, cpu, taps

KIOSKS = {"run": "`kiosk run` on the simulators in separate processes",
          "demo": "`kiosk demo` (tests/e2e/real_app.py), simulators in the kiosk's process",
          "fake": "`python -m tests.support.fake_app` on FakeKioskServices"}


def measure(proc: subprocess.Popen[str], start_s: float, hook: Hook | None, display: str, idle: float,
            taps: int, real: bool, size: Size) -> Measured:
    ready_s = ready_after(proc) if real else start_s
    usable_s = usable_after(proc) if real else start_s
    time.sleep(3)  # settle (the kiosk drops to its idle frame rate after 2 s without input)
    cpu0 = cpu_seconds(proc.pid)
    time.sleep(idle)
    cpu = cpu_seconds(proc.pid) - cpu0
    mem = memory_kib(proc.pid)
    latencies = kiosk_taps(display, hook, taps) if hook else minimal_taps(display, proc, taps, size)
    return start_s, usable_s, ready_s, mem, cpu, latencies


def run_one(name: str, display: str, tmp: Path, idle: float, taps: int, size: Size) -> Measured:
    """One app, alone on the display, started the way its row says; one app at a time, so PSS is not
    shared between them and none steals another's CPU."""
    hook_path = str(tmp / f"{name}.sock")
    data = tmp / f"data-{name}"
    if name == "minimal":
        proc, start_s = start([sys.executable, str(ROOT / "bench" / "minimal_app.py")], display, tmp, size=size)
        return stop_after(proc, lambda: measure(proc, start_s, None, display, idle, taps, False, size))
    if name == "fake":
        cmd = [sys.executable, "-m", "tests.support.fake_app", "--test-hook", hook_path, "--size", f"{size[0]}x{size[1]}"]
        proc, start_s = start(cmd, display, tmp, hook_path, size)
        return stop_after(proc, lambda: measure(proc, start_s, Hook(hook_path), display, idle, taps, False, size))
    demo = [sys.executable, "-m", "tests.e2e.real_app", "--data-dir", str(data)]
    seed, _ = start(demo, display, tmp, str(tmp / f"{name}-seed.sock"), size)  # seeds the estate, issues the cards
    ready_after(seed)
    seed.terminate()
    seed.wait(30)
    if name == "demo":
        proc, start_s = start(demo, display, tmp, hook_path, size)
        return stop_after(proc, lambda: measure(proc, start_s, Hook(hook_path), display, idle, taps, True, size))
    with DeviceSimulators(data) as sims:
        # not --windowed: that window keeps room for a title bar and would not fill the screen; start() asks for a
        # borderless window of exactly the benchmark's size (KIOSK_UI_FULLSCREEN=0, KIOSK_UI_BORDERLESS=1)
        cmd = [sys.executable, "-m", "tests.support.hooked_kiosk", "run", "--data-dir", str(data), "--config",
               str(sims.config()), "--language", "zh_Hans"]
        proc, start_s = start(cmd, display, tmp, hook_path, size)
        return stop_after(proc, lambda: measure(proc, start_s, Hook(hook_path), display, idle, taps, True, size))


def stop_after(proc: subprocess.Popen[str], work: Callable[[], Measured]) -> Measured:
    try:
        return work()
    finally:
        proc.terminate()
        proc.wait(15)


def table(name: str, k: Measured, m: Measured, idle: float) -> str:
    def figures(x: Measured) -> dict[str, float]:
        start_s, usable_s, ready_s, (pss, rss, uss), cpu, taps = x
        return {"start_s": start_s, "usable_s": usable_s, "ready_s": ready_s, "pss_mib": pss / 1024, "rss_mib": rss / 1024,
                "uss_mib": uss / 1024,
                "cpu_pct": 100 * cpu / idle, "tap_p50_ms": 1000 * pct(taps, 0.5), "tap_p95_ms": 1000 * pct(taps, 0.95)}

    kf, mf = figures(k), figures(m)
    rows = [("cold start to first attract frame (s)", "start_s", "{:.2f}", "<= 2x minimal"),
            ("start to usable: READY=1, devices open, money recovered (s)", "usable_s", "{:.2f}", "<= 2x minimal"),
            ("start to runtime ready behind the window (s)", "ready_s", "{:.2f}", ""),
            ("PSS of process tree after idle (MiB)", "pss_mib", "{:.0f}", "<= 1.3x minimal"),
            ("RSS of process tree after idle (MiB)", "rss_mib", "{:.0f}", ""),
            ("USS (private pages) of process tree after idle (MiB)", "uss_mib", "{:.0f}", ""),
            (f"CPU over {idle:.0f} s idle (% of one core)", "cpu_pct", "{:.2f}", "<= 1%"),
            ("touch-to-next-screen p50 (ms)", "tap_p50_ms", "{:.0f}", ""),
            ("touch-to-next-screen p95 (ms)", "tap_p95_ms", "{:.0f}", "<= 150 ms")]
    lines = [f"Kiosk: {KIOSKS[name]}", "", "| figure | kiosk | minimal Kivy app | ratio | target |",
             "|---|---:|---:|---:|---|"]
    for label, key, fmt, target in rows:
        if key in ("ready_s", "usable_s") and name == "fake":
            continue
        ratio = kf[key] / mf[key] if mf[key] else float("inf")
        lines.append(f"| {label} | {fmt.format(kf[key])} | {fmt.format(mf[key])} | {ratio:.2f}x | {target} |")
    return "\n".join(lines)


COMPILED = ("kiosk", "screens", "devices", "tests/support", "tests/e2e", "bench")


def precompile() -> None:
    """The kiosk's bytecode written beforehand, as on an installed kiosk (`kiosk install` and `kiosk upgrade`
    lay down a release whose code the service cannot write: ProtectSystem=strict). Without it a shell with
    PYTHONDONTWRITEBYTECODE=1, or a read-only code directory, compiles every module of the kiosk at every start
    (about a second here), while the minimal app's Kivy comes precompiled in site-packages."""
    for part in COMPILED:
        compileall.compile_dir(str(ROOT / part), quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--taps", type=int, default=24)
    parser.add_argument("--only", choices=sorted(KIOSKS), action="append",
                        help="measure only this kiosk (repeatable; default: run and demo)")
    parser.add_argument("--size", action="append", help="WIDTHxHEIGHT (repeatable; default: 1280x800 and 1080x1920)")
    args = parser.parse_args()
    kiosks = args.only or ["run", "demo"]
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.size] if args.size else list(SIZES)
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    precompile()
    for size in sizes:
        where = tmp / f"{size[0]}x{size[1]}"
        where.mkdir()
        with Xvfb(size=size) as x:  # a screen of the window's size: every window opens at its origin
            measured = {name: run_one(name, x.display, where, args.idle, args.taps, size)  # type: ignore[arg-type]
                        for name in ["minimal", *kiosks]}
        print(f"## Window {size[0]}x{size[1]}\n")
        for name in kiosks:
            print(table(name, measured[name], measured["minimal"], args.idle) + "\n", flush=True)
    print(f"{args.taps} taps each; Xvfb at each window's size, software GL (llvmpipe); {os.cpu_count()} CPUs shared "
          f"with other work (load average {' '.join(f'{v:.1f}' for v in os.getloadavg())} at the end); bytecode "
          "precompiled. The minimal app has no runtime: its 'ready' and 'usable' are its first frame.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
