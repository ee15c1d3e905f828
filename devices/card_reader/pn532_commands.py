"""PN532 chipset commands: codes, parameter builders and response parsers, and a typed command set on a link."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from kiosk.errors import CardAuthFailed, CardRemoved, ProtocolError


class Cmd(IntEnum):
    DIAGNOSE = 0x00
    GET_FIRMWARE_VERSION = 0x02
    GET_GENERAL_STATUS = 0x04
    READ_REGISTER = 0x06
    WRITE_REGISTER = 0x08
    SET_SERIAL_BAUDRATE = 0x10
    SET_PARAMETERS = 0x12
    SAM_CONFIGURATION = 0x14
    POWER_DOWN = 0x16
    RF_CONFIGURATION = 0x32
    IN_DATA_EXCHANGE = 0x40
    IN_COMMUNICATE_THRU = 0x42
    IN_DESELECT = 0x44
    IN_LIST_PASSIVE_TARGET = 0x4A
    IN_RELEASE = 0x52
    IN_SELECT = 0x54


class MifareCmd(IntEnum):
    AUTH_A = 0x60
    AUTH_B = 0x61
    READ = 0x30
    WRITE = 0xA0
    DECREMENT = 0xC0
    INCREMENT = 0xC1
    RESTORE = 0xC2
    TRANSFER = 0xB0


# InDataExchange / InListPassiveTarget status byte (low 6 bits).
STATUS_OK = 0x00
STATUS_TIMEOUT = 0x01
STATUS_MIFARE_ERROR = 0x14  # authentication failed, or the card NAKed an operation
STATUS_WRONG_CONTEXT = 0x27
STATUS_RELEASED = 0x29
STATUS_CARD_GONE = 0x2B
_GONE = {STATUS_TIMEOUT, STATUS_WRONG_CONTEXT, STATUS_RELEASED, STATUS_CARD_GONE, 0x02, 0x03, 0x05}

# SetSerialBaudrate codes (PN532 user manual 7.2.8)
BAUD_CODES = {9600: 0x00, 19200: 0x01, 38400: 0x02, 57600: 0x03, 115200: 0x04, 230400: 0x05, 460800: 0x06,
              921600: 0x07, 1288000: 0x08}
POWER_UP_BAUD = 115200

RF_ITEM_FIELD = 0x01
RF_ITEM_TIMINGS = 0x02
RF_ITEM_MAX_RETRIES = 0x05
BRTY_ISO14443A = 0x00


@dataclass(frozen=True)
class FirmwareVersion:
    ic: int
    version: int
    revision: int
    support: int

    def __str__(self) -> str:
        name = {0x32: "PN532", 0x33: "PN533"}.get(self.ic, f"IC 0x{self.ic:02X}")
        return f"{name} v{self.version}.{self.revision} (support 0x{self.support:02X})"


@dataclass(frozen=True)
class PassiveTarget:
    tg: int
    atqa: int
    sak: int
    uid: bytes
    ats: bytes = b""


def parse_firmware_version(data: bytes) -> FirmwareVersion:
    if len(data) != 4:
        raise ProtocolError(f"GetFirmwareVersion answered {len(data)} bytes", device="card reader")
    return FirmwareVersion(*data)


def parse_passive_targets_a(data: bytes) -> list[PassiveTarget]:
    """InListPassiveTarget response for ISO14443A: NbTg then per target Tg, ATQA(2), SAK, NFCIDLen, NFCID [ATS]."""
    if not data:
        raise ProtocolError("empty InListPassiveTarget response", device="card reader")
    count, pos, targets = data[0], 1, []
    if count > 2:
        raise ProtocolError(f"InListPassiveTarget reported {count} targets", device="card reader")
    for _ in range(count):
        if len(data) < pos + 5:
            raise ProtocolError("truncated InListPassiveTarget response", device="card reader")
        tg, atqa, sak, n = data[pos], (data[pos + 1] << 8) | data[pos + 2], data[pos + 3], data[pos + 4]
        pos += 5
        if n not in (4, 7, 10) or len(data) < pos + n:
            raise ProtocolError(f"bad UID length {n} in InListPassiveTarget response", device="card reader")
        uid = bytes(data[pos:pos + n])
        pos += n
        ats = b""
        if sak & 0x20 and pos < len(data):  # ISO14443-4 compliant: ATS follows, first byte is its length
            ats_len = data[pos]
            ats = bytes(data[pos:pos + ats_len])
            pos += ats_len
        targets.append(PassiveTarget(tg, atqa, sak, uid, ats))
    return targets


def check_status(status: int, what: str, *, auth: bool = False) -> None:
    """Raise the kiosk error that an InDataExchange status byte means."""
    code = status & 0x3F
    if code == STATUS_OK:
        return
    if code == STATUS_MIFARE_ERROR:
        raise CardAuthFailed(f"{what}: the card refused (wrong key)" if auth else f"{what}: the card refused the operation")
    if code in _GONE:
        raise CardRemoved(f"{what}: no answer from the card (status 0x{code:02X})")
    raise ProtocolError(f"{what}: chip status 0x{code:02X}", device="card reader")


class CommandLink(Protocol):
    def exchange(self, command: int, params: bytes = b"", timeout: float = 1.0) -> bytes: ...
    def exchange_or_abort(self, command: int, params: bytes, timeout: float) -> bytes | None: ...


class Pn532Commands:
    """The chipset commands the kiosk uses, each one exchange on the link."""

    def __init__(self, link: CommandLink) -> None:
        self.link = link

    def get_firmware_version(self) -> FirmwareVersion:
        return parse_firmware_version(self.link.exchange(Cmd.GET_FIRMWARE_VERSION))

    def set_serial_baudrate(self, baud: int) -> None:
        """Ask the chip to change speed; it switches once the host ACKs the response (the caller sends it)."""
        if baud not in BAUD_CODES:
            raise ValueError(f"the PN532 cannot run at {baud} baud; choose one of {sorted(BAUD_CODES)}")
        self.link.exchange(Cmd.SET_SERIAL_BAUDRATE, bytes([BAUD_CODES[baud]]))

    def sam_configuration(self, mode: int = 0x01, timeout_50ms: int = 0x14, use_irq: bool = False) -> None:
        self.link.exchange(Cmd.SAM_CONFIGURATION, bytes([mode, timeout_50ms, 1 if use_irq else 0]))

    def rf_field(self, on: bool) -> None:
        self.link.exchange(Cmd.RF_CONFIGURATION, bytes([RF_ITEM_FIELD, 0x01 if on else 0x00]))

    def rf_max_retries(self, atr: int = 0xFF, psl: int = 0x01, passive_activation: int = 0xFF) -> None:
        """MxRtyPassiveActivation 0xFF waits for a card forever; a finite count gives one poll slice."""
        self.link.exchange(Cmd.RF_CONFIGURATION, bytes([RF_ITEM_MAX_RETRIES, atr, psl, passive_activation]))

    def in_list_passive_target_a(self, max_targets: int = 1, timeout: float = 1.0) -> list[PassiveTarget]:
        data = self.link.exchange(Cmd.IN_LIST_PASSIVE_TARGET, bytes([max_targets, BRTY_ISO14443A]), timeout)
        return parse_passive_targets_a(data)

    def wait_passive_target_a(self, timeout: float) -> list[PassiveTarget]:
        """InListPassiveTarget that may wait for a card (MxRtyPassiveActivation 0xFF); cancelled after
        `timeout` seconds with a host ACK, which gives an empty list."""
        data = self.link.exchange_or_abort(Cmd.IN_LIST_PASSIVE_TARGET, bytes([1, BRTY_ISO14443A]), timeout)
        return [] if data is None else parse_passive_targets_a(data)

    def in_data_exchange(self, tg: int, data: bytes, what: str, *, auth: bool = False,
                         timeout: float = 1.0) -> bytes:
        resp = self.link.exchange(Cmd.IN_DATA_EXCHANGE, bytes([tg]) + data, timeout)
        if not resp:
            raise ProtocolError(f"{what}: empty InDataExchange response", device="card reader")
        check_status(resp[0], what, auth=auth)
        return resp[1:]

    def in_release(self, tg: int = 0) -> None:
        resp = self.link.exchange(Cmd.IN_RELEASE, bytes([tg]))
        if resp and resp[0] & 0x3F not in (STATUS_OK, STATUS_RELEASED, STATUS_WRONG_CONTEXT):
            raise ProtocolError(f"InRelease status 0x{resp[0]:02X}", device="card reader")

    # --- MIFARE Classic over InDataExchange -------------------------------------------------------
    def mifare_auth(self, tg: int, key_b: bool, block: int, key: bytes, uid4: bytes) -> None:
        cmd = MifareCmd.AUTH_B if key_b else MifareCmd.AUTH_A
        self.in_data_exchange(tg, bytes([cmd, block]) + key + uid4, f"auth block {block}", auth=True)

    def mifare_read(self, tg: int, block: int) -> bytes:
        data = self.in_data_exchange(tg, bytes([MifareCmd.READ, block]), f"read block {block}")
        if len(data) != 16:
            raise ProtocolError(f"read block {block}: {len(data)} bytes", device="card reader")
        return data

    def mifare_write(self, tg: int, block: int, data: bytes) -> None:
        self.in_data_exchange(tg, bytes([MifareCmd.WRITE, block]) + data, f"write block {block}")

    def mifare_value_op(self, tg: int, op: MifareCmd, block: int, operand: int | None = None) -> None:
        tail = b"" if operand is None else int(operand).to_bytes(4, "little", signed=True)
        self.in_data_exchange(tg, bytes([op, block]) + tail, f"{op.name.lower()} block {block}")
