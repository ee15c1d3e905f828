"""Staff repair of a flagged card on the reader: what the card says next to what the ledger says, and the card
rewritten from the ledger (record, value = ledger balance, counter past anything seen), recorded before the
card is touched and finished only after a verified read-back.

The rewrite is absolute (no increment or decrement), so running it again for the same recorded repair - the
card pulled half way, a retry, the next staff repair - ends in the same card and never changes a value twice.
A card whose sectors do not open with this site's writing key B cannot be rewritten: CardForeignKeys.
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.cards import reconcile
from kiosk.cards.application import CardApplication, trailer_block
from kiosk.cards.layout import (COUNTER_BLOCK, COUNTER_SECTOR, HOUSEHOLD_BLOCK, MAX_COUNTER, RECORD_BLOCK,
                                RECORD_SECTOR, VALUE_BLOCK, CardFormatError, CardRecord, compute_mac, decode_card,
                                decode_counter_block, decode_record, encode_counter_block, encode_record)
from kiosk.cards.station import CardStation
from kiosk.cards.value_block import ValueBlockError, decode_value_block, encode_value_block
from kiosk.errors import (AlreadyDone, BusinessRuleError, CardAuthFailed, CardForeignKeys, CardTampered, CardUnknown,
                          CardWriteUnsupported)
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.ports import CardReader, KeyType, Tag
from kiosk.services import card_repair
from kiosk.services.cards import CardFacts, normalize_uid


@dataclass(frozen=True)
class CardReading:
    """The kiosk's blocks of a card, decoded as far as they go (None: that part does not decode)."""

    record: CardRecord | None
    value_fen: int | None
    counter: int | None
    mac_ok: bool

    def holds(self, record: CardRecord, value_fen: int, counter: int) -> bool:
        return self.mac_ok and self.record == record and (self.value_fen, self.counter) == (value_fen, counter)


@dataclass(frozen=True)
class RepairCheck:
    """A tapped card as staff see it before a repair: the card's side and the ledger's side."""

    card_id: int
    uid_hex: str
    card_no: str
    kind: str
    status: str
    reading: CardReading
    record_matches: bool
    ledger_value_fen: int
    ledger_counter: int
    open_writes: int  # writes of the card left open (a repair resolves them as the ledger says)
    repair_pending: bool  # an earlier repair was cut short
    flag_reason: str

    @property
    def agrees(self) -> bool:
        r = self.reading
        return r.mac_ok and self.record_matches and (r.value_fen, r.counter) == (self.ledger_value_fen,
                                                                                 self.ledger_counter)

    @property
    def needs_repair(self) -> bool:
        return bool(self.flag_reason) or self.repair_pending or not self.agrees


@dataclass(frozen=True)
class RepairOutcome:
    uid_hex: str
    card_no: str
    old_value_fen: int
    old_counter: int
    value_fen: int  # = the ledger's balance
    counter: int
    flag_reason: str
    resolved_writes: int
    resumed: bool


# --- on the card ---------------------------------------------------------------------------------------
def _auth_b(app: CardApplication, reader: CardReader, tag: Tag, sector: int) -> None:
    try:
        reader.authenticate(trailer_block(sector), KeyType.B, app.keys.sector(tag.uid, sector).key_b)
    except CardAuthFailed as exc:
        raise CardForeignKeys(f"sector {sector} of {tag.uid.hex} does not open with this site's key B") from exc


def read_for_repair(app: CardApplication, reader: CardReader, tag: Tag) -> CardReading:
    """Blocks 4, 5, 6 and 8 read with the writing key B (which proves the card can be rewritten), decoded as
    far as they go. Raises CardForeignKeys, CardRemoved."""
    if not reader.can_write:
        raise CardWriteUnsupported(f"reader {reader.name} identifies cards only")
    _auth_b(app, reader, tag, RECORD_SECTOR)
    head, house, value = (reader.read_block(b) for b in (RECORD_BLOCK, HOUSEHOLD_BLOCK, VALUE_BLOCK))
    _auth_b(app, reader, tag, COUNTER_SECTOR)
    counter_block = reader.read_block(COUNTER_BLOCK)
    try:
        image = decode_card(app.mac_key, tag.uid, head, house, value, counter_block)
        return CardReading(image.record, image.value_fen, image.counter, image.mac_ok)
    except CardFormatError:
        pass
    record: CardRecord | None = None
    value_fen: int | None = None
    try:
        record = decode_record(head, house)
    except CardFormatError:
        pass
    try:
        value_fen, address = decode_value_block(value)
        value_fen = value_fen if address == VALUE_BLOCK and value_fen >= 0 else None
    except ValueBlockError:
        pass
    return CardReading(record, value_fen, decode_counter_block(counter_block)[0], False)


def rewrite(app: CardApplication, reader: CardReader, tag: Tag, record: CardRecord, value_fen: int,
            counter: int) -> CardReading:
    """Write record, value and counter with a fresh MAC (key B), then read the card back with the reading key as
    every tap does. A card already holding exactly that is left alone."""
    current = read_for_repair(app, reader, tag)
    if current.holds(record, value_fen, counter):
        return current
    head, house = encode_record(record)
    mac = compute_mac(app.mac_key, tag.uid, head, house, value_fen, counter)
    _auth_b(app, reader, tag, RECORD_SECTOR)
    reader.write_block(RECORD_BLOCK, head)
    reader.write_block(HOUSEHOLD_BLOCK, house)
    reader.write_block(VALUE_BLOCK, encode_value_block(value_fen, VALUE_BLOCK))
    _auth_b(app, reader, tag, COUNTER_SECTOR)
    reader.write_block(COUNTER_BLOCK, encode_counter_block(counter, mac))
    try:
        image = app.inspect(reader, tag)
    except CardUnknown as exc:  # key B opens it but key A does not: taps would still be refused
        raise CardForeignKeys(f"{tag.uid.hex}: the reading key no longer opens the card") from exc
    after = CardReading(image.record, image.value_fen, image.counter, image.mac_ok)
    if not after.holds(record, value_fen, counter):
        raise CardTampered(f"read-back after the repair shows value {image.value_fen}, counter {image.counter}")
    return after


# --- the desk ---------------------------------------------------------------------------------------------
class CardRepairDesk:
    """`check(uid)` and `repair(uid, actor, control)` over a CardStation's reader worker and database."""

    def __init__(self, station: CardStation) -> None:
        self.station = station

    @property
    def factory(self):  # type: ignore[no-untyped-def]
        return self.station.factory

    def _require_writer(self) -> None:
        if not self.station.can_write:
            raise CardWriteUnsupported(f"reader {self.station.supervisor.name} identifies cards only")

    def _read(self, facts: CardFacts) -> CardReading:
        st = self.station
        return st._device(lambda r: read_for_repair(st.app, r, st._select(r, facts.uid_hex)))

    def check(self, uid_hex: str) -> RepairCheck:
        """Refuses unknown, lost and replaced cards (from the ledger, before the card is read) and cards whose
        keys are not this site's; otherwise reads the card and the ledger. Nothing is written."""
        facts = reconcile.tapped_card(self.factory, normalize_uid(uid_hex))
        self._require_writer()
        reading = self._read(facts)
        return self._check(facts, reading)

    def _check(self, facts: CardFacts, reading: CardReading) -> RepairCheck:
        state = reconcile.ledger_state(self.factory, facts.card_id)
        with unit_of_work(self.factory) as s:
            reason = card_repair.flag_reason(s, facts.card_id)
            repair_pending = card_repair.pending_repair(s, facts.card_id) is not None
        others = sum(1 for w in state.pending if w.kind != card_repair.REPAIR)
        return RepairCheck(facts.card_id, facts.uid_hex, facts.card_no, facts.kind, facts.status, reading,
                           reading.record == reconcile.card_record(facts), state.value_fen, state.counter, others,
                           repair_pending, reason)

    def repair(self, uid_hex: str, actor: str, control: PaymentControl | None = None) -> RepairOutcome:
        """Rewrite the card from the ledger. Open writes are first resolved as the ledger says (no card is
        trusted); the repair is recorded, the card rewritten and read back, then the repair is finished (flag
        cleared, audited). A card pulled and not put back: CardWritePending, the repair stays pending and the
        next repair of this card finishes it. A card that needs no repair: AlreadyDone."""
        facts = reconcile.tapped_card(self.factory, normalize_uid(uid_hex))
        self._require_writer()
        check = self._check(facts, self._read(facts))
        if not check.needs_repair:
            raise AlreadyDone(f"card {facts.card_no} agrees with the ledger")
        resolved = self._resolve_by_ledger(facts, actor)
        state = reconcile.ledger_state(self.factory, facts.card_id)
        reading = check.reading
        with unit_of_work(self.factory) as s:
            rec = card_repair.record_repair(s, facts.card_id, card_value_fen=reading.value_fen,
                                            card_counter=reading.counter, ledger_counter=state.counter,
                                            max_counter=MAX_COUNTER, actor=actor)
        record = reconcile.card_record(facts)
        st = self.station
        st._on_card(facts.uid_hex, lambda r, tag: rewrite(st.app, r, tag, record, rec.new_value_fen, rec.new_counter),
                    control, f"card operation {rec.operation_id}")
        with unit_of_work(self.factory) as s:
            reason = card_repair.finish_repair(s, rec.operation_id, actor=actor, card_value_fen=rec.old_value_fen,
                                               card_counter=rec.old_counter)
        return RepairOutcome(facts.uid_hex, facts.card_no, rec.old_value_fen, rec.old_counter, rec.new_value_fen,
                             rec.new_counter, reason or check.flag_reason, resolved, rec.resumed)

    def _resolve_by_ledger(self, facts: CardFacts, actor: str) -> int:
        """Every open write of the card (but a repair) brought to the goal the ledger gives it without the
        card's word: a settled payment is applied, an unsettled one undone (a top-up the household's credit
        still covers is settled, as at a tap); a verified card payment never settled is settled or given up."""
        st = self.station
        n = 0
        for ow in reconcile.open_writes(self.factory, facts.card_id):
            w = ow.write
            if w.kind == card_repair.REPAIR:
                continue
            goal = reconcile.goal_for(self.factory, ow, False)
            reconcile.finish(self.factory, st.till, ow, goal, card_counter=w.old_counter,
                             card_value_fen=w.old_value_fen, language=st.language, actor=actor)
            n += 1
        orphan = reconcile.orphaned_spend(self.factory, facts.card_id)
        if orphan is not None:
            goal = reconcile.goal_for(self.factory, orphan, True)
            try:
                reconcile.finish(self.factory, st.till, orphan, goal, card_counter=orphan.write.old_counter,
                                 card_value_fen=orphan.write.old_value_fen, language=st.language, actor=actor)
            except BusinessRuleError as exc:  # its settlement is refused now (bills paid otherwise): given up
                reconcile.give_up_payment(self.factory, st.till, orphan, exc.code)
            n += 1
        return n
