"""Banknotes stacked while the estate database was gone: journaled on the kiosk, credited once when it is back.

When the unit of work that records a stacked note fails because the database does not answer, the note is
already in the cash box. `CashJournal.append` writes it to `<data dir>/offline-cash.jsonl` (0600), one JSON line,
flushed and fsynced (and the directory fsynced when the file is new) before the resident is told. When the
database answers again `credit_journaled_notes` credits each note not yet credited to the household of the
payment it came in for (`payments.record_cash_in` on that payment while it is still an intent, else as the
household's account credit with the same counter), then appends a `done` line.

Exactly once: the credit and the validator's event counter are one transaction; before crediting, the kiosk
looks for a cash event of this kiosk with the same counter, value and payment recorded since the note was
journaled (the counter-based recovery, `CashCollector.recover`, may have credited it first; a kill between the
commit and the `done` line leaves exactly that row). So a kill anywhere (before the journal line: the validator's
own event buffer still has the note; between the line and the credit; between the credit and `done`) credits it
once.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.terms import AccountKind, EntryKind, PaymentStatus
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import CashEventRecord, Payment
from kiosk.services import audit, ledger, payments
from kiosk.services.receipts import Till

log = logging.getLogger(__name__)
FILE_NAME = "offline-cash.jsonl"
SAME_NOTE_WINDOW = timedelta(hours=1)  # a counter seen again later than this is another note (ccTalk wraps at 255)


@dataclass(frozen=True)
class OfflineNote:
    note_id: str  # "<kiosk>:<payment reference>:<counter>": the note's event, the idempotency key of its credit
    kiosk_code: str
    payment_id: int
    payment_reference: str
    household_id: int
    counter: int
    value_fen: int
    journaled_at: str  # ISO UTC


def journal_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


class CashJournal:
    """An append-only, fsynced list of notes waiting for the database; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _append_line(self, record: dict[str, object]) -> None:
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        with self._lock:
            new = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:  # the file's name must survive a power cut too
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)

    def append(self, note: OfflineNote) -> None:
        self._append_line({"note": asdict(note)})
        log.error("banknote %s (%d fen) journaled on the kiosk: the database does not answer", note.note_id,
                  note.value_fen)

    def mark_credited(self, note_id: str) -> None:
        self._append_line({"done": note_id})

    def pending(self) -> list[OfflineNote]:
        """Notes journaled and not yet marked credited, oldest first. A torn last line (power cut while writing
        it, before the fsync returned, so nobody was told) is ignored."""
        if not self.path.exists():
            return []
        notes: dict[str, OfflineNote] = {}
        done: set[str] = set()
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("%s: an unreadable line ignored (torn write)", self.path)
                continue
            if "note" in record:
                note = OfflineNote(**record["note"])
                notes[note.note_id] = note
            elif "done" in record:
                done.add(str(record["done"]))
        return [n for key, n in notes.items() if key not in done]


def new_note(till: Till, payment_id: int, reference: str, household_id: int, counter: int,
             value_fen: int) -> OfflineNote:
    return OfflineNote(f"{till.kiosk_code}:{reference}:{counter}", till.kiosk_code, int(payment_id), str(reference),
                       int(household_id), int(counter), int(value_fen), datetime.now(timezone.utc).isoformat())


def already_credited(session: Session, till: Till, note: OfflineNote) -> bool:
    since = datetime.fromisoformat(note.journaled_at) - SAME_NOTE_WINDOW
    found = session.scalar(select(CashEventRecord.id).where(
        CashEventRecord.kiosk_id == till.kiosk_id, CashEventRecord.counter == note.counter,
        CashEventRecord.value_fen == note.value_fen, CashEventRecord.kind.in_(("stacked", "unattributed")),
        CashEventRecord.at >= since).limit(1))
    return found is not None


def credit_note(factory: sessionmaker[Session], till: Till, note: OfflineNote) -> bool:
    """Credit one journaled note to its household, in one transaction with its counter; False when it already
    was (see the module doc)."""
    with unit_of_work(factory) as session:
        if already_credited(session, till, note):
            return False
        payment = session.get(Payment, note.payment_id)
        if payment is not None and payment.status == PaymentStatus.INTENT:
            payments.record_cash_in(session, till, payment, counter=note.counter, value_fen=note.value_fen)
        else:  # the payment was closed meanwhile: the note is the household's account credit all the same
            session.add(CashEventRecord(kiosk_id=till.kiosk_id, counter=note.counter, kind="stacked",
                                        value_fen=note.value_fen, payment_id=note.payment_id))
            box = ledger.account(session, AccountKind.CASH_BOX, kiosk_id=till.kiosk_id)
            credit = ledger.account(session, AccountKind.CREDIT, household_id=note.household_id)
            ledger.transfer(session, EntryKind.CASH_IN, box, credit, note.value_fen, payment_id=note.payment_id,
                            kiosk_id=till.kiosk_id, memo=f"note {note.counter}")
        audit.record(session, f"kiosk:{till.kiosk_code}", "cash.offline_credited", note.payment_reference,
                     counter=note.counter, value_fen=note.value_fen, note=note.note_id)
    return True


def credit_journaled_notes(factory: sessionmaker[Session], till: Till, journal: CashJournal) -> list[OfflineNote]:
    """Credit every pending note of this kiosk's journal; returns those credited now."""
    credited: list[OfflineNote] = []
    for note in journal.pending():
        if note.kiosk_code != till.kiosk_code:
            continue
        if credit_note(factory, till, note):
            credited.append(note)
        journal.mark_credited(note.note_id)
    if credited:
        log.warning("credited %d banknote(s) journaled while the database was gone: %s", len(credited),
                    ", ".join(n.note_id for n in credited))
    return credited
