"""nfcpy, a second PN532 client written independently of ours (beside libnfc in tests/libnfc), against
`kiosk sim reader` over its pty: it senses the issued MIFARE Classic card, authenticates sector 1 with the card's
diversified keys A and B, reads the record and the value block, and writes the value block, all with nfcpy's own
framing, baud-rate switch and chipset commands. Our driver then opens the same chip after nfcpy has let it go."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

nfc = pytest.importorskip("nfc")  # the test dependency nfcpy (pyproject.toml [test])
from nfc.clf import RemoteTarget, pn532, transport  # noqa: E402
from nfc.clf.pn53x import Chipset  # noqa: E402

from devices.card_reader.pn532_reader import Pn532CardReader  # noqa: E402
from devices.sim.mifare_card import VirtualMifareCard  # noqa: E402
from devices.sim.pn532_sim import SimPn532  # noqa: E402
from kiosk.cards import CardApplication, CardKind, CardRecord  # noqa: E402
from kiosk.cards.keys import diversify_key  # noqa: E402
from kiosk.cards.value_block import decode_value_block, encode_value_block  # noqa: E402
from kiosk.ports import CardUid, KeyType  # noqa: E402
from tests.support.unplug import SimProcess  # noqa: E402

MASTER = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
UID = bytes.fromhex("04A1B2C3")
RECORD, HOUSE, VALUE, TRAILER = 4, 5, 6, 7  # sector 1 (docs/card-reader.md, "Card layout")
MIFARE_AUTH_A, MIFARE_AUTH_B, READ, WRITE, INCREMENT, TRANSFER = 0x60, 0x61, 0x30, 0xA0, 0xC1, 0xB0
AUTH_FAILED = 0x14  # PN532 status: MIFARE authentication error / the card refused the operation


def key(key_type: KeyType) -> bytes:
    return diversify_key(MASTER, CardUid(UID), 1, key_type)


@pytest.fixture(scope="module")
def card_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A card issued by the kiosk's own card application (value 123.45 yuan), saved as a simulator card file."""
    card = VirtualMifareCard(UID)
    with SimPn532() as sim:
        sim.present(card)
        reader = Pn532CardReader(sim.path)
        reader.open()
        try:
            tag = reader.poll(1.0)
            assert tag is not None
            CardApplication(MASTER).issue(reader, tag, CardRecord(31000012, CardKind.SMART, "3-2-1502"),
                                          value_fen=12345)
        finally:
            reader.close()
    path = tmp_path_factory.mktemp("nfcpy") / "cards.json"
    path.write_text(json.dumps({"cards": [card.to_json()]}))
    return path


@pytest.fixture
def sim(card_file: Path) -> Iterator[SimProcess]:
    process = SimProcess("reader", "--cards", str(card_file))
    yield process
    process.kill()


def open_nfcpy(port: str) -> nfc.ContactlessFrontend:
    """nfcpy's own tty + pn532 driver on `port`. Its search path "tty:NAME:pn532" only finds NAME directly under
    /dev (it lists /dev and matches [a-zA-Z0-9-]+), so a pty (/dev/pts/N) cannot be named that way; these are the
    two calls its `tty:` opener makes once it has found the device."""
    device = pn532.init(transport.TTY(port))
    clf = nfc.ContactlessFrontend()
    clf.device = device
    return clf


def exchange(clf: nfc.ContactlessFrontend, command: int, block: int, data: bytes = b"") -> bytes:
    """One MIFARE command through nfcpy's InDataExchange (the chip does the Crypto1)."""
    answer, _more = clf.device.chipset.in_data_exchange(bytes([command, block]) + data, 0.5)
    return bytes(answer)


def authenticate(clf: nfc.ContactlessFrontend, key_type: KeyType, block: int) -> None:
    command = MIFARE_AUTH_A if key_type is KeyType.A else MIFARE_AUTH_B
    exchange(clf, command, block, key(key_type) + UID)


def test_nfcpy_cannot_name_a_pty_in_its_tty_path() -> None:
    """Why open_nfcpy opens the port itself: nfcpy looks only at names directly under /dev."""
    assert transport.TTY.find("tty:pts/0:pn532") is None


def test_nfcpy_senses_the_card_after_switching_the_field_off(sim: SimProcess) -> None:
    clf = open_nfcpy(sim.pty)
    try:
        # nfcpy's init and every sense end with RFConfiguration "field off"; a PN532 switches the field on
        # for the next InListPassiveTarget (the simulator used to keep it off and report no card).
        for _ in range(2):
            target = clf.sense(RemoteTarget("106A"))
            assert target is not None, "no card found"
            assert bytes(target.sdd_res) == UID
            # MIFARE Classic 1K: SAK 08, ATQA 0004 (nfcpy keeps SENS_RES in air order, low byte first)
            assert bytes(target.sel_res) == b"\x08" and bytes(target.sens_res) == b"\x04\x00"
    finally:
        clf.close()


def test_nfcpy_reads_and_writes_the_value_block_with_the_diversified_keys(sim: SimProcess) -> None:
    clf = open_nfcpy(sim.pty)
    try:
        assert clf.sense(RemoteTarget("106A")) is not None
        authenticate(clf, KeyType.A, RECORD)  # the reading key
        assert exchange(clf, READ, RECORD)[:2] == b"EK"
        assert exchange(clf, READ, HOUSE).rstrip(b"\x00") == "3-2-1502".encode()
        assert decode_value_block(exchange(clf, READ, VALUE)) == (12345, VALUE)
        with pytest.raises(Chipset.Error) as refused:  # access bits: key A may not add value
            exchange(clf, INCREMENT, VALUE, (100).to_bytes(4, "little"))
        assert refused.value.errno == AUTH_FAILED

        assert clf.sense(RemoteTarget("106A")) is not None  # the card dropped to idle: select it again
        with pytest.raises(Chipset.Error) as wrong:
            exchange(clf, MIFARE_AUTH_B, VALUE, b"\xff" * 6 + UID)  # the factory key no longer opens it
        assert wrong.value.errno == AUTH_FAILED

        assert clf.sense(RemoteTarget("106A")) is not None
        authenticate(clf, KeyType.B, VALUE)  # the writing key
        exchange(clf, WRITE, VALUE, encode_value_block(20000, VALUE))
        exchange(clf, INCREMENT, VALUE, (500).to_bytes(4, "little"))
        exchange(clf, TRANSFER, VALUE)
        assert decode_value_block(exchange(clf, READ, VALUE)) == (20500, VALUE)
    finally:
        clf.close()  # nfcpy puts the chip back to 115200 baud and to sleep

    # The kiosk's driver wakes the same chip and sees what nfcpy wrote, and that it bypassed the MAC.
    reader = Pn532CardReader(sim.first_line)
    reader.open()
    try:
        tag = reader.poll(1.0)
        assert tag is not None and tag.uid.hex == UID.hex().upper()
        image = CardApplication(MASTER).inspect(reader, tag)
        assert image.value_fen == 20500 and not image.mac_ok  # the kiosk would refuse it as tampered
    finally:
        reader.close()
