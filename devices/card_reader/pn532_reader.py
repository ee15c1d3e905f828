"""Pn532CardReader: the kiosk's CardReader port on a PN532 over a serial line (HSU), MIFARE Classic capable."""
from __future__ import annotations

import time

from devices.card_reader.pn532_commands import FirmwareVersion, MifareCmd, Pn532Commands
from devices.card_reader.pn532_link import Pn532Link
from devices.card_reader.transport import SerialTransport
from kiosk.errors import CardRemoved, DeviceTimeout, ProtocolError
from kiosk.ports import CardUid, KeyType, Tag

# Passive-activation retries per InListPassiveTarget: one poll slice of the chip; poll() loops slices
# until its own deadline, so no sleep is ever needed and a card is seen within one slice.
POLL_RETRIES = 0x10


class Pn532CardReader:
    """A PN532 on `url` (any pyserial URL). Implements kiosk.ports.CardReader.

    open() wakes the chip (0x55 preamble), puts the SAM in normal mode, switches the RF field on, sets
    the passive-activation retry count and reads the firmware version, so a wrong device fails at open with DeviceTimeout.
    """

    can_write = True

    def __init__(self, url: str, baud: int = 115200, *, name: str = "card reader",
                 poll_retries: int = POLL_RETRIES) -> None:
        self.name = name
        self.url = url
        self.transport = SerialTransport(url, baud, device=name)
        self.link = Pn532Link(self.transport)
        self.cmd = Pn532Commands(self.link)
        self.poll_retries = poll_retries
        self._firmware: FirmwareVersion | None = None
        self._tg = 0  # logical target number of the selected card, 0 when none
        self._tag: Tag | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def open(self) -> None:
        self.transport.open()
        self.link.reset()
        try:
            self.cmd.sam_configuration()
            self.cmd.rf_field(True)  # a previous user (libnfc switches it off on close) may have left it off
            self.cmd.rf_max_retries(atr=0xFF, psl=0x01, passive_activation=self.poll_retries)
            self._firmware = self.cmd.get_firmware_version()
        except (DeviceTimeout, ProtocolError) as exc:
            self.transport.close()
            raise type(exc)(f"no PN532 answered on {self.url}: {exc.detail}", device=self.name) from exc
        except BaseException:
            self.transport.close()
            raise

    def close(self) -> None:
        self._tg, self._tag = 0, None
        self.transport.close()

    def firmware_version(self) -> str:
        if self._firmware is None:
            self._firmware = self.cmd.get_firmware_version()
        return str(self._firmware)

    # --- targets ------------------------------------------------------------------------------------
    @property
    def tag(self) -> Tag | None:
        return self._tag

    def poll(self, timeout: float) -> Tag | None:
        """The card in the field, selected, or None if none appears within `timeout` seconds."""
        deadline = time.monotonic() + max(0.0, timeout)
        self._tg, self._tag = 0, None
        while True:
            targets = self.cmd.in_list_passive_target_a(1, timeout=1.0)
            if targets:
                t = targets[0]
                self._tg = t.tg
                self._tag = Tag(CardUid(t.uid), atqa=t.atqa, sak=t.sak)
                return self._tag
            if time.monotonic() >= deadline:
                return None

    def release(self) -> None:
        if self._tg:
            tg, self._tg, self._tag = self._tg, 0, None
            self.cmd.in_release(tg)

    def _require_tg(self) -> int:
        if not self._tg or self._tag is None:
            raise CardRemoved("no card is selected")
        return self._tg

    # --- MIFARE Classic ------------------------------------------------------------------------------
    def authenticate(self, block: int, key_type: KeyType, key: bytes) -> None:
        if len(key) != 6:
            raise ValueError("a MIFARE key is 6 bytes")
        tg = self._require_tg()
        assert self._tag is not None
        self.cmd.mifare_auth(tg, key_type is KeyType.B, block, bytes(key), self._tag.uid.auth_bytes)

    def read_block(self, block: int) -> bytes:
        return self.cmd.mifare_read(self._require_tg(), block)

    def write_block(self, block: int, data: bytes) -> None:
        if len(data) != 16:
            raise ValueError("a MIFARE block is 16 bytes")
        self.cmd.mifare_write(self._require_tg(), block, bytes(data))

    def increment(self, block: int, amount: int) -> None:
        self.cmd.mifare_value_op(self._require_tg(), MifareCmd.INCREMENT, block, amount)

    def decrement(self, block: int, amount: int) -> None:
        self.cmd.mifare_value_op(self._require_tg(), MifareCmd.DECREMENT, block, amount)

    def restore(self, block: int) -> None:
        self.cmd.mifare_value_op(self._require_tg(), MifareCmd.RESTORE, block, 0)

    def transfer(self, block: int) -> None:
        self.cmd.mifare_value_op(self._require_tg(), MifareCmd.TRANSFER, block)
