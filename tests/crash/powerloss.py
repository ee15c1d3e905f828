"""Power loss: the SQLite database, its WAL and its shared-memory index copied at random moments while a kiosk
pays, as they are on disk, without the writer knowing; each copy must open as a sound database in which the
ledger's rules hold.

A copy is what a power cut leaves if it lands at that moment: every byte written so far, nothing after. The
files are copied main file first, then the WAL, then the index, each as it is then (the WAL's checksummed
frames tell SQLite which transactions are complete, so a frame torn by the copy counts as not written; the index
is rebuilt from the WAL when the copy is opened). Three files read one after the other are one moment only if
the main file did not change meanwhile: a checkpoint writing into it between the two reads would give a main
file from after and a WAL from before, which no power cut can leave on a disk. So the main file is read again
after the WAL, and a copy it changed under is taken again (`retaken` counts them).
"""
from __future__ import annotations

import random
import shutil
import sqlite3
import threading
from pathlib import Path

from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work

SUFFIXES = ("", "-wal", "-shm")


class Copier(threading.Thread):
    """Copies `db_path` (and its -wal and -shm) into out_dir/copy-NNN every 0..max_gap_s seconds until stopped."""

    def __init__(self, db_path: Path, out_dir: Path, rng: random.Random, max_gap_s: float = 0.02) -> None:
        super().__init__(name="power-loss-copier", daemon=True)
        self.db_path = db_path
        self.out_dir = out_dir
        self.rng = rng
        self.max_gap_s = max_gap_s
        self.copies: list[Path] = []
        self.retaken = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.rng.uniform(0, self.max_gap_s)):
            self.copy_once()

    def stop(self) -> list[Path]:
        self._halt.set()
        self.join(10)
        return self.copies

    def copy_once(self) -> Path:
        target = self.out_dir / f"copy-{len(self.copies):04d}"
        target.mkdir(parents=True)
        for _attempt in range(50):
            for suffix in SUFFIXES:
                try:
                    shutil.copyfile(f"{self.db_path}{suffix}", target / f"{self.db_path.name}{suffix}")
                except FileNotFoundError:
                    (target / f"{self.db_path.name}{suffix}").unlink(missing_ok=True)  # none at that moment
            if (target / self.db_path.name).read_bytes() == self.db_path.read_bytes():
                break
            self.retaken += 1
        self.copies.append(target)
        return target


def check_copy(copy_dir: Path, audit_key: bytes, name: str = "kiosk.sqlite3") -> list[str]:
    """SQLite's own integrity check, then the ledger's rules and the audit chain (with the estate's audit key),
    on one copy."""
    from tests.crash.invariants import ledger_findings

    path = copy_dir / name
    conn = sqlite3.connect(str(path))
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    finally:
        conn.close()
    if result != ["ok"]:
        return [f"{copy_dir.name}: integrity_check says {result[:5]}"]
    engine = make_engine(f"sqlite:///{path}")
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            found = ledger_findings(s, audit_key)
    finally:
        engine.dispose()
    return [f"{copy_dir.name}: {f}" for f in found]
