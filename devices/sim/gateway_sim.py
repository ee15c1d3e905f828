"""`SimGateway`: a sandbox QR payment gateway over HTTP on 127.0.0.1 that behaves like a real one.

Orders are created by the kiosk (signed requests), expire on the gateway's clock, can be paid by
"the resident" (`POST /pay/ORDER`), closed and refunded. Paid notifications are POSTed, signed
with the shared secret, to the notify URL given at order creation (or at start) and can be
scripted to arrive once, twice, late or never; a forged one can be sent on demand. The clock can
be moved forward and requests can be made to fail or stall, so tests never wait for real
expiry. `GET /v1/records` lists orders and refunds for reconciliation.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devices.gateway import signing

log = logging.getLogger(__name__)

NOTIFY_MODES = ("once", "twice", "late", "never")
_ORDER_PATH = re.compile(r"^/v1/orders/([^/]+)(/close|/refunds|/pay)?$")
_PAY_PATH = re.compile(r"^/pay/([^/]+)$")


class ApiError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass
class SimOrder:
    order_id: str
    amount_fen: int
    description: str
    created_at: float
    expires_at: float
    notify_url: str
    code_url: str
    state: str = "pending"
    gateway_txn: str = ""
    paid_at: float | None = None
    refunded_fen: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id, "amount_fen": self.amount_fen, "state": self.state,
            "description": self.description, "code_url": self.code_url, "gateway_txn": self.gateway_txn,
            "created_at": _iso(self.created_at), "expires_at": _iso(self.expires_at),
            "paid_at": _iso(self.paid_at) if self.paid_at is not None else None,
            "refunded_fen": self.refunded_fen,
        }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


class SimGateway:
    """The sandbox gateway. `start()` returns its base URL; all state lives behind one lock."""

    def __init__(self, secret: bytes | str, *, port: int = 0, notify_url: str = "",
                 notify_mode: str = "once", notify_delay_s: float = 1.0, notify_retries: int = 3,
                 verify_requests: bool = True) -> None:
        self._secret = signing.as_key(secret)
        self.default_notify_url = notify_url
        self.notify_mode = notify_mode
        self.notify_delay_s = notify_delay_s
        self.notify_retries = notify_retries
        self.verify_requests = verify_requests
        self.accept_late_payments = False
        self.fail_requests = 0
        self.cut_replies = 0  # the next N replies stop halfway and the connection closes (a gateway that died)
        self.stall_s = 0.0
        self.clock_offset_s = 0.0
        self.orders: dict[str, SimOrder] = {}
        self.refunds: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []  # every notification attempt, for tests
        self._txn = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._request_handler())
        self._server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="sim-gateway", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self.url

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=3)

    def __enter__(self) -> SimGateway:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def advance(self, seconds: float) -> None:
        """Move the gateway's clock forward (orders expire without waiting)."""
        with self._lock:
            self.clock_offset_s += seconds

    # --- the gateway's business ---------------------------------------------------------------
    def _get(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(404, "ORDER_NOT_FOUND")
        if order.state == "pending" and self.now() >= order.expires_at:
            order.state = "expired"
        return order

    def create(self, payload: dict[str, Any]) -> SimOrder:
        with self._lock:
            order_id = str(payload.get("order_id") or "")
            amount = payload.get("amount_fen")
            if not order_id or isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ApiError(400, "INVALID_REQUEST")
            existing = self.orders.get(order_id)
            if existing is not None:
                if existing.amount_fen != amount:
                    raise ApiError(409, "ORDER_EXISTS")
                return self._get(order_id)
            now = self.now()
            order = SimOrder(order_id, amount, str(payload.get("description", "")), now,
                             now + int(payload.get("expires_in_s") or 300),
                             str(payload.get("notify_url") or self.default_notify_url),
                             f"{self.url}/pay/{order_id}")
            self.orders[order_id] = order
            return order

    def close_order(self, order_id: str) -> SimOrder:
        with self._lock:
            order = self._get(order_id)
            if order.state in ("pending", "expired"):
                order.state = "closed"
            return order

    def pay(self, order_id: str, notify: str | None = None, delay_s: float | None = None) -> SimOrder:
        """The resident scans the code and pays; the notification follows as scripted."""
        mode = notify or self.notify_mode
        if mode not in NOTIFY_MODES:
            raise ApiError(400, "INVALID_NOTIFY_MODE")
        with self._lock:
            order = self._get(order_id)
            if order.state in ("paid", "refunded"):
                raise ApiError(409, "ORDER_PAID")
            if order.state != "pending" and not self.accept_late_payments:
                raise ApiError(409, "ORDER_CLOSED")
            self._txn += 1
            order.state = "paid"
            order.gateway_txn = f"SANDBOX{self._txn:08d}"
            order.paid_at = self.now()
        self._schedule_notification(order, mode, self.notify_delay_s if delay_s is None else delay_s)
        return order

    def refund(self, order_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            refund_id = str(payload.get("refund_id") or "")
            amount = payload.get("amount_fen")
            if not refund_id or isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ApiError(400, "INVALID_REQUEST")
            for record in self.refunds:
                if record["refund_id"] == refund_id:
                    if record["order_id"] != order_id or record["amount_fen"] != amount:
                        raise ApiError(409, "REFUND_ID_REUSED")
                    return record
            order = self._get(order_id)
            if order.state not in ("paid", "refunded"):
                raise ApiError(409, "ORDER_NOT_PAID")
            if order.refunded_fen + amount > order.amount_fen:
                raise ApiError(409, "REFUND_EXCEEDS_PAYMENT")
            order.refunded_fen += amount
            if order.refunded_fen == order.amount_fen:
                order.state = "refunded"
            record = {"refund_id": refund_id, "order_id": order_id, "amount_fen": amount,
                      "created_at": _iso(self.now())}
            self.refunds.append(record)
            return record

    def records(self) -> dict[str, Any]:
        with self._lock:
            return {"orders": [self._get(o).as_json() for o in list(self.orders)],
                    "refunds": [dict(r) for r in self.refunds]}

    # --- notifications ------------------------------------------------------------------------
    def notification_body(self, order: SimOrder) -> bytes:
        return json.dumps({"order_id": order.order_id, "state": "paid", "amount_fen": order.amount_fen,
                           "gateway_txn": order.gateway_txn, "paid_at": _iso(order.paid_at or self.now())},
                          sort_keys=True).encode()

    def _schedule_notification(self, order: SimOrder, mode: str, delay_s: float) -> None:
        if mode == "never" or not order.notify_url:
            return
        body = self.notification_body(order)
        copies = 2 if mode == "twice" else 1
        wait = delay_s if mode == "late" else 0.0
        thread = threading.Thread(target=self._deliver, args=(order.notify_url, body, copies, wait, self._secret),
                                  name="sim-gateway-notify", daemon=True)
        self._threads.append(thread)
        thread.start()

    def send_forged_notification(self, order_id: str) -> None:
        """A notification claiming `order_id` is paid, signed with the wrong secret."""
        with self._lock:
            order = self._get(order_id)
            body = json.dumps({"order_id": order.order_id, "state": "paid", "amount_fen": order.amount_fen,
                               "gateway_txn": "FORGED"}, sort_keys=True).encode()
        self._deliver(order.notify_url, body, 1, 0.0, b"not-the-shared-secret")

    def _deliver(self, url: str, body: bytes, copies: int, wait_s: float, key: bytes) -> None:
        if wait_s and self._stop.wait(wait_s):
            return
        for _copy in range(copies):
            for attempt in range(self.notify_retries + 1):
                status = self._post(url, body, key)
                with self._lock:
                    self.deliveries.append({"url": url, "body": body.decode(), "status": status})
                if status == 200 or status == 401 or self._stop.wait(0.1 * 2 ** attempt):
                    break

    def _post(self, url: str, body: bytes, key: bytes) -> int:
        # Signatures use the real clock: `advance()` only moves order expiry.
        headers = {"Content-Type": "application/json", **signing.sign_headers(key, body, time.time())}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return 0

    # --- scripting ----------------------------------------------------------------------------
    def control(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if "advance_s" in payload:
                self.clock_offset_s += float(payload["advance_s"])
            if "notify" in payload:
                if payload["notify"] not in NOTIFY_MODES:
                    raise ApiError(400, "INVALID_NOTIFY_MODE")
                self.notify_mode = payload["notify"]
            if "delay_s" in payload:
                self.notify_delay_s = float(payload["delay_s"])
            if "fail_requests" in payload:
                self.fail_requests = int(payload["fail_requests"])
            if "cut_replies" in payload:
                self.cut_replies = int(payload["cut_replies"])
            if "stall_s" in payload:
                self.stall_s = float(payload["stall_s"])
            if "accept_late_payments" in payload:
                self.accept_late_payments = bool(payload["accept_late_payments"])
            if "notify_url" in payload:
                self.default_notify_url = str(payload["notify_url"])
        if "forge_notification" in payload:
            self.send_forged_notification(str(payload["forge_notification"]))
        return {"notify": self.notify_mode, "delay_s": self.notify_delay_s, "fail_requests": self.fail_requests,
                "cut_replies": self.cut_replies, "stall_s": self.stall_s, "accept_late_payments": self.accept_late_payments,
                "clock_offset_s": self.clock_offset_s}

    # --- HTTP ---------------------------------------------------------------------------------
    def _route(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        payload = json.loads(body) if body else {}
        if not isinstance(payload, dict):
            raise ApiError(400, "INVALID_REQUEST")
        if path == "/v1/control" and method == "POST":
            return 200, self.control(payload)
        pay = _PAY_PATH.match(path)
        if pay and method == "GET":
            with self._lock:
                return 200, self._get(pay.group(1)).as_json()
        if pay and method == "POST":
            return 200, self.pay(pay.group(1), payload.get("notify"), payload.get("delay_s")).as_json()
        match = _ORDER_PATH.match(path)
        if match and match.group(2) == "/pay" and method == "POST":
            return 200, self.pay(match.group(1), payload.get("notify"), payload.get("delay_s")).as_json()
        self._kiosk_request_checks(method, path, body, headers)
        if path == "/v1/orders" and method == "POST":
            return 200, self.create(payload).as_json()
        if path == "/v1/records" and method == "GET":
            return 200, self.records()
        if match and method == "GET" and match.group(2) is None:
            with self._lock:
                return 200, self._get(match.group(1)).as_json()
        if match and method == "POST" and match.group(2) == "/close":
            return 200, self.close_order(match.group(1)).as_json()
        if match and method == "POST" and match.group(2) == "/refunds":
            return 200, self.refund(match.group(1), payload)
        raise ApiError(404, "NOT_FOUND")

    def _kiosk_request_checks(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        with self._lock:
            stall, failing = self.stall_s, self.fail_requests > 0
            if failing:
                self.fail_requests -= 1
        if stall:
            self._stop.wait(stall)
        if failing:
            raise ApiError(503, "SYSTEM_BUSY")
        if self.verify_requests:
            try:
                signing.verify(self._secret, method.encode() + b" " + path.encode() + b"\n" + body, headers,
                               time.time(), 300)
            except signing.SignatureMismatch as exc:
                log.warning("sandbox gateway refused an unsigned request: %s", exc)
                raise ApiError(401, "BAD_SIGNATURE") from exc

    def _take_cut(self) -> bool:
        with self._lock:
            if self.cut_replies <= 0:
                return False
            self.cut_replies -= 1
            return True

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    status, data = gateway._route(self.command, self.path, body, dict(self.headers.items()))
                except ApiError as exc:
                    status, data = exc.status, {"error": exc.code}
                except (ValueError, TypeError) as exc:
                    status, data = 400, {"error": "INVALID_REQUEST", "detail": str(exc)}
                raw = json.dumps(data, ensure_ascii=False).encode()
                cut = self.path != "/v1/control" and gateway._take_cut()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))  # a cut reply still promises all of it
                self.end_headers()
                if cut:  # the gateway dies mid-answer: half the body, then the connection closes
                    self.wfile.write(raw[:len(raw) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(raw)

            do_GET = _serve  # noqa: N815
            do_POST = _serve  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                log.debug("sandbox %s", format % args)

        return Handler
