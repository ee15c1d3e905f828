"""EscposReceiptPrinter: the ReceiptPrinter port over python-escpos, with DLE EOT status and reopen after failure."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from devices.printer.encoder import encode_layout, fit_logo
from devices.printer.late_replies import LateReplies
from devices.printer.link import DEVICE, EscposLink, LinkBroken
from devices.printer.status import REQUESTS, decode, is_status_byte, not_ready, request
from devices.printer.url import LinkKind, parse_printer_url
from kiosk.domain.receipt import ReceiptDocument
from kiosk.errors import ConfigError, DeviceUnavailable, PrinterNotReady, PrintInterrupted
from kiosk.ports import PaperState, PrinterStatus
from kiosk.receipts.layout import SUPPORTED_COLUMNS, ReceiptLayout, layout_receipt
from kiosk.receipts.text import CHARSETS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrinterConfig:
    """Settings under [devices.printer]; `validate` names the key that is wrong."""

    url: str
    profile: str | None = None  # python-escpos profile name, e.g. "TM-T20II"; None = "default"
    width_dots: int = 576  # 80 mm at 203 dpi; 512 at 180 dpi; 384 for 58 mm paper
    columns: int = 48  # Font A columns: 48 at 576 dots, 42 at 512, 32 at 384
    encoding: str = "gb18030"  # or "big5" for Traditional-Chinese printers, or a code page (cp437 ...)
    logo: str = ""  # optional image file printed at the top
    timeout: float = 5.0  # connect / write timeout, seconds
    status_timeout: float = 0.5  # how long to wait for each DLE EOT reply

    @property
    def late_reply_expiry(self) -> float:
        """How long a reply that missed its status_timeout is still expected on a serial/USB line."""
        return max(2.0, 4 * self.status_timeout)

    def validate(self) -> None:
        if self.columns not in SUPPORTED_COLUMNS:
            raise ConfigError(f"columns={self.columns}, expected one of {SUPPORTED_COLUMNS}", key="devices.printer.columns")
        if not 256 <= self.width_dots <= 832 or self.columns * 12 > self.width_dots:
            raise ConfigError(f"width_dots={self.width_dots} is too narrow for {self.columns} columns",
                              key="devices.printer.width_dots")
        if self.encoding.lower().replace("-", "") not in CHARSETS:
            raise ConfigError(f"encoding={self.encoding!r}, expected one of {sorted(CHARSETS)}",
                              key="devices.printer.encoding")
        if self.profile:
            from escpos.capabilities import CAPABILITIES

            if self.profile not in CAPABILITIES["profiles"]:
                raise ConfigError(f"unknown python-escpos profile {self.profile!r}", key="devices.printer.profile")
        if not 0 < self.status_timeout <= 10 or not 0 < self.timeout <= 120:
            raise ConfigError("timeouts must be positive seconds", key="devices.printer.timeout")


class EscposReceiptPrinter:
    """Prints ReceiptDocuments on an ESC/POS printer reached by tcp:, serial:, usb: or file: URL.

    Status (DLE EOT 1..4) is asked before every job and after it; a printer that does not answer
    is not ready. Any connection failure closes the python-escpos object, and the next call opens
    a new one, so a printer that was power-cycled prints again without restarting the kiosk.
    """

    name = DEVICE

    def __init__(self, config: PrinterConfig) -> None:
        config.validate()
        self.config = config
        self._link = EscposLink(parse_printer_url(config.url), config.profile, config.timeout)
        self._logo = None
        if config.logo:
            try:
                self._logo = fit_logo(config.logo, config.width_dots)
            except OSError as exc:
                raise ConfigError(f"cannot read logo {config.logo!r}: {exc}", key="devices.printer.logo") from exc
        self._late = LateReplies(config.late_reply_expiry)
        self._lock = threading.Lock()

    # -- port ---------------------------------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            self._link.open()

    def close(self) -> None:
        with self._lock:
            self._link.close()

    def status(self) -> PrinterStatus:
        """A fresh status from the printer; never raises. A printer whose connection cannot be made (its
        serial port vanished, TCP refused) is offline with `reachable=False` and the cause; one that is
        connected but silent is offline and reachable (some printers stop answering when out of paper)."""
        with self._lock:
            return self._status()

    def print_receipt(self, receipt: ReceiptDocument) -> None:
        """Check status, send the receipt, check status again.

        Raises PrinterNotReady when the printer cannot print (offline, cover open, paper out, no reply):
        nothing was sent. Raises PrintInterrupted when the job was sent and the status after it says the
        printer stopped (paper ran out, cover opened) or did not answer, and DeviceUnavailable when the
        connection failed while sending or right after: the receipt may be partly or wholly on paper.
        The caller keeps the job and can print it again: nothing here is retried silently.
        """
        self.print_bytes(self.render(receipt))

    # -- beyond the port ------------------------------------------------------------------------------
    def layout(self, receipt: ReceiptDocument) -> ReceiptLayout:
        return layout_receipt(receipt, self.config.columns, self.config.encoding.lower().replace("-", ""))

    def render(self, receipt: ReceiptDocument) -> bytes:
        """The exact bytes a job sends for this receipt."""
        return encode_layout(self.layout(receipt), self.config.profile, self.config.width_dots, self._logo)

    def print_bytes(self, data: bytes) -> None:
        with self._lock:
            before = self._status()
            if not self._can_print(before):
                raise PrinterNotReady(reason=before.reason or "not ready")
            try:
                self._link.write(data)
            except LinkBroken as exc:
                raise DeviceUnavailable(f"{self._link.url}: {exc}", device=self.name) from exc
            if not self._link.can_read:
                return
            try:
                after = self._query(first_wait=self._wire_time(len(data)))
            except LinkBroken as exc:  # the job may or may not have reached the paper: keep it
                raise DeviceUnavailable(f"{self._link.url}: connection lost after sending the job: {exc}",
                                        device=self.name) from exc
            if not after.online or after.paper is PaperState.OUT or after.cover_open:
                raise PrintInterrupted(reason=f"stopped during printing: {after.reason}")

    # -- internals ----------------------------------------------------------------------------------
    def _can_print(self, status: PrinterStatus) -> bool:
        if status.ready:
            return True
        return not self._link.can_read and status.online  # file: devices cannot report paper

    def _status(self, retry: bool = True) -> PrinterStatus:
        """Ask the printer; a connection that broke is reopened once (power cycle, reset)."""
        try:
            return self._query()
        except LinkBroken as exc:
            log.info("printer connection lost (%s); reopening", exc)
            if retry:
                return self._status(retry=False)
            return not_ready(f"connection lost: {exc}", reachable=False)

    def _wire_time(self, size: int) -> float:
        """Seconds `size` bytes need on a serial line (8N1: 10 bits a byte), with a 25 % margin. A status
        request sent after a job waits behind it: at 9600 baud a 1 KB receipt takes about 1 s."""
        url = self._link.url
        return size * 10 / url.baud * 1.25 if url.kind is LinkKind.SERIAL and url.baud > 0 else 0.0

    def _query(self, first_wait: float = 0.0) -> PrinterStatus:
        """DLE EOT 1..4 on the current connection; the first reply may take `first_wait` seconds more
        (a job still crossing the wire). Raises LinkBroken when the connection fails."""
        try:
            self._link.open()
        except DeviceUnavailable as exc:
            self._late.clear()  # the port is gone: what was owed on it will not arrive
            return not_ready(f"cannot connect: {exc.detail}", reachable=False)
        if not self._link.can_read:
            return PrinterStatus(online=True, paper=PaperState.UNKNOWN, reason="file device: no status channel")
        stray = self._late.settle(self._link.drain())
        if stray:
            log.info("printer sent %d byte(s) nobody asked for; dropped", stray)
        if not self._await_late_replies():
            n, age = self._late.oldest()
            return not_ready(f"no reply to DLE EOT {n} for {age:.1f} s; not asking again until it comes")
        replies: list[int] = []
        for n in REQUESTS:
            self._link.write(request(n))
            value = self._link.read_byte(self.config.status_timeout + (first_wait if n == REQUESTS[0] else 0.0))
            if value is None or not is_status_byte(value):
                if self._link.replies_outlive_connection:
                    self._late.owe(n)  # its reply (after the noise, if garbled) may still come down the line
                self._link.close()  # the next attempt starts from a fresh connection
                if value is None:
                    return not_ready(f"no reply to DLE EOT {n}")
                return not_ready(f"garbled reply 0x{value:02x} to DLE EOT {n}")
            replies.append(value)
        return decode(*replies)

    def _await_late_replies(self) -> bool:
        """Wait (one status_timeout at most) for the replies owed by earlier requests and drop them, so the
        next byte read answers the next request. True when nothing is owed any more."""
        self._late.expire()
        deadline = time.monotonic() + self.config.status_timeout
        while self._late.pending:
            left = deadline - time.monotonic()
            late = self._link.read_byte(left) if left > 0 else None
            if late is None:
                self._late.expire()
                return not self._late.pending
            n, age = self._late.oldest()
            self._late.settle(1)
            log.info("late reply 0x%02x to DLE EOT %d (%.1f s late) dropped", late, n, age)
        return True
