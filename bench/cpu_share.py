"""Where the machine's CPU went during a bench's measured window (Linux /proc): the PostgreSQL server (the process
tree of the postmaster listening on a port), the processes that report their own CPU (the kiosks), this process
(the proxy and the watchers run in it), everything else, and idle; each as a share of all the machine's cores.

A backend that ends inside the window loses at most one sampling interval of its CPU (its last ticks are read every
`interval` seconds while it lives)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, command name, CPU ticks) of a live process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), comm, int(fields[11]) + int(fields[12])  # ppid, utime + stime


def _processes() -> dict[int, tuple[int, str, int]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            found[int(entry)] = stat
    return found


def _listens_on(postmaster: int, port: int) -> bool:
    """The postmaster's data directory (its working directory) names its port on postmaster.pid's fourth line."""
    try:
        lines = Path(f"/proc/{postmaster}/cwd/postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) > 3 and lines[3].strip() == str(port)


def server_tree(port: int, procs: dict[int, tuple[int, str, int]]) -> set[int]:
    """The pids of the PostgreSQL server listening on `port`: its postmaster and every process below it."""
    roots = {pid for pid, (ppid, comm, _t) in procs.items()
             if comm == "postgres" and procs.get(ppid, (0, "", 0))[1] != "postgres" and _listens_on(pid, port)}
    tree, grew = set(roots), True
    while grew:
        below = {pid for pid, (ppid, _c, _t) in procs.items() if ppid in tree} - tree
        tree |= below
        grew = bool(below)
    return tree


def _machine_ticks() -> tuple[int, int]:
    """(idle ticks, all ticks) of every core since boot (/proc/stat's first line)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values[:8])  # idle + iowait; user .. steal


class CpuWindow:
    """`start()` at the window's start, `stop()` at its end; then `shares(reported_s)` with the CPU seconds the
    reporting processes (the kiosks) used inside the window."""

    def __init__(self, port: int | None, interval: float = 0.25) -> None:
        self.port, self.interval = port, interval
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._machine0, self._self0 = _machine_ticks(), time.process_time()
        self._sample(first=True)
        self._thread = threading.Thread(target=self._run, name="cpu-share", daemon=True)
        self._thread.start()

    def _sample(self, first: bool = False) -> None:
        if self.port is None:
            return
        procs = _processes()
        for pid in server_tree(self.port, procs):
            ticks = procs[pid][2]
            self._first.setdefault(pid, ticks if first else 0)  # a backend started in the window: all of it
            self._last[pid] = ticks

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self._machine1, self._self1 = _machine_ticks(), time.process_time()

    def shares(self, reported_s: float) -> dict[str, float]:
        """Percent of the machine's capacity over the window: server, kiosks, bench (this process), other, idle."""
        idle = self._machine1[0] - self._machine0[0]
        total = max(self._machine1[1] - self._machine0[1], 1)
        server = sum(self._last[pid] - self._first[pid] for pid in self._last) / CLK_TCK
        bench = self._self1 - self._self0
        capacity = total / CLK_TCK
        out = {"server": server, "kiosks": reported_s, "bench": bench}
        busy = (total - idle) / CLK_TCK
        out["other"] = max(0.0, busy - server - reported_s - bench)
        out["idle"] = idle / CLK_TCK
        return {name: 100.0 * seconds / capacity for name, seconds in out.items()}


def line(shares: dict[str, float]) -> str:
    return ("cpu (share of all {n} cores over the window): server {server:.0f} %, kiosks {kiosks:.0f} %, proxy and "
            "watchers {bench:.0f} %, other {other:.0f} %, idle {idle:.0f} %").format(n=os.cpu_count(), **shares)
