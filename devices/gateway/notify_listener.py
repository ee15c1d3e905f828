"""`NotificationListener`: a small HTTP endpoint that hands gateway notifications to the kiosk.

Each POST's raw body and headers go to `handler(body, headers)` (typically
`QrSession.handle_notification` or the lead's payment service). The answer tells the gateway
whether to retry: 200 when handled, 401 on BadSignature (logged, never retried into success),
500 on any other failure so that the gateway sends it again. A handled form-encoded notification (Alipay's)
is answered with the plain body `success`, the only answer that stops Alipay's retries.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kiosk.errors import BadSignature

log = logging.getLogger(__name__)

NotificationHandler = Callable[[bytes, Mapping[str, str]], object]
MAX_BODY = 64 * 1024


class NotificationListener:
    """Listens on host:port (port 0 picks a free one) until `stop()`."""

    def __init__(self, handler: NotificationHandler, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/notify") -> None:
        self._handler = handler
        self.path = path
        self._server = ThreadingHTTPServer((host, port), self._make_request_handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="gateway-notify",
                                        daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> NotificationListener:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _make_request_handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                if self.path != listener.path:
                    self._answer(404, {"error": "NOT_FOUND"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, {"error": "TOO_LARGE"})
                    return
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                try:
                    listener._handler(body, headers)
                except BadSignature as exc:
                    log.warning("rejected gateway notification from %s: %s", self.client_address[0], exc)
                    self._answer(401, {"error": "BAD_SIGNATURE"})
                    return
                except Exception:  # the gateway retries; the failure is logged with its traceback
                    log.exception("gateway notification could not be handled")
                    self._answer(500, {"error": "NOT_HANDLED"})
                    return
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    self._answer_text(200, b"success")  # Alipay retries a notify until the body is exactly this
                    return
                self._answer(200, {"result": "SUCCESS"})

            def _answer_text(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, status: int, payload: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                log.debug("notify %s", format % args)

        return Handler
