"""Pn532CardReader: the kiosk's CardReader port on a PN532 over a serial line (HSU), MIFARE Classic capable."""
from __future__ import annotations

import time

from devices.card_reader.pn532_commands import BAUD_CODES, POWER_UP_BAUD, FirmwareVersion, MifareCmd, Pn532Commands
from devices.card_reader.pn532_frames import ACK
from devices.card_reader.pn532_link import MAX_COMMAND_SENDS, Pn532Link
from devices.card_reader.transport import SerialTransport
from kiosk.errors import CardRemoved, DeviceTimeout, ProtocolError
from kiosk.ports import CardUid, KeyType, Tag

# MxRtyPassiveActivation 0xFF (the chip's power-up default): InListPassiveTarget waits until a card is in
# the field, and poll() cancels it with a host ACK at its deadline. A card is reported as soon as the chip
# selects it, the line is quiet while the field is empty, and nothing depends on the chip's retry timing.
POLL_RETRIES = 0xFF


class Pn532CardReader:
    """A PN532 on `url` (any pyserial URL). Implements kiosk.ports.CardReader.

    open() wakes the chip (0x55 preamble), puts the SAM in normal mode, switches the RF field on, sets
    the passive-activation retry count and reads the firmware version, so a wrong device fails at open with DeviceTimeout.

    `baud` is the working speed. The chip starts at 115200 after power-up and keeps a speed set with
    SetSerialBaudrate until it loses power, so open() first tries `baud` (the chip is still there from
    an earlier run), then 115200, then every other PN532 speed once, and switches the chip to `baud`.
    """

    can_write = True

    def __init__(self, url: str, baud: int = 115200, *, name: str = "card reader",
                 poll_retries: int = POLL_RETRIES) -> None:
        self.name = name
        self.url = url
        self._baud = baud
        self.transport = SerialTransport(url, baud, device=name)
        self.link = Pn532Link(self.transport)
        self.cmd = Pn532Commands(self.link)
        self.poll_retries = poll_retries
        self._firmware: FirmwareVersion | None = None
        self._tg = 0  # logical target number of the selected card, 0 when none
        self._tag: Tag | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def open(self) -> None:
        if self.baud not in BAUD_CODES:
            raise ValueError(f"the PN532 cannot run at {self.baud} baud; choose one of {sorted(BAUD_CODES)}")
        self.transport.open()
        likely = [self.baud] if self.baud == POWER_UP_BAUD else [self.baud, POWER_UP_BAUD]
        # A chip switched by someone else keeps that speed until power-off: look for it, one try each.
        others = [rate for rate in BAUD_CODES if rate not in likely]
        failure: DeviceTimeout | ProtocolError | None = None
        try:
            for i, speed in enumerate(likely + others):
                self.link.max_sends = MAX_COMMAND_SENDS if i < len(likely) else 1
                try:
                    self._configure(speed)
                    return
                except (DeviceTimeout, ProtocolError) as exc:
                    failure = exc
                finally:
                    self.link.max_sends = MAX_COMMAND_SENDS
        except BaseException:
            self.transport.close()
            raise
        self.transport.close()
        assert failure is not None
        raise type(failure)(f"no PN532 answered on {self.url} at any speed: {failure.detail}",
                            device=self.name) from failure

    @property
    def baud(self) -> int:
        return self._baud

    def _configure(self, speed: int) -> None:
        self.transport.set_baud(speed)
        self.link.reset()
        self.cmd.sam_configuration()  # the first frame carries the wake-up preamble
        if speed != self.baud:
            self.cmd.set_serial_baudrate(self.baud)
            self.transport.write(ACK)  # the chip switches when it sees this ACK
            self.transport.set_baud(self.baud)
        self.cmd.rf_field(True)  # a previous user (libnfc switches it off on close) may have left it off
        self.cmd.rf_max_retries(atr=0xFF, psl=0x01, passive_activation=self.poll_retries)
        self._firmware = self.cmd.get_firmware_version()

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
        self._tg, self._tag = 0, None
        # Leave room for the response frame itself (at 9600 baud it alone takes ~25 ms).
        wait = max(timeout, 40 * 10 / self.transport.baud + 0.005)
        if self.poll_retries == 0xFF:
            targets = self.cmd.wait_passive_target_a(wait)
        else:
            deadline = time.monotonic() + wait
            while not (targets := self.cmd.in_list_passive_target_a(1, timeout=1.0)):
                if time.monotonic() >= deadline:
                    break
        if not targets:
            return None
        t = targets[0]
        self._tg = t.tg
        self._tag = Tag(CardUid(t.uid), atqa=t.atqa, sak=t.sak)
        return self._tag

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
