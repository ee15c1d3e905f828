"""Fixtures: `kiosk sim alipay` as its own process, the unmodified python-alipay-sdk client pointed at it,
and a small HTTP listener that receives the simulator's asynchronous notifications."""
from __future__ import annotations

import queue
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.alipay_rig import Sim, alipay_process

__all__ = ["NotifyListener", "Sim"]


@pytest.fixture(scope="session")
def alipay_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    with alipay_process(tmp_path_factory.mktemp("alipay-keys")) as running:
        yield running


@pytest.fixture
def sim(alipay_sim: Sim) -> Iterator[Sim]:
    alipay_sim.control(bar_code="pay", pin_ms=1000, fault=None, latency_ms=0, notify="once", bill_lag_days=1)
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
