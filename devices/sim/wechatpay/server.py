"""`SimWeChatPay`: WeChat Pay API v3 (Native) over HTTP on 127.0.0.1, signed the way the real platform signs.

Requests under /v3 must carry a WECHATPAY2-SHA256-RSA2048 Authorization made with the merchant key
(401 SIGN_ERROR otherwise); every answer carries Wechatpay-Signature/-Timestamp/-Nonce/-Serial made with
the platform key, the serial being the platform certificate's (certificate mode) or the platform public
key id (public-key mode). Payment and refund notifications are POSTed to the notify_url, signed, with the
resource AEAD_AES_256_GCM-encrypted under the APIv3 key.

`POST /sim/control` (JSON, unsigned) plays the resident and the network:
  {"action": "pay", "out_trade_no": X, "notify": "once|twice|late|never", "delay_s": S, "after_s": S}
  {"action": "fail", "count": N, "status": 500}     the next N /v3 requests answer SYSTEM_ERROR
  {"action": "stall", "count": N, "seconds": S}     the next N /v3 requests answer after S seconds
  {"action": "latency", "ms": N}                    every /v3 answer waits N ms
  {"action": "platform", "mode": "certificate|public_key"}
  {"action": "forge_notification", "out_trade_no": X}  a notification signed with a stranger's key
  {"action": "codepay", "buyer": "pay|pin|decline", "pin_ms": N|null}  the next 付款码 orders: paid at once,
                                                    USERPAYING until the PIN (never if null), or NOTENOUGH
  {"action": "bills_today", "ready": true}          today's trade bill can be downloaded (else STATEMENT_CREATING)
`GET /sim/state` lists orders, refunds and every notification attempt.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from devices.sim.wechatpay.bills import BILL_TYPES, trade_bill
from devices.sim.wechatpay.credentials import Credentials
from devices.sim.wechatpay.ledger import CHINA, ApiError, Ledger, Order, Refund, rfc3339
from devices.sim.wechatpay.wire_crypto import AuthError, check_authorization, encrypt_resource, signed_headers

log = logging.getLogger(__name__)

NOTIFY_MODES = ("once", "twice", "late", "never")
PLATFORM_MODES = ("certificate", "public_key")
CODEPAY_BUYERS = ("pay", "pin", "decline")
_ORDER = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/?]+)$")
_ORDER_BY_ID = re.compile(r"^/v3/pay/transactions/id/([^/?]+)$")
_CLOSE = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/?]+)/close$")
_REVERSE = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/?]+)/reverse$")
_REFUND = re.compile(r"^/v3/refund/domestic/refunds/([^/?]+)$")


class SimWeChatPay:
    """The simulator; `start()` returns its base URL (give it to the SDK as its gateway)."""

    def __init__(self, credentials: Credentials, *, port: int = 0, latency_ms: int = 0,
                 platform_mode: str = "certificate", notify_delay_s: float = 0.2, notify_retries: int = 3,
                 notify_retry_s: float = 0.5) -> None:
        if platform_mode not in PLATFORM_MODES:
            raise ValueError(f"platform mode must be one of {PLATFORM_MODES}")
        self.creds = credentials
        self.ledger = Ledger(credentials.mchid, credentials.appid)
        self.latency_s = latency_ms / 1000
        self.platform_mode = platform_mode
        self.notify_delay_s = notify_delay_s
        self.notify_retries = notify_retries
        self.notify_retry_s = notify_retry_s
        self.fail_count = 0
        self.fail_status = 500
        self.stall_count = 0
        self.stall_s = 0.0
        self.deliveries: list[dict[str, Any]] = []
        self.codepay_buyer = "pay"  # what the resident does after the kiosk scans the code: pay, pin, decline
        self.codepay_pin_s: float | None = 2.0  # pin: seconds until the PIN is confirmed (None: never)
        self.bills_today = False  # today's bill is being made (STATEMENT_CREATING) unless a test says otherwise
        self.bill_files: dict[str, bytes] = {}
        self._merchant_key = credentials.merchant_public_key()
        self._platform_key = credentials.platform_private_key()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="sim-wechatpay",
                                        daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def __enter__(self) -> SimWeChatPay:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- signing ------------------------------------------------------------------------------
    @property
    def serial(self) -> str:
        return self.creds.platform_serial_no if self.platform_mode == "certificate" else self.creds.platform_public_key_id

    def _signed(self, body: str, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        return signed_headers(body, key or self._platform_key, self.serial)

    # --- the API ------------------------------------------------------------------------------
    def api(self, method: str, raw_path: str, body: str) -> tuple[int, dict[str, Any] | None]:
        path = urlsplit(raw_path).path
        query = {k: v[-1] for k, v in parse_qs(urlsplit(raw_path).query).items()}
        payload: dict[str, Any] = {}
        if body:
            try:
                payload = json.loads(body)
            except ValueError as exc:
                raise ApiError(400, "PARAM_ERROR", "请求体不是合法的 JSON") from exc
            if not isinstance(payload, dict):
                raise ApiError(400, "PARAM_ERROR", "请求体必须是 JSON 对象")
        ledger = self.ledger
        if method == "GET" and path == "/v3/certificates":
            return 200, self._certificates()
        if method == "POST" and path == "/v3/pay/transactions/native":
            return 200, {"code_url": ledger.create_native(payload).code_url}
        if method == "POST" and path == "/v3/pay/transactions/codepay":
            return 200, ledger.create_codepay(payload, self.codepay_buyer, self.codepay_pin_s).as_json()
        if method == "POST" and (m := _REVERSE.match(path)):
            ledger.reverse(m.group(1), payload)
            return 204, None
        if method == "POST" and (m := _CLOSE.match(path)):
            ledger.close(m.group(1), str(payload.get("mchid", "")))
            return 204, None
        if method == "GET" and (m := _ORDER.match(path)):
            self._check_mchid(query)
            return 200, ledger.find(m.group(1)).as_json()
        if method == "GET" and (m := _ORDER_BY_ID.match(path)):
            self._check_mchid(query)
            return 200, ledger.find_by_transaction(m.group(1)).as_json()
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            record = ledger.refund(payload)
            if record.notify_url and not record.notified:
                record.notified = True
                self._schedule(lambda: self._refund_notification(record), "once", self.notify_delay_s, record.notify_url)
            return 200, record.as_json(None)
        if method == "GET" and (m := _REFUND.match(path)):
            return 200, ledger.find_refund(m.group(1)).as_json(time.time())
        if method == "GET" and path == "/v3/bill/tradebill":
            return 200, self._trade_bill(query)
        raise ApiError(404, "NOT_FOUND", f"{method} {path} is not implemented by the simulator")

    def _trade_bill(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            day = date.fromisoformat(query.get("bill_date", ""))
        except ValueError as exc:
            raise ApiError(400, "PARAM_ERROR", "bill_date 须为 YYYY-MM-DD") from exc
        bill_type, tar_type = query.get("bill_type", "ALL"), query.get("tar_type", "")
        if bill_type not in BILL_TYPES or tar_type not in ("", "GZIP"):
            raise ApiError(400, "PARAM_ERROR", "bill_type 或 tar_type 错误")
        today = datetime.now(CHINA).date()
        if day > today or (day == today and not self.bills_today):
            raise ApiError(400, "STATEMENT_CREATING" if day == today else "PARAM_ERROR",
                           "账单生成中" if day == today else "账单日期不能晚于今天")
        text, rows = trade_bill(self.ledger, day, bill_type)
        if rows == 0:
            raise ApiError(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        raw = text.encode("utf-8")
        token = secrets.token_urlsafe(16)
        with self._lock:
            self.bill_files[token] = gzip.compress(raw) if tar_type == "GZIP" else raw
        return {"hash_type": "SHA1", "hash_value": hashlib.sha1(raw).hexdigest(),  # noqa: S324 - the API's choice
                "download_url": f"{self.url}/v3/billdownload/file?token={token}"}

    def bill_file(self, raw_path: str) -> bytes:
        token = parse_qs(urlsplit(raw_path).query).get("token", [""])[-1]
        with self._lock:
            data = self.bill_files.get(token)
        if data is None:
            raise ApiError(400, "INVALID_REQUEST", "下载地址无效或已过期")
        return data

    def _check_mchid(self, query: dict[str, str]) -> None:
        if query.get("mchid") != self.creds.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 与请求方商户号不一致")

    def _certificates(self) -> dict[str, Any]:
        from cryptography import x509

        pem = self.creds.text("platform_certificate")
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        return {"data": [{
            "serial_no": self.creds.platform_serial_no,
            "effective_time": rfc3339(cert.not_valid_before_utc.timestamp()),
            "expire_time": rfc3339(cert.not_valid_after_utc.timestamp()),
            "encrypt_certificate": encrypt_resource(pem, self.creds.apiv3_key, "certificate"),
        }]}

    # --- the resident and the network ---------------------------------------------------------
    def control(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        action = payload.get("action")
        if action == "pay":
            out_trade_no = str(payload.get("out_trade_no", ""))
            mode = str(payload.get("notify", "once"))
            if mode not in NOTIFY_MODES:
                raise ApiError(400, "PARAM_ERROR", f"notify must be one of {NOTIFY_MODES}")
            delay = float(payload.get("delay_s", self.notify_delay_s))
            after = float(payload.get("after_s", 0))
            if after > 0:
                self.ledger.find(out_trade_no)
                threading.Thread(target=self._pay_later, args=(out_trade_no, mode, delay, after), daemon=True).start()
                return 202, {"scheduled_in_s": after}
            return 200, self.pay(out_trade_no, mode, delay).as_json()
        if action == "fail":
            self.fail_count, self.fail_status = int(payload.get("count", 1)), int(payload.get("status", 500))
        elif action == "stall":
            self.stall_count, self.stall_s = int(payload.get("count", 1)), float(payload.get("seconds", 30))
        elif action == "codepay":
            buyer = str(payload.get("buyer", "pay"))
            if buyer not in CODEPAY_BUYERS:
                raise ApiError(400, "PARAM_ERROR", f"buyer must be one of {CODEPAY_BUYERS}")
            pin_ms = payload.get("pin_ms", 2000)
            self.codepay_buyer, self.codepay_pin_s = buyer, None if pin_ms is None else float(pin_ms) / 1000
        elif action == "bills_today":
            self.bills_today = bool(payload.get("ready", True))
        elif action == "latency":
            self.latency_s = int(payload.get("ms", 0)) / 1000
        elif action == "platform":
            mode = str(payload.get("mode"))
            if mode not in PLATFORM_MODES:
                raise ApiError(400, "PARAM_ERROR", f"mode must be one of {PLATFORM_MODES}")
            self.platform_mode = mode
        elif action == "forge_notification":
            order = self.ledger.find(str(payload.get("out_trade_no", "")))
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._deliver(order.notify_url, self._payment_event(order), key=stranger, attempts=1, label="forged")
        else:
            raise ApiError(400, "PARAM_ERROR", f"unknown action {action!r}")
        return 200, {"ok": True}

    def pay(self, out_trade_no: str, notify: str = "once", delay_s: float | None = None) -> Order:
        order = self.ledger.pay(out_trade_no)
        self._schedule(lambda: self._payment_event(order), notify,
                       self.notify_delay_s if delay_s is None else delay_s, order.notify_url)
        return order

    def _pay_later(self, out_trade_no: str, mode: str, delay: float, after: float) -> None:
        if self._stop.wait(after):
            return
        try:
            self.pay(out_trade_no, mode, delay)
        except ApiError as exc:
            log.info("late payment of %s refused: %s", out_trade_no, exc)

    def state(self) -> dict[str, Any]:
        now = time.time()
        with self.ledger.lock:
            return {"orders": [o.as_json() for o in self.ledger.orders.values()],
                    "refunds": [r.as_json(now) for r in self.ledger.refunds.values()],
                    "deliveries": list(self.deliveries)}

    # --- notifications ------------------------------------------------------------------------
    def _payment_event(self, order: Order) -> str:
        return self._event("TRANSACTION.SUCCESS", "支付成功", "transaction", order.as_json())

    def _refund_notification(self, record: Refund) -> str:
        data = record.as_json(max(time.time(), record.settles_at))
        resource = {k: data[k] for k in ("out_trade_no", "transaction_id", "out_refund_no", "refund_id",
                                         "user_received_account")}
        resource.update(mchid=self.creds.mchid, refund_status=data["status"])
        resource["amount"] = {k: data["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")}
        resource["success_time"] = data.get("success_time", rfc3339(time.time()))
        return self._event("REFUND.SUCCESS", "退款成功", "refund", resource)

    def _event(self, event_type: str, summary: str, original_type: str, resource: dict[str, Any]) -> str:
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
        return json.dumps({
            "id": str(uuid.uuid4()), "create_time": rfc3339(time.time()), "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type,
                         **encrypt_resource(plaintext, self.creds.apiv3_key, original_type)},
        }, ensure_ascii=False, separators=(",", ":"))

    def _schedule(self, make_body: Callable[[], str], mode: str, delay_s: float, url: str) -> None:
        if mode == "never" or not url:
            return
        copies = 2 if mode == "twice" else 1

        def run() -> None:
            if self._stop.wait(delay_s):
                return
            for copy in range(copies):
                self._deliver(url, make_body(), attempts=self.notify_retries, label=f"{mode}#{copy + 1}")

        threading.Thread(target=run, name="sim-wechatpay-notify", daemon=True).start()

    def _deliver(self, url: str, body: str, *, key: rsa.RSAPrivateKey | None = None, attempts: int,
                 label: str) -> None:
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST",
                                             headers={"Content-Type": "application/json", **self._signed(body, key)})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                status = 0
                log.info("notification to %s failed: %s", url, exc)
            with self._lock:
                self.deliveries.append({"url": url, "label": label, "attempt": attempt, "status": status,
                                        "body": body})
            if 200 <= status < 300 or self._stop.wait(self.notify_retry_s):
                return

    # --- HTTP ---------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                try:
                    if self.path.startswith("/sim/"):
                        self._sim(method, body)
                        return
                    self._v3(method, body)
                except ApiError as exc:
                    self._answer(exc.status, {"code": exc.code, "message": exc.message})

            def _sim(self, method: str, body: str) -> None:
                if method == "GET" and self.path == "/sim/state":
                    self._answer(200, sim.state(), sign=False)
                elif method == "POST" and self.path == "/sim/control":
                    try:
                        payload = json.loads(body or "{}")
                    except ValueError as exc:
                        raise ApiError(400, "PARAM_ERROR", "control body is not JSON") from exc
                    status, answer = sim.control(payload if isinstance(payload, dict) else {})
                    self._answer(status, answer, sign=False)
                else:
                    raise ApiError(404, "NOT_FOUND", self.path)

            def _v3(self, method: str, body: str) -> None:
                if sim.latency_s:
                    time.sleep(sim.latency_s)
                with sim._lock:
                    stall = sim.stall_count > 0
                    sim.stall_count -= 1 if stall else 0
                    fail = sim.fail_count > 0
                    sim.fail_count -= 1 if fail else 0
                if stall:
                    sim._stop.wait(sim.stall_s)
                if fail:
                    raise ApiError(sim.fail_status, "SYSTEM_ERROR", "系统错误")
                try:
                    check_authorization(self.headers.get("Authorization", ""), method, self.path, body,
                                        mchid=sim.creds.mchid, serial_no=sim.creds.merchant_serial_no,
                                        public_key=sim._merchant_key)
                except AuthError as exc:
                    raise ApiError(401, "SIGN_ERROR", f"签名错误: {exc}") from exc
                if method == "GET" and self.path.startswith("/v3/billdownload/file?"):
                    self._file(sim.bill_file(self.path))
                    return
                status, answer = sim.api(method, self.path, body)
                self._answer(status, answer)

            def _file(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, status: int, payload: dict[str, Any] | None, sign: bool = True) -> None:
                text = "" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
                data = text.encode("utf-8")
                self.send_response(status)
                if payload is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-ID", secrets.token_hex(16))
                if sign:
                    for name, value in sim._signed(text).items():
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                log.debug("wechatpay sim: " + format, *args)

        return Handler
