"""Test rig for the WeChat Pay simulator: the `kiosk sim wechatpay` process, an SDK client pointed at it,
the control endpoint, and a small HTTP listener that receives notifications as a merchant server would."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType


@dataclass
class SimProcess:
    url: str
    keys: Path
    proc: subprocess.Popen[str]

    @property
    def credentials(self) -> dict[str, Any]:
        return json.loads((self.keys / "credentials.json").read_text(encoding="utf-8"))

    def key_text(self, name: str) -> str:
        return (self.keys / self.credentials[name]).read_text(encoding="utf-8")

    def control(self, **payload: Any) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{self.url}/sim/control", data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/sim/state", timeout=10) as answer:
            return json.loads(answer.read())

    def client(self, notify_url: str, *, public_key_mode: bool = False, cert_dir: Path | None = None,
               private_key: str | None = None, timeout: float | None = None) -> WeChatPay:
        """The unmodified SDK; only its gateway (Core._gate_way, its one setting for the host) is the simulator."""
        creds = self.credentials
        mode: dict[str, Any] = ({"public_key": self.key_text("platform_public_key"),
                                 "public_key_id": creds["platform_public_key_id"]} if public_key_mode
                                else {"cert_dir": str(cert_dir or self.keys / creds["platform_cert_dir"])})
        wx = WeChatPay(WeChatPayType.NATIVE, creds["mchid"], private_key or self.key_text("merchant_private_key"),
                       creds["merchant_serial_no"], creds["appid"], creds["apiv3_key"], notify_url=notify_url,
                       timeout=timeout, **mode)
        wx._core._gate_way = self.url
        return wx


@contextmanager
def sim_process(keys: Path, *extra: str) -> Iterator[SimProcess]:
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "wechatpay", "--keys", str(keys), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        listing = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read() if proc.poll() is not None else "")
        assert Path(listing) == keys / "credentials.json"
        yield SimProcess(url, keys, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class NotifyListener:
    """A merchant's notify_url: records every POST; answers the statuses queued in `answers` (then 204)."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[dict[str, str], str]] = queue.Queue()
        self.answers: list[int] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                listener.received.put((dict(self.headers.items()), body))
                status = listener.answers.pop(0) if listener.answers else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/wechatpay/notify"

    def next(self, timeout: float = 5.0) -> tuple[dict[str, str], str]:
        return self.received.get(timeout=timeout)

    def __enter__(self) -> NotifyListener:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
