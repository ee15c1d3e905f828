"""Proof that the simulator speaks real PN532: libnfc's own tools list and dump cards through it."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk.cards import CardApplication, CardKind, CardRecord

pytestmark = pytest.mark.libnfc

MASTER = bytes.fromhex("00112233445566778899AABBCCDDEEFF")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package libnfc-bin)")
    return path


@pytest.fixture
def sim() -> Iterator[SimPn532]:
    with SimPn532() as s:
        yield s


def _run(sim: SimPn532, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LIBNFC_DEVICE=f"pn532_uart:{sim.pty_path}", LIBNFC_LOG_LEVEL="1")
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=60)


def test_nfc_list_lists_the_presented_card(sim: SimPn532) -> None:
    tool = _tool("nfc-list")
    sim.present(VirtualMifareCard(bytes.fromhex("04A1B2C3")))
    out = _run(sim, tool)
    assert "1 ISO14443A passive target(s) found" in out.stdout, out.stdout + out.stderr
    assert "UID (NFCID1): 04  a1  b2  c3" in out.stdout
    assert "SAK (SEL_RES): 08" in out.stdout


def test_nfc_list_lists_a_7_byte_uid(sim: SimPn532) -> None:
    tool = _tool("nfc-list")
    sim.present(VirtualMifareCard(bytes.fromhex("04112233445566"), atqa=0x0044))
    out = _run(sim, tool)
    assert "UID (NFCID1): 04  11  22  33  44  55  66" in out.stdout, out.stdout + out.stderr


def test_nfc_list_with_an_empty_field_finds_nothing(sim: SimPn532) -> None:
    tool = _tool("nfc-list")
    out = _run(sim, tool)
    assert "NFC device: user defined device opened" in out.stdout, out.stdout + out.stderr
    assert "passive target(s) found" not in out.stdout


def test_nfc_mfclassic_dumps_an_issued_card_with_a_keys_file(sim: SimPn532, tmp_path: Path) -> None:
    tool = _tool("nfc-mfclassic")
    card = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
    sim.present(card)
    app = CardApplication(MASTER)
    reader = Pn532CardReader(sim.path)
    reader.open()
    try:
        tag = reader.poll(1.0)
        assert tag is not None
        app.issue(reader, tag, CardRecord(31000012, CardKind.SMART, "3-2-1502"), value_fen=12345)
    finally:
        reader.close()
    # Keys file: a 1K dump whose trailers carry key A (and key B) of every sector.
    keys = bytearray(1024)
    keys[0:16] = card.blocks[0]  # the tool checks the keys file belongs to this UID
    for sector in range(16):
        t = sector * 64 + 48
        if sector in (1, 2):
            sk = app.keys.sector(tag.uid, sector)
            keys[t:t + 6], keys[t + 10:t + 16] = sk.key_a, sk.key_b
        else:
            keys[t:t + 6] = keys[t + 10:t + 16] = b"\xff" * 6
    keys_file, dump_file = tmp_path / "keys.mfd", tmp_path / "dump.mfd"
    keys_file.write_bytes(bytes(keys))
    out = _run(sim, tool, "r", "a", "u", str(dump_file), str(keys_file))
    # nfc-mfclassic exits 0 even when it fails: judge it by what it printed and wrote.
    assert "Done, 64 of 64 blocks read." in out.stdout, out.stdout + out.stderr
    dump = dump_file.read_bytes()
    assert len(dump) == 1024
    for block in range(64):
        got, want = dump[block * 16:block * 16 + 16], bytes(card.blocks[block])
        if block % 4 == 3:
            assert got[6:10] == want[6:10], f"access bits of block {block}"
            assert got[0:6] == keys[block * 16:block * 16 + 6]  # the tool fills in the key it used
        else:
            assert got == want, f"block {block}"
    assert dump[6 * 16:6 * 16 + 4] == (12345).to_bytes(4, "little")


def test_nfc_mfclassic_without_the_keys_cannot_read_the_kiosk_sectors(sim: SimPn532, tmp_path: Path) -> None:
    tool = _tool("nfc-mfclassic")
    card = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
    sim.present(card)
    reader = Pn532CardReader(sim.path)
    reader.open()
    try:
        tag = reader.poll(1.0)
        assert tag is not None
        CardApplication(MASTER).issue(reader, tag, CardRecord(1, CardKind.RESIDENT, "A-1"))
    finally:
        reader.close()
    out = _run(sim, tool, "r", "a", "u", str(tmp_path / "dump.mfd"))
    assert "64 of 64 blocks read" not in out.stdout
    assert "authentication failed" in (out.stdout + out.stderr).lower() or "failed" in (out.stdout + out.stderr).lower()
