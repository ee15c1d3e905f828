"""The simulated PN532's command set: what the chip answers to each command, with the card's on-air times."""
from __future__ import annotations

from typing import TYPE_CHECKING

from devices.sim.mifare_card import CardRefused

if TYPE_CHECKING:
    from devices.sim.pn532_sim import SimPn532

FIRMWARE = bytes([0x32, 0x01, 0x06, 0x07])  # PN532, v1.6, ISO14443A + B + ISO18092

# On-air times of a MIFARE Classic (NXP datasheet figures, rounded): seconds per operation.
AIR = {
    "select": 0.003,
    "auth": 0.003,
    "read": 0.0025,
    "write": 0.006,
    "value": 0.005,
    "transfer": 0.006,
    "halt": 0.001,
    "no-answer": 0.005,  # a frame the card does not answer: the chip waits out its timeout
}

STATUS_OK = 0x00
STATUS_TIMEOUT = 0x01
STATUS_MIFARE = 0x14
STATUS_WRONG_CONTEXT = 0x27
CIU_FIFO_DATA = 0x6339  # the CIU's FIFO: after a Type A search no card answered, it still holds the REQA sent
REQA = 0x26


class SimRegisters:
    """CIU/SFR registers: whatever the host writes it can read back (libnfc relies on that)."""

    def __init__(self) -> None:
        self.values: dict[int, int] = {}

    def read(self, addr: int) -> int:
        return self.values.get(addr, 0x00)

    def write(self, addr: int, value: int) -> None:
        self.values[addr] = value & 0xFF


def _target_info(card) -> bytes:  # type: ignore[no-untyped-def]
    return (bytes([0x01]) + card.atqa.to_bytes(2, "big") + bytes([card.sak, len(card.uid)]) + card.uid)


def execute(sim: SimPn532, cmd: int, p: bytes) -> None:
    handler = _HANDLERS.get(cmd)
    if handler is None:
        sim._syntax_error()
        return
    handler(sim, cmd, p)


def _simple(sim: SimPn532, cmd: int, p: bytes) -> None:
    sim._respond(cmd)


def _diagnose(sim: SimPn532, cmd: int, p: bytes) -> None:
    if p[:1] == b"\x00":
        sim._respond(cmd, p)  # communication line test: echo
    else:
        sim._respond(cmd, b"\x00")


def _firmware(sim: SimPn532, cmd: int, p: bytes) -> None:
    sim._respond(cmd, FIRMWARE)


def _general_status(sim: SimPn532, cmd: int, p: bytes) -> None:
    n = 1 if sim._selected is not None else 0
    info = b""
    if n:
        info = bytes([0x01, 0x00, 0x00, 0x00])  # Tg, BrRx, BrTx, type
    sim._respond(cmd, bytes([0x00, 1 if sim.field_on else 0, n]) + info + b"\x00")


def _read_register(sim: SimPn532, cmd: int, p: bytes) -> None:
    addrs = [(p[i] << 8) | p[i + 1] for i in range(0, len(p) - 1, 2)]
    sim._respond(cmd, bytes(sim.registers.read(a) for a in addrs))


def _write_register(sim: SimPn532, cmd: int, p: bytes) -> None:
    for i in range(0, len(p) - 2, 3):
        sim.registers.write((p[i] << 8) | p[i + 1], p[i + 2])
    sim._respond(cmd)


def _baudrate(sim: SimPn532, cmd: int, p: bytes) -> None:
    rates = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000]
    if not p or p[0] >= len(rates):
        sim._syntax_error()
        return
    sim._respond(cmd)
    sim._pending_baud = rates[p[0]]  # switches when the host ACKs this response


def _power_down(sim: SimPn532, cmd: int, p: bytes) -> None:
    sim._respond(cmd, b"\x00")


def _rf_configuration(sim: SimPn532, cmd: int, p: bytes) -> None:
    if p[:1] == b"\x01" and len(p) >= 2:
        sim.field_on = bool(p[1] & 0x01)
        if not sim.field_on and sim._selected is not None:
            sim._selected.reset()  # no field, no power: the card forgets its authentication
            sim._halted = True  # and answers nothing until it is searched for again
    elif p[:1] == b"\x05" and len(p) >= 4:
        sim.max_retries = p[3]
    sim._respond(cmd)


def _list_passive(sim: SimPn532, cmd: int, p: bytes) -> None:
    if len(p) < 2 or p[0] not in (1, 2):
        sim._syntax_error()
        return
    # A target search switches the RF field on, whatever RFConfiguration left it at (PN532 user manual,
    # RFConfiguration item 1: the field is switched on automatically when a command needs it). nfcpy switches
    # the field off after every search and before the next one; libnfc and our driver switch it on themselves.
    sim.field_on = True
    if p[1] != 0x00:  # only ISO14443A cards live in this simulator
        sim._air(sim.attempt_s * (1 + min(sim.max_retries, 0x10)))
        sim._respond(cmd, b"\x00")
        return
    limit = None if sim.max_retries == 0xFF else sim.attempt_s * (1 + sim.max_retries)
    card = sim._wait_for_card(limit)
    if card is None:
        sim.registers.write(CIU_FIFO_DATA, REQA)  # no ATQA came back: the REQA is still in the FIFO (nfcpy reads it)
        if sim.max_retries == 0xFF:
            return  # aborted by the host's ACK: no response
        sim._respond(cmd, b"\x00")
        return
    sim._air(AIR["select"])
    card.reset()
    sim._selected, sim._halted = card, False
    sim._respond(cmd, b"\x01" + _target_info(card))


def _release(sim: SimPn532, cmd: int, p: bytes) -> None:
    if sim._selected is not None:
        sim._air(AIR["halt"])
        sim._selected.reset()
    sim._selected = None
    sim._respond(cmd, b"\x00")


def _select(sim: SimPn532, cmd: int, p: bytes) -> None:
    card = sim._card
    if card is None or sim._selected is not card:
        sim._respond(cmd, bytes([STATUS_TIMEOUT]))
        return
    sim._air(AIR["select"])
    card.reset()
    sim._halted = False
    sim._respond(cmd, b"\x00")


def _communicate_thru(sim: SimPn532, cmd: int, p: bytes) -> None:
    # Raw frames (RATS, magic-card backdoors...): a MIFARE Classic does not answer them.
    sim._air(AIR["no-answer"])
    sim._respond(cmd, bytes([STATUS_TIMEOUT]))


def _countdown(sim: SimPn532, fault: str) -> None:
    """A pending 'remove the card after N more successful operations' fault: count this one."""
    left = sim._take_fault(fault)
    if left is None:
        return
    if left > 1:
        sim._faults.append((fault, left - 1))
    else:
        sim.remove()


def _data_exchange(sim: SimPn532, cmd: int, p: bytes) -> None:
    if len(p) < 2:
        sim._syntax_error()
        return
    card = sim._selected
    if card is None:
        sim._respond(cmd, bytes([STATUS_WRONG_CONTEXT]))
        return
    if sim._card is not card or sim._halted:
        sim._air(AIR["no-answer"])
        sim._respond(cmd, bytes([STATUS_TIMEOUT]))
        return
    op, rest = p[1], p[2:]
    try:
        if op in (0x60, 0x61) and len(rest) == 11:
            sim._air(AIR["auth"])
            card.authenticate("A" if op == 0x60 else "B", rest[0], rest[1:7], rest[7:11])
            _countdown(sim, "remove-after-auth")
            _countdown(sim, "remove-after-ops")
            sim._respond(cmd, b"\x00")
        elif op == 0x30 and len(rest) == 1:
            sim._air(AIR["read"])
            data = card.read(rest[0])
            _countdown(sim, "remove-after-ops")
            sim._respond(cmd, b"\x00" + data)
        elif op == 0xA0 and len(rest) == 17:
            sim._air(AIR["write"])
            card.write(rest[0], rest[1:])
            _countdown(sim, "remove-after-ops")
            sim._respond(cmd, b"\x00")
        elif op in (0xC0, 0xC1, 0xC2) and len(rest) == 5:
            sim._air(AIR["value"])
            name = {0xC0: "decrement", 0xC1: "increment", 0xC2: "restore"}[op]
            card.value_op(name, rest[0], int.from_bytes(rest[1:5], "little", signed=True))
            _countdown(sim, "remove-after-ops")
            sim._respond(cmd, b"\x00")
        elif op == 0xB0 and len(rest) == 1:
            sim._air(AIR["transfer"])
            card.transfer(rest[0])
            _countdown(sim, "remove-after-ops")
            sim._respond(cmd, b"\x00")
        else:
            sim._air(AIR["no-answer"])
            sim._halted = True
            sim._respond(cmd, bytes([STATUS_TIMEOUT]))
    except CardRefused:
        sim._halted = True  # after a NAK or a failed authentication the card drops to idle
        sim._respond(cmd, bytes([STATUS_MIFARE]))


_HANDLERS = {
    0x00: _diagnose,
    0x02: _firmware,
    0x04: _general_status,
    0x06: _read_register,
    0x08: _write_register,
    0x10: _baudrate,
    0x12: _simple,
    0x14: _simple,
    0x16: _power_down,
    0x32: _rf_configuration,
    0x40: _data_exchange,
    0x42: _communicate_thru,
    0x44: _release,
    0x4A: _list_passive,
    0x52: _release,
    0x54: _select,
}
