"""`kiosk sim scanner`: a payment-code scanner in virtual COM port mode on a pseudo-terminal.

The first line printed is the pty path for [devices.scanner] port. Commands (stdin, or --control-port lines):
  scan CODE        send CODE then the terminator, as one scan
  wechat | alipay  scan a fresh code that follows that network's published rule
  garbled          scan a mangled read (letters and a cut-short code)
  double [A B]     two codes in one burst (default: two fresh WeChat codes)
  terminator cr|lf|crlf
  help
Killing the process closes the pty master: the kiosk's open port fails like a scanner pulled out.
"""
from __future__ import annotations

import os
import secrets
import threading
import tty

from kiosk.domain.payment_code import ALIPAY_PREFIXES, WECHAT_PREFIXES

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


def fresh_code(network: str) -> str:
    """A random code that follows the published rule of `network` ("wechat" or "alipay")."""
    if network == "wechat":
        return secrets.choice(WECHAT_PREFIXES) + "".join(secrets.choice("0123456789") for _ in range(16))
    length = 16 + secrets.randbelow(9)
    return secrets.choice(ALIPAY_PREFIXES) + "".join(secrets.choice("0123456789") for _ in range(length - 2))


class SimScanner:
    """A scanner behind a pty. Thread-safe; `start()` returns the slave path for the driver."""

    def __init__(self, terminator: str = "crlf") -> None:
        self.terminator = TERMINATORS[terminator]
        self._lock = threading.Lock()
        self._master = self._slave = -1
        self.path = ""
        self.sent: list[str] = []

    def start(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self.path = os.ttyname(self._slave)
        return self.path

    def stop(self) -> None:
        with self._lock:
            for fd in (self._master, self._slave):
                if fd >= 0:
                    os.close(fd)
            self._master = self._slave = -1

    def send(self, *lines: str) -> None:
        """Every line with its terminator, in one write (one burst, as a double read arrives)."""
        data = b"".join(line.encode("ascii") + self.terminator for line in lines)
        with self._lock:
            os.write(self._master, data)
            self.sent.extend(lines)

    def execute(self, command: str) -> str:
        words = command.split()
        if not words:
            return ""
        cmd, args = words[0].lower(), words[1:]
        try:
            if cmd == "scan" and len(args) == 1:
                self.send(args[0])
                return f"scanned {args[0]}"
            if cmd in ("wechat", "alipay") and not args:
                code = fresh_code(cmd)
                self.send(code)
                return f"scanned {code}"
            if cmd == "garbled":
                code = fresh_code("wechat")
                mangled = code[:5] + "?A" + code[9:14]
                self.send(mangled)
                return f"scanned {mangled}"
            if cmd == "double" and len(args) in (0, 2):
                codes = args or [fresh_code("wechat"), fresh_code("wechat")]
                self.send(*codes)
                return f"scanned {codes[0]} {codes[1]}"
            if cmd == "terminator" and len(args) == 1 and args[0] in TERMINATORS:
                self.terminator = TERMINATORS[args[0]]
                return f"terminator {args[0]}"
            if cmd == "help":
                return "commands: scan CODE | wechat | alipay | garbled | double [A B] | terminator cr|lf|crlf"
        except (UnicodeEncodeError, OSError) as exc:
            return f"error: {exc}"
        return f"unknown command {command.strip()!r} (try 'help')"
