"""The Alipay simulator's trade book: the openapi trade methods (precreate, pay, query, cancel, close,
refund, bill download URL) with the published result codes. Pure state under one lock; no HTTP here.

Codes: 10000 success; 10003 WAIT_BUYER_PAY (bar_code trade waiting for the buyer's PIN); 40002 bad
arguments (isv.*); 40004 business failure with ACQ.* sub_codes. Amounts are yuan strings with at most
two decimals, kept as integer fen.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

_AMOUNT = re.compile(r"^(0|[1-9]\d{0,7})(\.\d{1,2})?$")
# Alipay payment codes: 16-24 digits starting 25-30 (the prefixes Alipay publishes).
_AUTH_CODE = re.compile(r"^(2[5-9]|30)\d{14,22}$")
MAX_FEN = 100_000_000_00


class Failure(Exception):
    """A business answer other than 10000: code, msg, sub_code, sub_msg."""

    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str) -> None:
        super().__init__(sub_code)
        self.body = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _business(sub_code: str, sub_msg: str) -> Failure:
    return Failure("40004", "Business Failed", sub_code, sub_msg)


def _missing(name: str) -> Failure:
    return Failure("40002", "Invalid Arguments", "isv.missing-required-arguments", f"缺少必选参数 {name}")


def fen_from_yuan(text: Any) -> int:
    """'12.30' -> 1230 exactly (no float); a malformed, zero or too large amount is ACQ.INVALID_PARAMETER."""
    s = str(text)
    m = _AMOUNT.match(s)
    if not m:
        raise _business("ACQ.INVALID_PARAMETER", f"参数无效 total_amount={s}")
    fen = int(m.group(1)) * 100 + int((m.group(2) or ".0")[1:].ljust(2, "0"))
    if fen <= 0 or fen > MAX_FEN:
        raise _business("ACQ.INVALID_PARAMETER", f"金额超出范围 {s}")
    return fen


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


CHINA = timezone(timedelta(hours=8))  # Alipay's times and bill dates are Beijing time, whatever the host's zone


def china_now() -> datetime:
    return datetime.now(CHINA)


def _now() -> str:
    return china_now().strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Trade:
    out_trade_no: str
    trade_no: str
    fen: int
    subject: str
    notify_url: str
    kind: str  # "precreate" or "bar_code"
    status: str = "WAIT_BUYER_PAY"
    scanned: bool = False  # a precreate trade is unknown to query/close until the buyer scans its code
    gmt_create: str = field(default_factory=_now)
    gmt_payment: str = ""
    refunds: dict[str, int] = field(default_factory=dict)  # out_request_no -> fen
    refund_times: dict[str, str] = field(default_factory=dict)

    @property
    def refunded_fen(self) -> int:
        return sum(self.refunds.values())

    def public(self) -> dict[str, Any]:
        return {"out_trade_no": self.out_trade_no, "trade_no": self.trade_no, "total_amount": yuan(self.fen),
                "subject": self.subject, "status": self.status, "kind": self.kind, "scanned": self.scanned,
                "gmt_create": self.gmt_create, "gmt_payment": self.gmt_payment,
                "refund_fee": yuan(self.refunded_fen), "refunds": {k: yuan(v) for k, v in self.refunds.items()}}


class TradeBook:
    """Every trade the simulator knows, and how the next bar_code buyer behaves."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.trades: dict[str, Trade] = {}
        self.bar_code_mode = "pay"  # pay | pin (10003, then paid after pin_ms or on control) | decline
        self.pin_ms: int | None = 1000

    def _find(self, biz: dict[str, Any], *, hide_unscanned: bool = True) -> Trade:
        out_no, trade_no = biz.get("out_trade_no"), biz.get("trade_no")
        if not out_no and not trade_no:
            raise _missing("out_trade_no")
        trade = self.trades.get(out_no) if out_no else next(
            (t for t in self.trades.values() if t.trade_no == trade_no), None)
        if trade is None or (hide_unscanned and not trade.scanned):
            raise _business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    def _new(self, biz: dict[str, Any], notify_url: str, kind: str) -> Trade:
        out_no = str(biz.get("out_trade_no") or "")
        if not out_no:
            raise _missing("out_trade_no")
        if len(out_no) > 64 or not re.fullmatch(r"[A-Za-z0-9_\-]+", out_no):
            raise _business("ACQ.INVALID_PARAMETER", "out_trade_no 格式无效")
        if "total_amount" not in biz:
            raise _missing("total_amount")
        fen = fen_from_yuan(biz["total_amount"])
        if not biz.get("subject"):
            raise _missing("subject")
        trade_no = china_now().strftime("%Y%m%d") + "22001" + f"{secrets.randbelow(10**15):015d}"
        return Trade(out_no, trade_no, fen, str(biz["subject"]), notify_url, kind)

    def precreate(self, biz: dict[str, Any], notify_url: str) -> dict[str, Any]:
        with self.lock:
            old = self.trades.get(str(biz.get("out_trade_no") or ""))
            if old is not None:
                if old.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                    raise _business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
                if old.status == "TRADE_CLOSED":
                    raise _business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
                if fen_from_yuan(biz.get("total_amount")) != old.fen:
                    raise _business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
                trade = old
            else:
                trade = self._new(biz, notify_url, "precreate")
                self.trades[trade.out_trade_no] = trade
            return {"out_trade_no": trade.out_trade_no, "qr_code": f"https://qr.alipay.com/bax{trade.trade_no[-12:]}"}

    def pay(self, biz: dict[str, Any], notify_url: str) -> tuple[dict[str, Any], Trade]:
        """trade.pay with a payment code: (answer, trade); raises Failure for 40004 answers."""
        with self.lock:
            if biz.get("scene") not in ("bar_code", "wave_code"):
                raise _business("ACQ.INVALID_PARAMETER", "scene 无效")
            code = str(biz.get("auth_code") or "")
            if not _AUTH_CODE.match(code):
                raise _business("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
            old = self.trades.get(str(biz.get("out_trade_no") or ""))
            if old is not None:
                if old.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                    raise _business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
                if old.status == "TRADE_CLOSED":
                    raise _business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
                raise _business("ACQ.SYSTEM_ERROR", "交易处理中，请查询")
            if self.bar_code_mode == "decline":
                raise _business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
            trade = self._new(biz, notify_url, "bar_code")
            trade.scanned = True
            self.trades[trade.out_trade_no] = trade
            if self.bar_code_mode == "pay":
                self.mark_paid(trade)
            return self._trade_fields(trade), trade

    def mark_paid(self, trade: Trade) -> bool:
        """The buyer paid; False when the trade can no longer be paid (closed or already paid)."""
        with self.lock:
            if trade.status != "WAIT_BUYER_PAY":
                return False
            trade.scanned = True
            trade.status = "TRADE_SUCCESS"
            trade.gmt_payment = _now()
            return True

    def _trade_fields(self, t: Trade) -> dict[str, Any]:
        paid = t.status in ("TRADE_SUCCESS", "TRADE_FINISHED") or (t.status == "TRADE_CLOSED" and t.gmt_payment)
        fields: dict[str, Any] = {
            "trade_no": t.trade_no, "out_trade_no": t.out_trade_no, "buyer_logon_id": "kio***@sim.alipay",
            "total_amount": yuan(t.fen), "buyer_pay_amount": yuan(t.fen) if paid else "0.00",
            "receipt_amount": yuan(t.fen) if paid else "0.00", "invoice_amount": yuan(t.fen) if paid else "0.00",
            "point_amount": "0.00", "buyer_user_id": "2088102177846880",
        }
        if t.gmt_payment:
            fields["gmt_payment"] = t.gmt_payment
            fields["fund_bill_list"] = [{"amount": yuan(t.fen), "fund_channel": "ALIPAYACCOUNT"}]
        return fields

    def query(self, biz: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            t = self._find(biz)
            return {**self._trade_fields(t), "trade_status": t.status, "send_pay_date": t.gmt_payment or None}

    def cancel(self, biz: dict[str, Any]) -> tuple[dict[str, Any], Trade]:
        """Undo a trade whatever its state: close it if unpaid, refund it whole if paid (action says which)."""
        with self.lock:
            t = self._find(biz, hide_unscanned=False)
            action = "close"
            if t.status == "TRADE_SUCCESS":
                action = "refund"
                t.refunds["__cancel__"] = t.fen - t.refunded_fen
                t.refund_times["__cancel__"] = _now()
            elif t.status == "TRADE_FINISHED":
                raise _business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            t.status = "TRADE_CLOSED"
            return {"trade_no": t.trade_no, "out_trade_no": t.out_trade_no, "retry_flag": "N",
                    "action": action}, t

    def close(self, biz: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            t = self._find(biz)
            if t.status != "WAIT_BUYER_PAY":
                raise _business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            t.status = "TRADE_CLOSED"
            return {"trade_no": t.trade_no, "out_trade_no": t.out_trade_no}

    def refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            t = self._find(biz)
            if "refund_amount" not in biz:
                raise _missing("refund_amount")
            fen = fen_from_yuan(biz["refund_amount"])
            request_no = str(biz.get("out_request_no") or t.out_trade_no)
            fund_change = "N"
            if request_no in t.refunds:
                if t.refunds[request_no] != fen:
                    raise _business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原请求不一致")
            else:
                if t.status not in ("TRADE_SUCCESS",):
                    raise _business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
                if fen > t.fen - t.refunded_fen:
                    raise _business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
                t.refunds[request_no] = fen
                t.refund_times[request_no] = _now()
                fund_change = "Y"
                if t.refunded_fen == t.fen:
                    t.status = "TRADE_CLOSED"
            return {"trade_no": t.trade_no, "out_trade_no": t.out_trade_no, "buyer_logon_id": "kio***@sim.alipay",
                    "fund_change": fund_change, "refund_fee": yuan(t.refunded_fen),
                    "gmt_refund_pay": t.refund_times[request_no], "buyer_user_id": "2088102177846880"}

    def bill_rows(self, day: str) -> list[list[str]]:
        """The day's trade bill: one row per payment and per refund (as the downloadable CSV lists them)."""
        with self.lock:
            rows = []
            for t in self.trades.values():
                if t.gmt_payment.startswith(day):
                    rows.append([t.trade_no, t.out_trade_no, "交易", t.subject, t.gmt_create, t.gmt_payment,
                                 yuan(t.fen), ""])
                for req, fen in t.refunds.items():
                    if t.refund_times[req].startswith(day) and t.gmt_payment:
                        rows.append([t.trade_no, t.out_trade_no, "退款", t.subject, t.gmt_create,
                                     t.refund_times[req], "-" + yuan(fen), req])
            return rows

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"trades": [t.public() for t in self.trades.values()],
                    "bar_code_mode": self.bar_code_mode, "pin_ms": self.pin_ms}


def sleep_ms(ms: float) -> None:
    if ms > 0:
        time.sleep(ms / 1000)
