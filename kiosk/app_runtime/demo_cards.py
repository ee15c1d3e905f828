"""`kiosk demo`'s IC cards: a virtual MIFARE card for every card in the database, issued through the real
PN532 driver against the simulated reader with the value and counter the ledger expects, kept in
<data dir>/demo-cards.json so the next start loads them instead of issuing them again; and a staff badge for
every staff user with a staff card (only its UID is read: a factory-blank card, never issued)."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.cards import reconcile
from kiosk.cards.application import CardApplication
from kiosk.cards.layout import CardFormatError, decode_card
from kiosk.demo.estate import ensure_demo_staff_cards
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, StaffUser
from kiosk.ports import CardReader, CardUid
from kiosk.private_files import write_private_text
from kiosk.services import cards as card_service

log = logging.getLogger(__name__)
CARDS_FILE = "demo-cards.json"
KIOSK_BLOCKS = (4, 5, 6, 8)


def cards_path(data_dir: Path) -> Path:
    return Path(data_dir) / CARDS_FILE


def load_card_images(path: Path) -> dict[str, Any]:
    """uid hex -> VirtualMifareCard from the file; an unreadable file counts as empty (cards are re-issued)."""
    from devices.sim.mifare_card import VirtualMifareCard

    if not path.exists():
        return {}
    try:
        items = json.loads(path.read_text(encoding="utf-8"))["cards"]
        loaded = [VirtualMifareCard.from_json(obj) for obj in items]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s is unreadable (%s); the demo cards are issued again", path, exc)
        return {}
    return {c.uid.hex().upper(): c for c in loaded}


def save_card_images(path: Path, cards: dict[str, Any]) -> None:
    """Write every card image (atomically: a half-written file never replaces a good one)."""
    write_private_text(path, json.dumps({"cards": [c.to_json() for _uid, c in sorted(cards.items())]}, indent=1)
                       + "\n")  # 0600: the card images carry their MACs


def _matches_ledger(app: CardApplication, card: Any, facts: card_service.CardFacts, value: int, counter: int,
                    open_writes: bool) -> bool:
    """Offline check of a saved image: the kiosk's blocks decode, verify, and say what the ledger says
    (a card with a write still open is kept as it is: its next tap resolves the write)."""
    if open_writes:
        return True
    try:
        image = decode_card(app.mac_key, CardUid(card.uid), *(bytes(card.blocks[b]) for b in KIOSK_BLOCKS))
    except (CardFormatError, ValueError):
        return False
    return image.mac_ok and image.record == reconcile.card_record(facts) and image.state == (value, counter)


def provision_demo_cards(rt: Any, sims: Any) -> dict[str, Any]:
    """Make `sims.cards` (uid hex -> VirtualMifareCard) for every card in the database and return it.

    Saved images that still match the ledger are loaded; the others (and cards missing from the file) are
    issued through the real driver: the runtime's reader worker if it is already open, else a reader
    opened here on the simulator's path (call this before `start_runtime` for that). The simulator
    is unpaced while issuing. Images are saved now and again when the runtime stops."""
    from devices.sim.mifare_card import VirtualMifareCard

    started = time.monotonic()
    secrets = rt.settings.secrets
    app = CardApplication(bytes.fromhex(secrets.card_master_key), bytes.fromhex(secrets.card_mac_key))
    path = cards_path(rt.settings.data_dir)
    saved = load_card_images(path)
    out: dict[str, Any] = {}
    todo: list[tuple[card_service.CardFacts, int, int]] = []
    badges: list[str] = []
    with unit_of_work(rt.db.factory) as session:
        if ensure_demo_staff_cards(session):  # a demo database seeded before the staff had cards
            log.info("demo staff were given their staff cards")
        badges = [uid for uid in session.scalars(select(StaffUser.card_uid_hex).where(
            StaffUser.card_uid_hex.is_not(None)).order_by(StaffUser.id)) if uid and len(uid) in (8, 14)]
        for card in session.scalars(select(Card).order_by(Card.id)):
            if len(card.uid_hex) not in (8, 14):
                log.warning("card %s: a %d-byte UID cannot be simulated", card.card_no, len(card.uid_hex) // 2)
                continue
            facts = card_service.card_facts(session, card)
            state = card_service.ledger_card_state(session, card.id)
            image = saved.get(card.uid_hex)
            if image is not None and _matches_ledger(app, image, facts, state.value_fen, state.counter,
                                                     bool(state.pending)):
                out[card.uid_hex] = image
            else:
                todo.append((facts, state.value_fen, state.counter))
    if todo:
        for facts, _value, _counter in todo:
            out[facts.uid_hex] = VirtualMifareCard(bytes.fromhex(facts.uid_hex))
        _issue_all(rt, sims, app, todo, out)
    for uid in badges:  # a staff badge carries no card application: kept as saved, or factory-blank
        if uid not in out:
            out[uid] = saved.get(uid) or VirtualMifareCard(bytes.fromhex(uid))
    sims.cards = out
    save_card_images(path, out)
    rt.on_stop(lambda: save_card_images(path, out))
    log.info("demo cards: %d loaded, %d issued, %d staff cards in %.0f ms", len(out) - len(todo) - len(badges),
             len(todo), len(badges), (time.monotonic() - started) * 1000)
    return out


def _issue_all(rt: Any, sims: Any, app: CardApplication, todo: list[tuple[card_service.CardFacts, int, int]],
               cards: dict[str, Any]) -> None:
    sim = sims.reader
    paced, sim.pace = sim.pace, False
    previous = sim.remove()

    def issue(reader: CardReader) -> None:
        for facts, value, counter in todo:
            sim.present(cards[facts.uid_hex])
            tag = reader.poll(2.0)
            if tag is None or tag.uid.hex != facts.uid_hex:
                raise RuntimeError(f"the simulated reader did not select card {facts.uid_hex}")
            app.issue(reader, tag, reconcile.card_record(facts), value, counter=counter)
            sim.remove()

    try:
        supervisor = rt.supervisors.get("reader")
        if supervisor is not None and supervisor.available:
            supervisor.submit(issue).result(timeout=30)
        else:
            from devices.card_reader.pn532_reader import Pn532CardReader

            reader = Pn532CardReader(sim.path)
            reader.open()
            try:
                issue(reader)
            finally:
                reader.close()
    finally:
        sim.pace = paced
        if previous is not None:
            sim.present(previous)
