"""Fixtures: `kiosk sim alipay` as its own process, the unmodified python-alipay-sdk client pointed at it,
and a small HTTP listener that receives the simulator's asynchronous notifications."""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from alipay import AliPay
from alipay.utils import AliPayConfig

ROOT = Path(__file__).resolve().parents[2]


class Sim:
    """The running simulator: base URL, credentials and its control endpoint."""

    def __init__(self, url: str, keys: Path) -> None:
        self.url = url
        self.keys = keys
        self.credentials: dict[str, str] = json.loads((keys / "credentials.json").read_text())

    def control(self, **change: Any) -> dict[str, Any]:
        req = urllib.request.Request(f"{self.url}/sim/control", data=json.dumps(change).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as response:
            return json.loads(response.read())

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/sim/state", timeout=5) as response:
            return json.loads(response.read())

    def client(self, *, timeout: float = 5, alipay_public_key: str | None = None,
               notify_url: str | None = None) -> AliPay:
        """The SDK's own AliPay class. It takes no gateway argument: the URL lives in the `_gateway` attribute
        set by __init__ (production or sandbox host), so it is re-pointed after construction, nothing else."""
        c = self.credentials
        client = AliPay(appid=c["app_id"], app_notify_url=notify_url,
                        app_private_key_string=Path(c["app_private_key_path"]).read_text(),
                        alipay_public_key_string=alipay_public_key or Path(c["alipay_public_key_path"]).read_text(),
                        sign_type="RSA2", config=AliPayConfig(timeout=timeout))
        client._gateway = c["gateway_url"]
        return client


@pytest.fixture(scope="session")
def alipay_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    keys = tmp_path_factory.mktemp("alipay-keys")
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "alipay", "--keys", str(keys)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        yield Sim(url, keys)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def sim(alipay_sim: Sim) -> Iterator[Sim]:
    alipay_sim.control(bar_code="pay", pin_ms=1000, fault=None, latency_ms=0, notify="once")
    yield alipay_sim


class NotifyListener:
    """A merchant's notify_url: every form POST is queued and answered `answer` (Alipay wants "success")."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, str]] = queue.Queue()
        self.answer = b"success"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                answer = outer.answer  # read once, before the test can see this delivery and change it
                outer.received.put(dict(urllib.parse.parse_qsl(body, keep_blank_values=True)))
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alipay/notify"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 5.0) -> dict[str, str]:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def listener() -> Iterator[NotifyListener]:
    running = NotifyListener()
    yield running
    running.close()
