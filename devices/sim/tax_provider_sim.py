"""`SimTaxProvider`: a tax provider (Nuonuo 诺税通 open-API shape) over HTTP on 127.0.0.1, for tests and the demo.

Routes:
- POST /accessToken (form: client_id, client_secret, grant_type=client_credentials): an access token
  that lasts 24 h; at most 50 per 30 days, then error 070306.
- POST /open/v1/services?senid=&nonce=&timestamp=&appkey= with headers X-Nuonuo-Sign, accessToken,
  method: requestBillingNew, queryInvoiceResult, reInvoice, saveInvoiceRedConfirm,
  queryInvoiceRedConfirm, fastInvoiceRed, deliveryInvoice (re-send an issued invoice by SMS / e-mail), and the
  simulator's title-form methods. Answers are
  {"code", "describe", "result"}; every request is checked (signature over the exact body, app key,
  timestamp within 10 minutes, token) before the business checks in devices.sim.tax_sim_checks.
- GET/POST /title/SESSION: the phone-side title form; GET /invoices/NUMBER.pdf: an issued invoice.
- GET /sim/deliveries: every re-delivery made (invoice number, phone, mail, when), oldest first.
- POST /sim/control, GET /sim/state: the test hooks (delay, outage, stalls, the clock, scripted
  failures); see `control`. Not signed: the simulator listens on 127.0.0.1 only.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devices.sim import tax_sim_pages as pages
from devices.sim.tax_sim_book import TaxBook
from devices.sim.tax_sim_checks import Refusal
from devices.tax import nuonuo_protocol as wire

log = logging.getLogger(__name__)

DEFAULT_DELAY_S = 2.0
MAX_SKEW_S = 600
OUTAGE_MODES = ("503", "drop")
_TITLE_PATH = re.compile(r"^/title/([A-Za-z0-9_-]+)$")
_PDF_PATH = re.compile(r"^/invoices/(\d{20})\.pdf$")


class SimTaxProvider:
    """The simulated provider. `start()` returns its base URL; state lives in `book` behind one lock."""

    def __init__(self, app_key: str, app_secret: str, *, port: int = 0, delay_s: float = DEFAULT_DELAY_S,
                 seller_tax_id: str | None = None) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._request_handler())
        self._server.daemon_threads = True
        self.book = TaxBook(app_key=app_key, app_secret=app_secret, seller_tax_id=seller_tax_id,
                            base_url=self.url, delay_s=delay_s)
        self.outage = ""  # "", "503" (answer Service Unavailable) or "drop" (close without answering)
        self.stall_s = 0.0  # hold every answer this long after doing the work (a reply that comes too late)
        self.rate_limit = 0  # answer the next N service calls with the rate-limit code
        self.token_outage = False  # only the token endpoint is down (it is on another host at Nuonuo)
        self.clock_offset_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="sim-tax", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=3)

    def __enter__(self) -> SimTaxProvider:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    # --- test hooks ---------------------------------------------------------------------------
    def control(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Change the simulator's behaviour at runtime; returns the current settings."""
        book = self.book
        with book.lock:
            if "delay_s" in payload:
                book.delay_s = max(0.0, float(payload["delay_s"]))
            if "outage" in payload:
                mode = payload["outage"]
                mode = "503" if mode is True else "" if mode in (False, None) else str(mode)
                if mode and mode not in OUTAGE_MODES:
                    raise ValueError(f"outage is one of {OUTAGE_MODES} or false")
                self.outage = mode
            if "stall_s" in payload:
                self.stall_s = max(0.0, float(payload["stall_s"]))
            if "advance_s" in payload:
                self.clock_offset_s += float(payload["advance_s"])
            if "rate_limit" in payload:
                self.rate_limit = int(payload["rate_limit"])
            if "token_outage" in payload:
                self.token_outage = bool(payload["token_outage"])
            if "token_ttl_s" in payload:
                book.token_ttl_s = float(payload["token_ttl_s"])
            if "token_budget" in payload:
                book.token_budget = int(payload["token_budget"])
            if payload.get("expire_tokens"):
                book.expire_tokens()
            if payload.get("forget_token_history"):
                book.token_times.clear()
            if "seal_failures" in payload:
                book.seal_failures = int(payload["seal_failures"])
            if "fail_next" in payload:
                book.fail_next.extend(str(reason) for reason in payload["fail_next"])
            if "unregistered_tax_ids" in payload:
                book.unregistered_tax_ids = {str(t) for t in payload["unregistered_tax_ids"]}
            if "listing_lag_s" in payload:
                book.listing_lag_s = max(0.0, float(payload["listing_lag_s"]))
            if "red_form_status" in payload:
                book.red_form_status = str(payload["red_form_status"])
            if payload.get("confirm_red_forms"):
                book.confirm_red_forms()
            return {"delay_s": book.delay_s, "outage": self.outage or False, "stall_s": self.stall_s,
                    "clock_offset_s": self.clock_offset_s, "rate_limit": self.rate_limit,
                    "token_outage": self.token_outage,
                    "token_ttl_s": book.token_ttl_s, "token_budget": book.token_budget,
                    "seal_failures": book.seal_failures, "fail_next": list(book.fail_next),
                    "unregistered_tax_ids": sorted(book.unregistered_tax_ids),
                    "red_form_status": book.red_form_status, "listing_lag_s": book.listing_lag_s}

    # --- the API ------------------------------------------------------------------------------
    def token(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            return {"error": wire.INVALID_FIELD, "error_description": "grant_type只支持client_credentials"}
        try:
            token, ttl = self.book.issue_token(form.get("client_id", ""), form.get("client_secret", ""), self.now())
        except Refusal as exc:
            return {"error": exc.code, "error_description": exc.describe}
        return {"access_token": token, "expires_in": ttl}

    def service(self, query: dict[str, str], headers: dict[str, str], body: bytes) -> dict[str, Any]:
        try:
            self._check_request(query, headers, body)
            method = headers.get("method", "")
            payload = json.loads(body.decode("utf-8")) if body else {}
            return {"code": wire.SUCCESS, "describe": "成功", "result": self._dispatch(method, payload)}
        except Refusal as exc:
            return {"code": exc.code, "describe": exc.describe, "result": None}
        except (ValueError, UnicodeDecodeError) as exc:
            return {"code": wire.INVALID_FIELD, "describe": f"请求报文不是合法的JSON：{exc}", "result": None}

    def _check_request(self, query: dict[str, str], headers: dict[str, str], body: bytes) -> None:
        book = self.book
        if query.get("appkey") != book.app_key:
            raise Refusal(wire.APPKEY_INVALID, "获取app密钥失败或appkey无效")
        senid, nonce, stamp = query.get("senid", ""), query.get("nonce", ""), query.get("timestamp", "")
        if len(senid) != 32 or not (len(nonce) == 8 and nonce.isdigit() and nonce[0] != "0") or not stamp.isdigit():
            raise Refusal(wire.BAD_SIGNATURE, "senid须为32位，nonce须为8位正整数，timestamp须为秒数")
        if abs(int(stamp) - time.time()) > MAX_SKEW_S:
            raise Refusal(wire.BAD_SIGNATURE, "timestamp与服务器时间相差超过10分钟")
        expected = wire.sign(book.app_secret, book.app_key, senid, nonce, stamp,
                             body.decode("utf-8", "replace"))
        if not wire.signature_matches(expected, headers.get("x-nuonuo-sign", "")):
            log.warning("tax simulator refused a request with a bad signature")
            raise Refusal(wire.BAD_SIGNATURE, "签名校验失败")
        book.check_token(headers.get("accesstoken", ""), self.now())
        with book.lock:
            if self.rate_limit > 0:
                self.rate_limit -= 1
                raise Refusal(wire.RATE_LIMITED, "接口调用频率超限，请稍后再试")

    def _dispatch(self, method: str, payload: Any) -> Any:
        book, now = self.book, self.now()
        if method == wire.REQUEST_BILLING:
            return {"invoiceSerialNum": book.request_billing(payload, now)}
        if method == wire.QUERY_RESULT:
            return book.query(payload, now)
        if method == wire.REINVOICE:
            book.reinvoice(payload, now)
            return None
        if method == wire.SAVE_RED_CONFIRM:
            return book.save_red_form(payload, now)
        if method == wire.QUERY_RED_CONFIRM:
            return book.query_red_forms(payload)
        if method == wire.FAST_RED:
            return {"invoiceSerialNum": book.fast_red(payload, now)}
        if method == wire.DELIVER_INVOICE:
            book.deliver(payload, now)
            return None
        if method == wire.TITLE_FORM_OPEN:
            expires_in = payload.get("expiresIn", 300) if isinstance(payload, dict) else 300
            session_id, expires_at = book.open_title(float(expires_in), now)
            return {"sessionId": session_id, "url": f"{self.url}/title/{session_id}",
                    "expiresAt": int(expires_at * 1000)}
        if method == wire.TITLE_FORM_READ:
            return book.read_title(str(payload.get("sessionId", "")) if isinstance(payload, dict) else "", now)
        raise Refusal(wire.INVALID_FIELD, f"不支持的方法：{method or '（空）'}")

    # --- HTTP ---------------------------------------------------------------------------------
    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, data: Any, status: int = 200) -> None:
                self._reply(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                            "application/json; charset=utf-8")

            def _html(self, text: str, status: int = 200) -> None:
                self._reply(status, text.encode("utf-8"), "text/html; charset=utf-8")

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                path = parts.path
                if path.startswith("/sim/"):
                    self._test_hook(path, body)
                    return
                if sim.outage or (sim.token_outage and path == wire.TOKEN_PATH):
                    if sim.outage == "drop":
                        self.close_connection = True
                        return
                    self._html("<h1>503 Service Unavailable</h1>", 503)
                    return
                try:
                    self._route(path, parts.query, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                except Exception:  # a simulator bug: say so (HTTP 500) instead of dropping the connection
                    log.exception("tax simulator failed on %s %s", self.command, path)
                    self._json({"code": "E9999", "describe": "simulator error"}, 500)

            def _route(self, path: str, query_text: str, body: bytes) -> None:
                query = {k: v[0] for k, v in parse_qs(query_text).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                if path == wire.TOKEN_PATH and self.command == "POST":
                    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
                    answer = sim.token(form)
                elif path == wire.SERVICES_PATH and self.command == "POST":
                    answer = sim.service(query, headers, body)
                elif (title := _TITLE_PATH.match(path)) is not None:
                    self._title(title.group(1), body)
                    return
                elif (pdf := _PDF_PATH.match(path)) is not None and self.command == "GET":
                    lines = sim.book.pdf_lines(pdf.group(1))
                    if lines is None:
                        self._html("<h1>404</h1>", 404)
                    else:
                        self._reply(200, pages.invoice_pdf(lines), "application/pdf")
                    return
                else:
                    self._html("<h1>404 Not Found</h1>", 404)
                    return
                if sim.stall_s and sim._stop.wait(sim.stall_s):
                    return
                self._json(answer)

            def _title(self, session_id: str, body: bytes) -> None:
                now = sim.now()
                try:
                    state = sim.book.read_title(session_id, now)["status"]
                except Refusal:
                    self._html(pages.title_gone(), 404)
                    return
                if self.command == "GET" or state == "expired":
                    self._html(pages.title_form(session_id) if state != "expired" else pages.title_gone(),
                               200 if state != "expired" else 410)
                    return
                form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
                kind, name, tax_id = form.get("kind", ""), form.get("name", ""), form.get("tax_id", "")
                try:
                    problem = sim.book.submit_title(session_id, kind, name, tax_id, now)
                except Refusal:
                    self._html(pages.title_gone(), 410)
                    return
                if problem:
                    self._html(pages.title_form(session_id, error=problem, kind=kind, name=name, tax_id=tax_id), 422)
                else:
                    self._html(pages.title_done(name.strip()))

            def _test_hook(self, path: str, body: bytes) -> None:
                try:
                    if path == "/sim/control" and self.command == "POST":
                        payload = json.loads(body or b"{}")
                        if not isinstance(payload, dict):
                            raise ValueError("control takes a JSON object")
                        self._json(sim.control(payload))
                    elif path == "/sim/state" and self.command == "GET":
                        self._json(sim.book.summary(sim.now()))
                    elif path == "/sim/deliveries" and self.command == "GET":
                        with sim.book.lock:
                            self._json(list(sim.book.deliveries))
                    else:
                        self._json({"error": "not found"}, 404)
                except (ValueError, TypeError) as exc:
                    self._json({"error": str(exc)}, 400)

            do_GET = _serve  # noqa: N815
            do_POST = _serve  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                log.debug("tax simulator %s", format % args)

        return Handler
