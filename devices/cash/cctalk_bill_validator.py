"""`CctalkBillValidator`: the kiosk.ports.CashAcceptor over ccTalk (9600 8N1, address 40, escrow).

Transport is any pyserial URL (a device path, a pty, ``socket://``, ``loop://``). Each command is
written, the bus echo of single-wire ccTalk is skipped when it appears (auto-detected per
exchange, so the driver works with and without echo), and the reply is read with a deadline.
A command that gets no reply or a garbled one is repeated `retries` times; every command used
here is safe to repeat. Events carry the device's event counter so the owner can persist it
and find, with `events_since`, the notes handled while the kiosk was down.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping

import serial

from devices.cash import cctalk_bills as bills
from devices.cash import cctalk_frames as ft
from devices.serial_port import close_quietly, open_serial, port_errors
from kiosk.errors import CashAcceptorFault, DeviceTimeout, DeviceUnavailable, ProtocolError
from kiosk.ports import CashEvent, CashEventKind

log = logging.getLogger(__name__)

BILL_VALIDATOR_CATEGORY = "Bill Validator"
MAX_BILL_TYPES = 16
_READ_SLICE_S = 0.02  # pyserial read timeout; the loop stops at the command deadline


class CommandRefused(ProtocolError):
    """The device answered NAK: it does not support the command (or not with these data)."""


class CctalkBillValidator:
    """A ccTalk bill validator with escrow. Not re-entrant per call, but thread-safe (one lock)."""

    def __init__(self, url: str, address: int = ft.DEFAULT_VALIDATOR_ADDRESS, *,
                 host_address: int = ft.HOST_ADDRESS, checksum: str = "simple",
                 timeout_s: float = 0.5, retries: int = 2, name: str = "banknote acceptor") -> None:
        self.url = url
        self.address = int(address)
        self.host_address = int(host_address)
        self.checksum = ft.ChecksumKind(checksum)
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.name = name
        self._port: serial.SerialBase | None = None
        self._lock = threading.RLock()
        self._values: dict[int, int] | None = None
        self._bill_ids: dict[int, bills.BillId] = {}
        self._last_counter: int | None = None
        self.echo_seen = False  # True once a reply was preceded by our own bytes (single-wire bus)

    # --- port lifecycle -----------------------------------------------------------------------
    def open(self, configure: bool = True) -> None:
        """Open the port, check the device answers, select escrow mode and inhibit everything.

        The event counter seen here becomes the baseline of `poll()`; events from before are
        reported only by `events_since(last_recorded_counter)`. `configure=False` only opens and
        polls (for probing equipment that may not be a bill validator).
        """
        with self._lock:
            if self._port is not None:
                return
            self._port = open_serial(self.url, device=self.name, baudrate=9600, bytesize=serial.EIGHTBITS,
                                     parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                                     timeout=_READ_SLICE_S, write_timeout=self.timeout_s)
            try:
                self.simple_poll()
                if configure:
                    self._command(ft.MODIFY_BILL_OPERATING_MODE, b"\x03")  # use stacker and escrow
                    self.disable()
                    self._last_counter, _ = self._read_event_buffer()
            except Exception:
                self.close()
                raise

    def close(self) -> None:
        with self._lock:
            port, self._port = self._port, None
            close_quietly(port)

    def __enter__(self) -> CctalkBillValidator:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- identification -----------------------------------------------------------------------
    def simple_poll(self) -> None:
        reply = self._command(ft.SIMPLE_POLL)
        if reply:
            raise ProtocolError(f"simple poll answered with data {reply.hex()}", device=self.name)

    def identify(self) -> Mapping[str, str]:
        serial_bytes = self._command(ft.REQUEST_SERIAL_NUMBER)
        return {
            "category": ft.ascii_field(self._command(ft.REQUEST_EQUIPMENT_CATEGORY)),
            "manufacturer": ft.ascii_field(self._command(ft.REQUEST_MANUFACTURER_ID)),
            "product_code": ft.ascii_field(self._command(ft.REQUEST_PRODUCT_CODE)),
            "serial": str(int.from_bytes(serial_bytes, "little")),
            "address": str(self.address),
        }

    def is_bill_validator(self) -> bool:
        category = ft.ascii_field(self._command(ft.REQUEST_EQUIPMENT_CATEGORY))
        return category.lower().replace("_", " ") == BILL_VALIDATOR_CATEGORY.lower()

    def bill_ids(self) -> Mapping[int, bills.BillId]:
        """Bill type -> its id ('CN0010A'), for the bill types the device knows."""
        self.bill_values()
        return dict(self._bill_ids)

    def bill_values(self) -> Mapping[int, int]:
        with self._lock:
            if self._values is None:
                scaling: dict[str, tuple[int, int]] = {}
                values: dict[int, int] = {}
                for bill_type in range(1, MAX_BILL_TYPES + 1):
                    try:
                        bill = bills.parse_bill_id(self._command(ft.REQUEST_BILL_ID, bytes((bill_type,))))
                    except CommandRefused:
                        break
                    if bill is None:
                        continue
                    if bill.country not in scaling:
                        scaling[bill.country] = self._scaling(bill.country)
                    self._bill_ids[bill_type] = bill
                    values[bill_type] = bills.bill_value_fen(bill, *scaling[bill.country])
                self._values = values
            return dict(self._values)

    def _scaling(self, country: str) -> tuple[int, int]:
        try:
            return bills.parse_scaling(self._command(ft.REQUEST_COUNTRY_SCALING, country.encode("ascii")))
        except CommandRefused:
            return 1, 0  # no scaling support: bill id values are whole currency units
        except ValueError as exc:
            raise ProtocolError(f"scaling reply: {exc}", device=self.name) from exc

    # --- acceptance ---------------------------------------------------------------------------
    def enable(self, values_fen: Iterable[int]) -> None:
        wanted = set(values_fen)
        types = {t for t, v in self.bill_values().items() if v in wanted}
        with self._lock:
            if not types:
                self.disable()
                return
            self._command(ft.MODIFY_INHIBIT_STATUS, bills.inhibit_mask(types))
            self._command(ft.MODIFY_MASTER_INHIBIT, b"\x01")

    def disable(self) -> None:
        with self._lock:
            self._command(ft.MODIFY_MASTER_INHIBIT, b"\x00")
            self._command(ft.MODIFY_INHIBIT_STATUS, b"\x00\x00")

    def enabled_values(self) -> set[int]:
        """Values the device would accept now (master inhibit and per-type inhibits read back)."""
        if self._command(ft.REQUEST_MASTER_INHIBIT)[:1] != b"\x01":
            return set()
        types = bills.enabled_types(self._command(ft.REQUEST_INHIBIT_STATUS))
        values = self.bill_values()
        return {values[t] for t in types if t in values}

    def stack_escrow(self) -> None:
        self._route(bills.ROUTE_STACK)

    def return_escrow(self) -> None:
        self._route(bills.ROUTE_RETURN)

    def _route(self, route: int) -> None:
        reply = self._command(ft.ROUTE_BILL, bytes((route,)))
        if not reply:
            return
        if reply[0] == bills.ROUTE_ERROR_ESCROW_EMPTY:
            # Nothing held: already routed (a repeated command) or returned by the device's timeout.
            log.info("route %s: escrow empty", route)
            return
        raise CashAcceptorFault(f"route bill answered {reply.hex()}", reason="the note could not be moved")

    # --- events -------------------------------------------------------------------------------
    def poll(self) -> list[CashEvent]:
        """New events since the last poll, oldest first. Poll every 100-200 ms while accepting."""
        with self._lock:
            counter, raw = self._read_event_buffer()
            last = self._last_counter if self._last_counter is not None else counter
            events = self._new_events(last, counter, raw)
            self._last_counter = counter
            if counter == 0 and last != 0:
                # A power-up forgets the operating mode and the inhibits: restore a known state.
                self._command(ft.MODIFY_BILL_OPERATING_MODE, b"\x03")
                self.disable()
            return events

    def events_since(self, last_counter: int) -> list[CashEvent]:
        """Events after `last_counter` (the last one the owner recorded), oldest first.

        The device keeps the last five events: more missed events add an ERROR event saying how
        many are lost. A device reset since (counter 0 now, or fewer events than expected) adds a
        RESET event. Also moves the `poll()` baseline to now.
        """
        with self._lock:
            counter, raw = self._read_event_buffer()
            events = self._new_events(int(last_counter), counter, raw)
            self._last_counter = counter
            return events

    @property
    def last_counter(self) -> int | None:
        return self._last_counter

    def _new_events(self, last: int, counter: int, raw: list[bills.RawBillEvent]) -> list[CashEvent]:
        if counter == 0:
            if last == 0:
                return []
            return [CashEvent(CashEventKind.RESET, 0, detail=f"device reset; events after counter {last} are gone")]
        missed = bills.events_between(last, counter)
        events: list[CashEvent] = []
        if missed > bills.EVENT_SLOTS:
            events.append(CashEvent(CashEventKind.ERROR, bills.counter_back(counter, bills.EVENT_SLOTS),
                                    detail=f"{missed - bills.EVENT_SLOTS} events lost (counter {last} -> {counter})"))
        for item in reversed(raw[:min(missed, bills.EVENT_SLOTS)]):
            event = self._to_event(item)
            if event is not None:
                events.append(event)
        return events

    def _to_event(self, item: bills.RawBillEvent) -> CashEvent | None:
        if item.result_a:
            value = self.bill_values().get(item.result_a, 0)
            if item.result_b == 0:
                return CashEvent(CashEventKind.STACKED, item.counter, value, item.result_a)
            if item.result_b == 1:
                return CashEvent(CashEventKind.ESCROW, item.counter, value, item.result_a)
            return CashEvent(CashEventKind.ERROR, item.counter, value, item.result_a,
                             detail=f"bill type {item.result_a} with unknown status {item.result_b}")
        status = bills.STATUS_CODES.get(item.result_b)
        if status is None:
            return CashEvent(CashEventKind.ERROR, item.counter, detail=f"unknown event code {item.result_b}")
        if status.kind is None:
            return None
        return CashEvent(status.kind, item.counter, detail=status.text)

    def _read_event_buffer(self) -> tuple[int, list[bills.RawBillEvent]]:
        data = self._command(ft.READ_BUFFERED_BILL_EVENTS)
        try:
            return bills.parse_event_buffer(data)
        except ValueError as exc:
            raise ProtocolError(str(exc), device=self.name) from exc

    # --- wire ---------------------------------------------------------------------------------
    def _command(self, header: int, data: bytes = b"") -> bytes:
        """Send one command and return the reply's data (b'' for an ACK)."""
        request = ft.command(self.address, header, data, self.host_address, self.checksum)
        failure: Exception | None = None
        with self._lock:
            port = self._port
            if port is None:
                raise DeviceUnavailable("port not open", device=self.name)
            for _attempt in range(self.retries + 1):
                try:
                    # A port that vanished (USB-serial unplugged) fails in reset_input_buffer with
                    # termios.error, in write with SerialException, in read with OSError: all one error.
                    with port_errors(self.name, f"header {header} on {self.url}"):
                        port.reset_input_buffer()
                        port.write(request)
                        port.flush()
                        reply = self._read_reply(port, request)
                except ft.FrameError as exc:
                    failure = ProtocolError(f"header {header}: {exc}", device=self.name)
                    continue
                except DeviceTimeout as exc:
                    failure = exc
                    continue
                if reply.header == ft.NAK:
                    raise CommandRefused(f"NAK to header {header}", device=self.name)
                if reply.header == ft.BUSY:
                    failure = DeviceTimeout(f"busy on header {header}", device=self.name)
                    continue
                if reply.header != ft.ACK:
                    raise ProtocolError(f"reply header {reply.header} to {header}", device=self.name)
                return reply.data
        assert failure is not None
        raise failure

    def _read_reply(self, port: serial.SerialBase, request: bytes) -> ft.Frame:
        """Read whole frames (the length is the second byte) until the device's reply arrives.

        A frame identical to the request is the bus echo and is skipped, so no byte is asked for
        before it can exist and the driver never waits on a read that cannot complete.
        """
        deadline = time.monotonic() + self.timeout_s
        buffer = bytearray()
        while True:
            total = ft.frame_length(bytes(buffer))
            if total is not None and total > 255:
                raise ft.FrameError(f"length byte {buffer[1]} is impossible")
            if total is not None and len(buffer) >= total:
                if bytes(buffer[:total]) == request:
                    del buffer[:total]
                    self.echo_seen = True
                    continue
                frame, used = ft.split_frame(bytes(buffer), self.checksum, source_when_crc=self.address)
                assert frame is not None
                del buffer[:used]
                if frame.dest == self.host_address and frame.source == self.address:
                    return frame
                log.debug("ignoring frame for %s from %s", frame.dest, frame.source)
                continue
            if time.monotonic() >= deadline:
                raise DeviceTimeout(f"no reply within {self.timeout_s:.2f} s", device=self.name)
            buffer += port.read((total or 2) - len(buffer))
