"""CardApplication through the real PN532 driver and the simulator: issue, verified reads, writes cut short."""
from __future__ import annotations

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk.cards import CardApplication, CardImage, CardKind, CardRecord, WriteState, check_against_ledger
from kiosk.cards.keys import TRANSPORT_KEY
from kiosk.cards.layout import COUNTER_BLOCK, VALUE_BLOCK
from kiosk.errors import (
    CardRemoved,
    CardRolledBack,
    CardTampered,
    CardUnknown,
    CardWriteUnsupported,
    InvalidAmount,
)
from kiosk.ports import KeyType, Tag
from tests.cards.conftest import MAC_KEY, MASTER, UID4, UID7

RECORD = CardRecord(31000012, CardKind.RESIDENT, "3-2-1502", 1)


@pytest.fixture
def card() -> VirtualMifareCard:
    return VirtualMifareCard(UID4)


@pytest.fixture
def tag(sim: SimPn532, reader: Pn532CardReader, card: VirtualMifareCard) -> Tag:
    sim.present(card)
    t = reader.poll(1.0)
    assert t is not None
    return t


@pytest.fixture
def issued(app: CardApplication, reader: Pn532CardReader, tag: Tag) -> CardImage:
    return app.issue(reader, tag, RECORD)


def test_issue_formats_a_blank_card(app: CardApplication, issued: CardImage, card: VirtualMifareCard) -> None:
    assert issued.mac_ok and issued.record == RECORD and issued.state == (0, 0)
    for sector in (1, 2):
        trailer = bytes(card.blocks[sector * 4 + 3])
        assert trailer[0:6] != TRANSPORT_KEY and trailer[10:16] != TRANSPORT_KEY  # no factory key left
    assert bytes(card.blocks[7][6:9]) == bytes.fromhex("38778C")


def test_issue_works_on_a_7_byte_uid_card(app: CardApplication, sim: SimPn532, reader: Pn532CardReader) -> None:
    sim.present(VirtualMifareCard(UID7, atqa=0x0044))
    tag = reader.poll(1.0)
    assert tag is not None
    assert app.issue(reader, tag, RECORD, value_fen=2500).state == (2500, 0)
    assert app.read(reader, tag).value_fen == 2500


def test_read_verifies_an_issued_card(app: CardApplication, reader: Pn532CardReader, tag: Tag,
                                      issued: CardImage) -> None:
    assert app.read(reader, tag) == issued


def test_another_sites_master_key_cannot_read_the_card(reader: Pn532CardReader, tag: Tag, issued: CardImage) -> None:
    other = CardApplication(bytes(16), MAC_KEY)
    with pytest.raises(CardUnknown):
        other.read(reader, tag)


def test_wrong_mac_key_reports_tampering(reader: Pn532CardReader, tag: Tag, issued: CardImage) -> None:
    other = CardApplication(MASTER, bytes(32))
    with pytest.raises(CardTampered):
        other.read(reader, tag)


def test_blank_card_is_unknown(app: CardApplication, reader: Pn532CardReader, tag: Tag) -> None:
    with pytest.raises(CardUnknown):
        app.read(reader, tag)


def test_top_up_and_spend_write_value_counter_and_mac(app: CardApplication, reader: Pn532CardReader, tag: Tag,
                                                      issued: CardImage) -> None:
    after = app.write_value(reader, tag, issued, 10000)
    assert after.state == (10000, 1) and after.mac_ok
    spent = app.write_value(reader, tag, after, 7550)
    assert spent.state == (7550, 2)
    assert app.read(reader, tag) == spent


def test_write_value_refuses_negative_or_float_amounts(app: CardApplication, reader: Pn532CardReader, tag: Tag,
                                                       issued: CardImage) -> None:
    for bad in (-1, 1.5, 2 ** 31):
        with pytest.raises(InvalidAmount):
            app.write_value(reader, tag, issued, bad)  # type: ignore[arg-type]


def test_retrying_a_write_never_applies_it_twice(app: CardApplication, reader: Pn532CardReader, tag: Tag,
                                                 issued: CardImage) -> None:
    first = app.write_value(reader, tag, issued, 5000)
    again = app.write_value(reader, tag, issued, 5000)
    assert again == first and again.state == (5000, 1)


def test_edited_value_block_is_tampering(app: CardApplication, reader: Pn532CardReader, tag: Tag,
                                         issued: CardImage, card: VirtualMifareCard) -> None:
    # An attacker who cracked key B writes a consistent value block with more money.
    card.blocks[VALUE_BLOCK][:] = bytes.fromhex("10270000" "EFD8FFFF" "10270000" "06F906F9")
    with pytest.raises(CardTampered):
        app.read(reader, reader.poll(1.0))  # type: ignore[arg-type]


def test_value_block_with_disagreeing_copies_is_tampering(app: CardApplication, reader: Pn532CardReader,
                                                          tag: Tag, issued: CardImage,
                                                          card: VirtualMifareCard) -> None:
    card.blocks[VALUE_BLOCK][8] ^= 0x01
    with pytest.raises(CardTampered, match="value"):
        app.read(reader, reader.poll(1.0))  # type: ignore[arg-type]


def test_card_restored_to_an_older_dump_is_rolled_back(app: CardApplication, reader: Pn532CardReader, tag: Tag,
                                                       issued: CardImage, card: VirtualMifareCard) -> None:
    rich = app.write_value(reader, tag, issued, 9000)
    dump = [bytes(b) for b in card.blocks]
    poorer = app.write_value(reader, tag, rich, 1000)
    for i, b in enumerate(dump):  # the attacker writes the old dump back
        card.blocks[i][:] = b
    again = app.read(reader, reader.poll(1.0))  # type: ignore[arg-type]
    assert again.mac_ok  # a faithful old dump verifies on its own...
    with pytest.raises(CardRolledBack):  # ...but the ledger knows better
        check_against_ledger(again, poorer.counter, poorer.value_fen)
    with pytest.raises(CardRolledBack):
        app.write_value(reader, reader.poll(1.0), poorer, 500)  # type: ignore[arg-type]


def test_ledger_check_accepts_the_matching_card_and_refuses_others(issued: CardImage) -> None:
    check_against_ledger(issued, 0, 0)
    with pytest.raises(CardTampered):
        check_against_ledger(issued, 0, 100)
    with pytest.raises(CardTampered):
        check_against_ledger(issued, -1, 0)


# --- both sides of every write -------------------------------------------------------------------------
# write_value's card operations, in order: 1 auth sector 1 (B), 2-4 read blocks 4, 5, 6, 5 auth sector 2 (B),
# 6 read block 8, 7 write block 8 (MAC), 8 read it back, 9 auth sector 1 (B), 10 increment/decrement,
# 11 transfer, 12 read block 6 back. remove_card_after_ops(k) pulls the card right after operation k.
STEP_STATES = [(k, WriteState.NOT_APPLIED) for k in range(1, 7)] + \
              [(k, WriteState.TORN) for k in range(7, 11)] + [(11, WriteState.APPLIED)]


@pytest.mark.parametrize("step, state", STEP_STATES)
def test_top_up_survives_card_removed_at_every_step(app: CardApplication, sim: SimPn532, reader: Pn532CardReader,
                                                    tag: Tag, issued: CardImage, card: VirtualMifareCard,
                                                    step: int, state: WriteState) -> None:
    sim.remove_card_after_ops(step)
    with pytest.raises(CardRemoved):
        app.write_value(reader, tag, issued, 5000)
    sim.present(card)
    again = reader.poll(1.0)
    assert again is not None
    found, _ = app.probe_write(reader, again, issued, 5000)
    assert found is state
    # Re-applying completes it exactly once, whatever the card held.
    done = app.write_value(reader, again, issued, 5000)
    assert done.state == (5000, 1)
    assert app.read(reader, again).state == (5000, 1)


def test_a_write_that_completes_is_twelve_card_operations(app: CardApplication, sim: SimPn532,
                                                          reader: Pn532CardReader, tag: Tag, issued: CardImage,
                                                          card: VirtualMifareCard) -> None:
    sim.remove_card_after_ops(12)  # the card leaves only after the final read-back
    assert app.write_value(reader, tag, issued, 5000).state == (5000, 1)
    assert sim.card is None


@pytest.mark.parametrize("step, state, result", [(6, WriteState.NOT_APPLIED, (8000, 1)),
                                                 (7, WriteState.TORN, (8000, 3)),
                                                 (10, WriteState.TORN, (8000, 3)),
                                                 (11, WriteState.APPLIED, (3000, 2))])
def test_spend_cut_short_can_be_cancelled_without_losing_value(app: CardApplication, sim: SimPn532,
                                                               reader: Pn532CardReader, tag: Tag,
                                                               issued: CardImage, card: VirtualMifareCard,
                                                               step: int, state: WriteState,
                                                               result: tuple[int, int]) -> None:
    funded = app.write_value(reader, tag, issued, 8000)
    sim.remove_card_after_ops(step)
    with pytest.raises(CardRemoved):
        app.write_value(reader, tag, funded, 3000)
    sim.present(card)
    again = reader.poll(1.0)
    assert again is not None
    found, after = app.cancel_write(reader, again, funded, 3000)
    assert found is state
    assert after.mac_ok and after.state == result
    assert app.read(reader, again) == after


def test_a_cancel_cut_short_can_be_cancelled_again(app: CardApplication, sim: SimPn532, reader: Pn532CardReader,
                                                   tag: Tag, issued: CardImage, card: VirtualMifareCard) -> None:
    funded = app.write_value(reader, tag, issued, 8000)
    sim.remove_card_after_ops(8)  # TORN: MAC of the spend written
    with pytest.raises(CardRemoved):
        app.write_value(reader, tag, funded, 3000)
    sim.present(card)
    sim.remove_card_after_ops(5)  # the cancel is pulled before it writes anything
    with pytest.raises(CardRemoved):
        app.cancel_write(reader, reader.poll(1.0), funded, 3000)  # type: ignore[arg-type]
    sim.present(card)
    state, after = app.cancel_write(reader, reader.poll(1.0), funded, 3000)  # type: ignore[arg-type]
    assert state is WriteState.TORN and after.state == (8000, 3)


def test_torn_card_reads_as_tampered_until_resolved(app: CardApplication, sim: SimPn532, reader: Pn532CardReader,
                                                    tag: Tag, issued: CardImage, card: VirtualMifareCard) -> None:
    sim.remove_card_after_auth(skip=2)  # after the third authentication: MAC written, value not
    with pytest.raises(CardRemoved):
        app.write_value(reader, tag, issued, 5000)
    sim.present(card)
    again = reader.poll(1.0)
    assert again is not None
    with pytest.raises(CardTampered):
        app.read(reader, again)
    assert bytes(card.blocks[COUNTER_BLOCK][:4]) == (1).to_bytes(4, "big")


def test_interrupted_issuance_is_finished_by_issuing_again(app: CardApplication, sim: SimPn532,
                                                           reader: Pn532CardReader, tag: Tag,
                                                           card: VirtualMifareCard) -> None:
    sim.remove_card_after_auth(1)  # sector 1 done, card pulled while sector 2 is written
    with pytest.raises(CardRemoved):
        app.issue(reader, tag, RECORD)
    sim.present(card)
    again = reader.poll(1.0)
    assert again is not None
    assert app.issue(reader, again, RECORD).state == (0, 0)


def test_reformat_gives_the_factory_keys_back(app: CardApplication, reader: Pn532CardReader, tag: Tag,
                                              issued: CardImage, card: VirtualMifareCard) -> None:
    app.reformat(reader, tag)
    for sector in (1, 2):
        assert bytes(card.blocks[sector * 4 + 3]) == TRANSPORT_KEY + bytes.fromhex("FF078069") + TRANSPORT_KEY
    reader.poll(1.0)
    reader.authenticate(4, KeyType.A, TRANSPORT_KEY)
    assert reader.read_block(6) == bytes(16)


def test_identification_only_reader_cannot_issue_or_write(app: CardApplication) -> None:
    from devices.card_reader.uid_line_reader import UidLineCardReader
    from kiosk.ports import CardUid
    r = UidLineCardReader("loop://")
    t = Tag(CardUid(UID4))
    with pytest.raises(CardWriteUnsupported):
        app.issue(r, t, RECORD)


def test_the_kiosk_uses_key_b_to_add_value_because_key_a_cannot(app: CardApplication, reader: Pn532CardReader,
                                                                 tag: Tag, issued: CardImage) -> None:
    from kiosk.errors import CardAuthFailed
    keys = app.keys.sector(tag.uid, 1)
    reader.authenticate(7, KeyType.A, keys.key_a)
    with pytest.raises(CardAuthFailed):
        reader.increment(VALUE_BLOCK, 100)


def test_top_ups_and_spends_pulled_at_random_steps_are_never_applied_twice_or_lost(
        app: CardApplication, sim: SimPn532, reader: Pn532CardReader, tag: Tag, issued: CardImage,
        card: VirtualMifareCard) -> None:
    import random
    rng = random.Random(20261128)
    ledger = issued  # what the kiosk's ledger believes the card holds
    for _ in range(25):
        new_value = max(0, ledger.value_fen + rng.choice([-1, 1]) * rng.randint(1, 5000))
        attempts = 0
        while True:  # the intent stays open until the card holds it; each retry is a new tap
            attempts += 1
            if attempts < 4 and rng.random() < 0.7:
                sim.remove_card_after_ops(rng.randint(1, 12))
            try:
                ledger = app.write_value(reader, tag, ledger, new_value)
                break
            except CardRemoved:
                sim.present(card)
                again = reader.poll(1.0)
                assert again is not None
                tag = again
        sim.clear_faults()  # an unused pull-out must not leak into the next intent
        assert ledger.state == (new_value, ledger.counter)
    final = app.read(reader, reader.poll(1.0))  # type: ignore[arg-type]
    assert final == ledger
    assert final.counter == 25  # exactly one counter step per intent, however often it was retried
