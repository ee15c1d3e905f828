"""Unplugging simulated devices for real: a stable by-id link that follows a pty, and simulators in their own
processes that can be SIGKILLed under an open port (the kernel then closes their pty master)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path


class ByIdLink:
    """A stable name for a port that comes and goes, as udev keeps /dev/serial/by-id/...: a symlink to the
    simulator's current pty, removed while the device is unplugged, pointed at the new pty when it is back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def __str__(self) -> str:
        return str(self.path)

    def point_at(self, target: str) -> None:
        tmp = self.path.with_name(self.path.name + ".new")
        os.symlink(os.path.realpath(target), tmp)
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class SimProcess:
    """`python -m kiosk sim KIND ARGS...` from the working tree; its first line is the port it serves.

    `pty` is the real /dev/pts/N behind that line. `kill()` is SIGKILL: the process gets no chance to
    close anything, exactly like a USB-serial adapter pulled out under an open port."""

    def __init__(self, kind: str, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", kind, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.proc.stdout is not None
        self.first_line = self.proc.stdout.readline().strip()
        if not self.first_line:
            self.kill()
            raise RuntimeError(f"kiosk sim {kind} printed nothing (exit {self.proc.returncode})")
        self.pty = os.path.realpath(self.first_line)

    def command(self, line: str) -> str:
        """Send one stdin command and return the simulator's one-line answer."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        folder = os.path.dirname(self.first_line)
        if os.path.basename(folder).startswith("kiosk-sim-"):
            # `kiosk sim reader` keeps its own stable link in a private folder; SIGKILL left it behind.
            shutil.rmtree(folder, ignore_errors=True)
