"""The simulated merchant account: Native orders and refunds with the API v3 states and error codes.

Trade states: NOTPAY -> SUCCESS (the resident paid) -> REFUND (any refund); NOTPAY -> CLOSED (closed
or past time_expire when someone tries to pay). Refunds: PROCESSING, then SUCCESS once `refund_settle_s`
has passed. Errors are `ApiError(status, code, message)` with the codes the published API uses.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8))
DEFAULT_EXPIRY_S = 2 * 3600
_OUT_NO = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")
_AUTH_CODE = re.compile(r"^1[0-5]\d{16}$")  # WeChat's published payment-code rule: 18 digits, 10-15
_OUT_REFUND_NO = re.compile(r"^[A-Za-z0-9_\-|*@]{1,64}$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=CHINA).isoformat(timespec="seconds")


@dataclass
class Order:
    appid: str
    mchid: str
    out_trade_no: str
    description: str
    total: int
    notify_url: str
    attach: str
    created_at: float
    expires_at: float
    code_url: str
    trade_state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: float | None = None
    openid: str = ""
    refunded: int = 0
    trade_type: str = "NATIVE"
    pays_at: float | None = None  # codepay in USERPAYING: when the resident's PIN arrives (None: never)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "appid": self.appid, "mchid": self.mchid, "out_trade_no": self.out_trade_no,
            "trade_type": self.trade_type, "trade_state": self.trade_state, "trade_state_desc": _STATE_DESC[self.trade_state],
            "attach": self.attach, "amount": {"total": self.total, "currency": "CNY"},
        }
        if self.transaction_id:
            body.update({"transaction_id": self.transaction_id, "bank_type": "OTHERS",
                         "success_time": rfc3339(self.success_time or 0), "payer": {"openid": self.openid}})
            body["amount"].update({"payer_total": self.total, "payer_currency": "CNY"})
        return body

    def same_request(self, other: dict[str, Any]) -> bool:
        return (self.total == other["amount"]["total"] and self.description == other["description"]
                and self.appid == other["appid"])


_STATE_DESC = {"NOTPAY": "未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭", "REFUND": "转入退款",
               "USERPAYING": "用户支付中", "PAYERROR": "支付失败", "REVOKED": "已撤销"}


@dataclass
class Refund:
    refund_id: str
    out_refund_no: str
    order: Order
    amount: int
    reason: str
    notify_url: str
    created_at: float
    settles_at: float
    status: str = "PROCESSING"
    notified: bool = False

    def as_json(self, now: float | None) -> dict[str, Any]:
        """The refund as the API shows it at `now`; None: as the creation answer shows it (PROCESSING)."""
        if self.status == "PROCESSING" and now is not None and now >= self.settles_at:
            self.status = "SUCCESS"
        body: dict[str, Any] = {
            "refund_id": self.refund_id, "out_refund_no": self.out_refund_no,
            "transaction_id": self.order.transaction_id, "out_trade_no": self.order.out_trade_no,
            "channel": "ORIGINAL", "user_received_account": "支付用户零钱", "create_time": rfc3339(self.created_at),
            "status": self.status, "funds_account": "AVAILABLE",
            "amount": {"total": self.order.total, "refund": self.amount, "payer_total": self.order.total,
                       "payer_refund": self.amount, "settlement_total": self.order.total,
                       "settlement_refund": self.amount, "discount_refund": 0, "currency": "CNY",
                       "refund_fee": 0},
        }
        if self.status == "SUCCESS":
            body["success_time"] = rfc3339(self.settles_at)
        return body


@dataclass
class Ledger:
    mchid: str
    appid: str
    base_url: str = ""
    refund_settle_s: float = 0.0
    orders: dict[str, Order] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def create_native(self, body: dict[str, Any]) -> Order:
        _require(body, "appid", "mchid", "description", "out_trade_no", "notify_url", "amount")
        if body["mchid"] != self.mchid:
            raise ApiError(400, "MCH_NOT_EXISTS", "商户号不存在")
        if body["appid"] != self.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        out_trade_no = str(body["out_trade_no"])
        if not _OUT_NO.match(out_trade_no):
            raise ApiError(400, "PARAM_ERROR", "out_trade_no 6-32 位字母、数字、_-|*")
        total = _fen(body["amount"], "total")
        if not str(body["notify_url"]).startswith(("http://", "https://")):
            raise ApiError(400, "PARAM_ERROR", "notify_url 格式错误")
        if not 1 <= len(str(body["description"])) <= 127:
            raise ApiError(400, "PARAM_ERROR", "description 长度错误")
        with self.lock:
            existing = self.orders.get(out_trade_no)
            if existing is not None:
                if existing.trade_state in ("SUCCESS", "REFUND"):
                    raise ApiError(403, "ORDERPAID", "该订单已支付")
                if existing.trade_state == "CLOSED":
                    raise ApiError(400, "ORDER_CLOSED", "当前订单已关闭，请重新下单")
                if not existing.same_request(body):
                    raise ApiError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
                return existing
            now = time.time()
            expires = _parse_expiry(body.get("time_expire"), now)
            order = Order(body["appid"], body["mchid"], out_trade_no, str(body["description"]), total,
                          str(body["notify_url"]), str(body.get("attach", "")), now, expires,
                          f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}")
            self.orders[out_trade_no] = order
            return order

    def find(self, out_trade_no: str) -> Order:
        order = self.orders.get(out_trade_no)
        if order is None:
            raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.trade_state == "USERPAYING" and order.pays_at is not None and time.time() >= order.pays_at:
            self._settle(order)  # the resident confirmed the PIN on the phone
        return order

    def create_codepay(self, body: dict[str, Any], buyer: str, pin_s: float | None) -> Order:
        """付款码: the kiosk scanned the resident's code. buyer: "pay" (at once), "pin" (USERPAYING until the
        PIN comes after pin_s, or never), "decline" (PAYERROR, 403 NOTENOUGH)."""
        _require(body, "appid", "mchid", "description", "out_trade_no", "amount", "payer")
        if body["mchid"] != self.mchid:
            raise ApiError(400, "MCH_NOT_EXISTS", "商户号不存在")
        if body["appid"] != self.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        out_trade_no = str(body["out_trade_no"])
        if not _OUT_NO.match(out_trade_no):
            raise ApiError(400, "PARAM_ERROR", "out_trade_no 6-32 位字母、数字、_-|*")
        total = _fen(body["amount"], "total")
        auth_code = str((body.get("payer") or {}).get("auth_code", "")) if isinstance(body.get("payer"), dict) else ""
        if not _AUTH_CODE.match(auth_code):
            raise ApiError(400, "PARAM_ERROR", "付款码无效，请重新扫码")
        with self.lock:
            existing = self.orders.get(out_trade_no)
            if existing is not None:
                if existing.trade_type != "MICROPAY" or not existing.same_request(body):
                    raise ApiError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
                return self._codepay_answer(self.find(out_trade_no))
            now = time.time()
            order = Order(body["appid"], body["mchid"], out_trade_no, str(body["description"]), total, "",
                          str(body.get("attach", "")), now, now + DEFAULT_EXPIRY_S, "", trade_type="MICROPAY")
            self.orders[out_trade_no] = order
            if buyer == "pay":
                self._settle(order)
            elif buyer == "pin":
                order.trade_state = "USERPAYING"
                order.pays_at = None if pin_s is None else now + pin_s
            else:
                order.trade_state = "PAYERROR"
            return self._codepay_answer(order)

    def _codepay_answer(self, order: Order) -> Order:
        if order.trade_state == "USERPAYING":
            raise ApiError(202, "USERPAYING", "需要用户输入支付密码")
        if order.trade_state == "PAYERROR":
            raise ApiError(403, "NOTENOUGH", "用户余额不足")
        if order.trade_state == "REVOKED":
            raise ApiError(400, "ORDER_REVERSED", "订单已撤销")
        return order

    def reverse(self, out_trade_no: str, body: dict[str, Any]) -> None:
        """撤销: a codepay order that never finished (or was paid: the money goes back) becomes REVOKED."""
        if body.get("mchid") != self.mchid or body.get("appid") != self.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        with self.lock:
            order = self.find(out_trade_no)
            if order.trade_type != "MICROPAY":
                raise ApiError(400, "INVALID_REQUEST", "非付款码订单不能撤销")
            if order.trade_state == "REFUND":
                raise ApiError(400, "INVALID_REQUEST", "已退款订单不能撤销")
            if order.trade_state == "SUCCESS":
                order.refunded = order.total
            order.trade_state = "REVOKED"
            order.pays_at = None

    def _settle(self, order: Order) -> None:
        order.trade_state = "SUCCESS"
        order.transaction_id = "4200" + datetime.now(CHINA).strftime("%Y%m%d") + f"{secrets.randbelow(10**16):016d}"
        order.success_time = time.time()
        order.openid = "oSim" + secrets.token_hex(12)

    def find_by_transaction(self, transaction_id: str) -> Order:
        for order in self.orders.values():
            if order.transaction_id and order.transaction_id == transaction_id:
                return order
        raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")

    def close(self, out_trade_no: str, mchid: str) -> None:
        if mchid != self.mchid:
            raise ApiError(400, "MCH_NOT_EXISTS", "商户号不存在")
        with self.lock:
            order = self.find(out_trade_no)
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise ApiError(400, "ORDERPAID", "订单已支付，不能关闭")
            order.trade_state = "CLOSED"

    def pay(self, out_trade_no: str) -> Order:
        """The resident scanned the code and paid. Refused (ApiError 409) for a closed or expired order."""
        with self.lock:
            order = self.find(out_trade_no)
            if order.trade_state != "NOTPAY":
                raise ApiError(409, "ORDER_NOT_PAYABLE", f"order is {order.trade_state}")
            if time.time() >= order.expires_at:
                order.trade_state = "CLOSED"
                raise ApiError(409, "ORDER_NOT_PAYABLE", "order expired")
            self._settle(order)
            return order

    def refund(self, body: dict[str, Any]) -> Refund:
        _require(body, "out_refund_no", "amount")
        out_refund_no = str(body["out_refund_no"])
        if not _OUT_REFUND_NO.match(out_refund_no):
            raise ApiError(400, "PARAM_ERROR", "out_refund_no 格式错误")
        amount = _fen(body["amount"], "refund")
        total = _fen(body["amount"], "total")
        with self.lock:
            if body.get("transaction_id"):
                order = self.find_by_transaction(str(body["transaction_id"]))
            elif body.get("out_trade_no"):
                order = self.find(str(body["out_trade_no"]))
            else:
                raise ApiError(400, "PARAM_ERROR", "transaction_id 和 out_trade_no 必须二选一")
            existing = self.refunds.get(out_refund_no)
            if existing is not None:
                if existing.order is not order or existing.amount != amount:
                    raise ApiError(400, "INVALID_REQUEST", "商户退款单号重复")
                return existing
            if order.trade_state not in ("SUCCESS", "REFUND"):
                raise ApiError(400, "INVALID_REQUEST", "订单未支付")
            if total != order.total:
                raise ApiError(400, "PARAM_ERROR", "订单金额与原订单不一致")
            if order.refunded + amount > order.total:
                raise ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            now = time.time()
            record = Refund("5030" + f"{secrets.randbelow(10**24):024d}", out_refund_no, order, amount,
                            str(body.get("reason", "")), str(body.get("notify_url", "")), now,
                            now + self.refund_settle_s)
            order.refunded += amount
            order.trade_state = "REFUND"
            self.refunds[out_refund_no] = record
            return record

    def find_refund(self, out_refund_no: str) -> Refund:
        record = self.refunds.get(out_refund_no)
        if record is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return record


def _require(body: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "")]
    if missing:
        raise ApiError(400, "PARAM_ERROR", f"输入源“/body/{missing[0]}”映射到字段“{missing[0]}”必填性规则校验失败")


def _fen(amount: Any, name: str) -> int:
    value = amount.get(name) if isinstance(amount, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, "PARAM_ERROR", f"amount.{name} 必须是正整数（分）")
    if amount.get("currency", "CNY") != "CNY":
        raise ApiError(400, "PARAM_ERROR", "currency 只支持 CNY")
    return value


def _parse_expiry(text: Any, now: float) -> float:
    if not text:
        return now + DEFAULT_EXPIRY_S
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError as exc:
        raise ApiError(400, "PARAM_ERROR", "time_expire 须为 RFC3339 格式") from exc
