"""`python -m tests.fleet.journal_child URL JOURNAL NOTE_JSON MODE`: a kiosk process the test kills with SIGKILL.

MODE "journaled": the note is written to the kiosk's journal (fsynced), then the process waits to be killed (a
kill between the journal and the credit). MODE "credited": the note is journaled and credited in the database
(committed), then the process waits to be killed before it marks the note done (a kill between the credit and
its mark)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    url, journal_file, note_json, mode = sys.argv[1:5]
    from kiosk.payments.offline_cash import CashJournal, OfflineNote, credit_note
    from kiosk.persistence.db import make_engine
    from kiosk.services.receipts import Till
    from tests.support.chain_key import bound_factory

    note = OfflineNote(**json.loads(note_json))
    till = Till(**json.loads(sys.argv[5]))
    journal = CashJournal(Path(journal_file))
    journal.append(note)
    if mode == "credited":
        credit_note(bound_factory(make_engine(url)), till, note)
    print(mode.upper(), flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
