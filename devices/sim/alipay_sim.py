"""`SimAlipay`: the Alipay openapi gateway (`/gateway.do`) on 127.0.0.1, close enough to the published API
that the unmodified python-alipay-sdk works against it with only its gateway URL changed.

Requests: GET query string or POST form, public parameters (app_id, method, charset, sign_type=RSA2,
timestamp, version, sign, notify_url) plus biz_content JSON; the RSA2 signature is checked over every
non-empty parameter but `sign`, sorted. Answers: `{"<method>_response": {...}, "sign": "..."}` where the
signature covers the exact bytes of the inner object. Paid trades are notified by a form POST to
notify_url (signed over every field but sign and sign_type); anything but the body `success` is retried.

Control (JSON POST /sim/control, answer = state): {"action": "pay", "out_trade_no": X, "after_ms": N}
(the buyer scans and pays, now or later), {"action": "scan", ...} (scanned, not paid), {"bar_code": "pay" |
"pin" | "decline", "pin_ms": N or null} (null: the PIN never comes), {"fault": "timeout" | "5xx" | null,
"fault_count": N, "stall_ms": N}, {"latency_ms": N}, {"bill_lag_days": N} (default 1; 0: today's bill at once), {"notify": "once" | "twice" | "never"}.
GET /sim/state lists trades and notifications; GET /sim/bill/DATE.zip is the downloadable bill.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devices.sim.alipay_keys import AlipayKeys, load_or_create, signing_string, write_credentials
from devices.sim.alipay_trades import Failure, Trade, TradeBook, china_now, sleep_ms

log = logging.getLogger(__name__)

METHODS = ("alipay.trade.precreate", "alipay.trade.pay", "alipay.trade.query", "alipay.trade.cancel",
           "alipay.trade.close", "alipay.trade.refund", "alipay.data.dataservice.bill.downloadurl.query")
BILL_HEADER = ["支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
               "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
               "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
               "服务费（元）", "分润（元）", "备注"]


class SimAlipay:
    """The simulator. `start()` returns its base URL; the gateway is `url + "/gateway.do"`."""

    def __init__(self, keys_dir: Path, *, port: int = 0, latency_ms: int = 0, notify_retry_s: float = 0.5,
                 notify_attempts: int = 3) -> None:
        self.keys: AlipayKeys = load_or_create(keys_dir)
        self.book = TradeBook()
        self.latency_ms = latency_ms
        self.fault: str | None = None
        self.fault_count = 0
        self.stall_ms = 3000
        self.bill_lag_days = 1  # a day's bill exists from the next day (Alipay: after 09:00); 0: at once
        self.notify_mode = "once"
        self.notify_retry_s = notify_retry_s
        self.notify_attempts = notify_attempts
        self.notifications: list[dict[str, Any]] = []  # every delivery attempt and its answer
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def gateway_url(self) -> str:
        return self.url + "/gateway.do"

    def start(self) -> str:
        write_credentials(self.keys, self.gateway_url)
        self._thread = threading.Thread(target=self._server.serve_forever, name="alipay-sim", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- faults ----------------------------------------------------------------------------------
    def take_fault(self) -> str | None:
        with self._lock:
            if self.fault is None or self.fault_count == 0:
                return None
            self.fault_count -= 1
            fault = self.fault
            if self.fault_count == 0:
                self.fault = None
            return fault

    # --- the gateway -----------------------------------------------------------------------------
    def answer(self, params: dict[str, str]) -> str:
        """The JSON answer text for one gateway call (already signed)."""
        method = params.get("method", "")
        key = method.replace(".", "_") + "_response" if method in METHODS else "error_response"
        try:
            self._check(params, method)
            biz = json.loads(params.get("biz_content") or "{}")
            if not isinstance(biz, dict):
                raise Failure("40002", "Invalid Arguments", "isv.invalid-parameter", "biz_content 无效")
            body = self._call(method, biz, params.get("notify_url", ""))
        except Failure as exc:
            body = exc.body
        except json.JSONDecodeError:
            body = Failure("40002", "Invalid Arguments", "isv.invalid-parameter", "biz_content 不是 JSON").body
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return '{"%s":%s,"sign":"%s"}' % (key, inner, self.keys.sign(inner))

    def _check(self, params: dict[str, str], method: str) -> None:
        if method not in METHODS:
            raise Failure("40002", "Invalid Arguments", "isv.invalid-method", f"不存在的方法名 {method}")
        if params.get("app_id") != self.keys.app_id:
            raise Failure("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
        if params.get("sign_type") != "RSA2":
            raise Failure("40002", "Invalid Arguments", "isv.invalid-signature-type", "无效的签名类型")
        if not params.get("sign"):
            raise Failure("40001", "Missing Required Arguments", "isv.missing-signature", "缺少签名参数")
        try:
            datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise Failure("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数") from None
        if not self.keys.verify_app(signing_string(params), params["sign"]):
            raise Failure("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错")

    def _call(self, method: str, biz: dict[str, Any], notify_url: str) -> dict[str, Any]:
        ok = {"code": "10000", "msg": "Success"}
        book = self.book
        if method == "alipay.trade.precreate":
            return {**ok, **book.precreate(biz, notify_url)}
        if method == "alipay.trade.pay":
            fields, trade = book.pay(biz, notify_url)
            if trade.status == "TRADE_SUCCESS":
                self._notify_later(trade, 0)
                return {**ok, **fields}
            if book.pin_ms is not None:
                self.pay_later(trade.out_trade_no, book.pin_ms)
            return {"code": "10003", "msg": "order success pay inprocess", **fields}
        if method == "alipay.trade.query":
            answer = book.query(biz)
            return {**ok, **{k: v for k, v in answer.items() if v is not None}}
        if method == "alipay.trade.cancel":
            return {**ok, **book.cancel(biz)[0]}
        if method == "alipay.trade.close":
            return {**ok, **book.close(biz)}
        if method == "alipay.trade.refund":
            return {**ok, **book.refund(biz)}
        return {**ok, **self._bill_url(biz)}

    def _bill_url(self, biz: dict[str, Any]) -> dict[str, Any]:
        if biz.get("bill_type") not in ("trade", "signcustomer"):
            raise Failure("40004", "Business Failed", "isp.bill_type_not_exist", "账单类型不存在")
        day = str(biz.get("bill_date") or "")
        try:
            if (china_now().date() - date.fromisoformat(day)).days < self.bill_lag_days:
                raise Failure("40004", "Business Failed", "isp.bill_not_exist", "账单不存在")
        except ValueError:
            raise Failure("40004", "Business Failed", "isp.bill_date_invalid", "账单日期格式不正确") from None
        return {"bill_download_url": f"{self.url}/sim/bill/{day}.zip"}

    def bill_zip(self, day: str) -> bytes:
        """The bill as Alipay serves it: a zip holding a GBK CSV of the day's payments and refunds."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([f"#支付宝业务明细查询  账号：[{self.keys.app_id}]"])
        writer.writerow([f"#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]"])
        writer.writerow(BILL_HEADER)
        for trade_no, out_no, kind, subject, created, done, amount, request_no in self.book.bill_rows(day):
            writer.writerow([trade_no, out_no, kind, subject, created, done, "", "", "", "", "kio***@sim.alipay",
                             amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
                             request_no, "0.00", "0.00", ""])
        writer.writerow(["#-----------------------------------------业务明细列表结束------------------------------------"])
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            stem = f"{self.keys.app_id}_{day.replace('-', '')}"
            z.writestr(f"{stem}_业务明细.csv", text.getvalue().encode("gbk"))
            rows = self.book.bill_rows(day)
            summary = f"#支付宝业务汇总查询\r\n交易笔数,{sum(1 for r in rows if r[2] == '交易')}\r\n"
            z.writestr(f"{stem}_业务明细(汇总).csv", summary.encode("gbk"))
        return out.getvalue()

    # --- the buyer and the notify ----------------------------------------------------------------
    def control(self, change: dict[str, Any]) -> dict[str, Any]:
        action = change.get("action")
        if action in ("pay", "scan"):
            with self.book.lock:
                trade = self.book.trades.get(str(change.get("out_trade_no")))
                if trade is None:
                    raise KeyError(change.get("out_trade_no"))
                trade.scanned = True
            if action == "pay":
                self.pay_later(trade.out_trade_no, int(change.get("after_ms") or 0))
        if "bar_code" in change:
            self.book.bar_code_mode = str(change["bar_code"])
        if "pin_ms" in change:
            self.book.pin_ms = change["pin_ms"]
        if "fault" in change:
            with self._lock:
                self.fault = change["fault"]
                self.fault_count = int(change.get("fault_count", 1)) if self.fault else 0
        if "stall_ms" in change:
            self.stall_ms = int(change["stall_ms"])
        if "bill_lag_days" in change:
            self.bill_lag_days = int(change["bill_lag_days"])
        if "latency_ms" in change:
            self.latency_ms = int(change["latency_ms"])
        if "notify" in change:
            self.notify_mode = str(change["notify"])
        return self.state()

    def state(self) -> dict[str, Any]:
        with self._lock:
            notes = list(self.notifications)
        return {**self.book.snapshot(), "notifications": notes, "latency_ms": self.latency_ms,
                "fault": self.fault, "fault_count": self.fault_count, "notify": self.notify_mode}

    def pay_later(self, out_trade_no: str, after_ms: int) -> None:
        def run() -> None:
            sleep_ms(after_ms)
            trade = self.book.trades[out_trade_no]
            if self.book.mark_paid(trade):
                self._notify_later(trade, 0)
        threading.Thread(target=run, name=f"alipay-pay-{out_trade_no}", daemon=True).start()

    def notify_fields(self, trade: Trade) -> dict[str, str]:
        """The asynchronous notification's form fields, signed as Alipay signs them."""
        f = trade.public()
        fields = {
            "notify_time": china_now().strftime("%Y-%m-%d %H:%M:%S"), "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex, "app_id": self.keys.app_id, "charset": "utf-8", "version": "1.0",
            "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "trade_status": trade.status,
            "total_amount": f["total_amount"], "receipt_amount": f["total_amount"],
            "buyer_pay_amount": f["total_amount"], "invoice_amount": f["total_amount"], "subject": trade.subject,
            "gmt_create": trade.gmt_create, "gmt_payment": trade.gmt_payment, "buyer_id": "2088102177846880",
            "seller_id": "2088102177000000", "auth_app_id": self.keys.app_id,
        }
        fields["sign"] = self.keys.sign(signing_string(fields, drop=("sign", "sign_type")))
        fields["sign_type"] = "RSA2"
        return fields

    def _notify_later(self, trade: Trade, delay_ms: int) -> None:
        if self.notify_mode == "never" or not trade.notify_url:
            return
        times = 2 if self.notify_mode == "twice" else 1

        def run() -> None:
            sleep_ms(delay_ms)
            fields = self.notify_fields(trade)
            for _ in range(times):
                self._deliver(trade.notify_url, fields)
        threading.Thread(target=run, name=f"alipay-notify-{trade.out_trade_no}", daemon=True).start()

    def _deliver(self, url: str, fields: dict[str, str]) -> None:
        body = urllib.parse.urlencode(fields).encode("utf-8")
        for attempt in range(1, self.notify_attempts + 1):
            answer = ""
            try:
                req = urllib.request.Request(url, data=body, method="POST", headers={
                    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
                with urllib.request.urlopen(req, timeout=5) as response:
                    answer = response.read().decode("utf-8", "replace").strip()
            except (urllib.error.URLError, OSError) as exc:
                answer = f"error: {exc}"
            with self._lock:
                self.notifications.append({"out_trade_no": fields["out_trade_no"], "notify_id": fields["notify_id"],
                                           "attempt": attempt, "answer": answer[:200]})
            if answer == "success":
                return
            sleep_ms(self.notify_retry_s * 1000)
        log.warning("alipay notify for %s not acknowledged after %d attempts", fields["out_trade_no"],
                    self.notify_attempts)


def _handler(sim: SimAlipay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("alipay sim: " + format, *args)

        def _send(self, status: int, body: bytes, content_type: str = "text/html;charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:  # noqa: N802
            path, _, query = self.path.partition("?")
            if path == "/gateway.do":
                return self._gateway(query)
            if path == "/sim/state":
                return self._send(200, json.dumps(sim.state(), ensure_ascii=False).encode(), "application/json")
            if path.startswith("/sim/bill/") and path.endswith(".zip"):
                return self._send(200, sim.bill_zip(path[len("/sim/bill/"):-4]), "application/zip")
            self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            path, _, query = self.path.partition("?")
            body = self._body()
            if path == "/gateway.do":
                return self._gateway(query + "&" + body.decode("utf-8") if query else body.decode("utf-8"))
            if path == "/sim/control":
                try:
                    state = sim.control(json.loads(body or b"{}"))
                except (KeyError, ValueError, TypeError) as exc:
                    return self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                return self._send(200, json.dumps(state, ensure_ascii=False).encode(), "application/json")
            self._send(404, b"not found", "text/plain")

        def _gateway(self, query: str) -> None:
            sleep_ms(sim.latency_ms)
            fault = sim.take_fault()
            if fault == "5xx":
                return self._send(502, b"<html><body>502 Bad Gateway</body></html>")
            params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
            text = sim.answer(params)
            if fault == "timeout":  # processed, but the answer comes too late for the caller
                sleep_ms(sim.stall_ms)
            self._send(200, str(text).encode("utf-8"))

    return Handler
