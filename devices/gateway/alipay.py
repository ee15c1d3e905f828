"""`AlipayGateway`: the kiosk.ports.PaymentGateway over Alipay's openapi with python-alipay-sdk (RSA2).

The kiosk's order id is Alipay's out_trade_no: the payment service stores it with the intent before
`create_order` is called, so a timeout or crash is resolved by querying it, and creating it again returns
the same code (precreate is idempotent for one out_trade_no and amount). Amounts are integer fen here and
yuan strings on the wire, converted exactly (never through float). Keys are PEM files named in
secrets.toml (`alipay_app_private_key_file`, `alipay_public_key_file`); the gateway URL comes from config
(`devices.gateway.url`: https://openapi.alipay.com/gateway.do in production, the simulator's in tests).

Payment codes (付款码): `pay_with_code` (trade.pay, scene bar_code), `settle_code_payment` (query until final,
cancel after the wait), `reverse` (trade.cancel); not part of the port yet, named as the wechatpay driver's.

Alipay quirks handled: a precreated trade is unknown (ACQ.TRADE_NOT_EXIST) until the buyer scans the code,
so query answers PENDING for it and close falls back to trade.cancel (which closes it, or refunds it
when it was paid in between: the order comes back REFUNDED).
"""
from __future__ import annotations

import http.client
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from devices.gateway.alipay_bill import read_trade_bill
from devices.gateway.code_payment import settle_or_reverse
from kiosk.domain.bounds import DEFAULT_MAX_ITEM_FEN, item_problem
from kiosk.errors import BadSignature, ConfigError, GatewayError
from kiosk.ports import BillRow, GatewayNotification, GatewayOrder, OrderState

log = logging.getLogger(__name__)

_YUAN = re.compile(r"^(0|[1-9]\d{0,9})(?:\.(\d{1,2}))?$")
_STATES = {"WAIT_BUYER_PAY": OrderState.PENDING, "TRADE_SUCCESS": OrderState.PAID,
           "TRADE_FINISHED": OrderState.PAID, "TRADE_CLOSED": OrderState.CLOSED}
NOT_EXIST = "ACQ.TRADE_NOT_EXIST"
# trade.pay answers that end a bar_code payment unpaid (the resident is asked for another code or method)
DECLINED = frozenset({
    "ACQ.BUYER_BALANCE_NOT_ENOUGH", "ACQ.PAYMENT_AUTH_CODE_INVALID", "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH",
    "ACQ.ERROR_BALANCE_PAYMENT_DISABLE", "ACQ.BUYER_SELLER_EQUAL", "ACQ.TRADE_BUYER_NOT_MATCH",
    "ACQ.BUYER_ENABLE_STATUS_FORBID", "ACQ.PAYMENT_FAIL", "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR",
    "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR", "ACQ.PAYMENT_REQUEST_HAS_RISK", "ACQ.TRADE_HAS_CLOSE",
})


def yuan_from_fen(fen: int) -> str:
    """1230 -> '12.30'."""
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise ValueError(f"not a fen amount: {fen!r}")
    return f"{fen // 100}.{fen % 100:02d}"


def fen_from_yuan(text: object) -> int:
    """'12.3' -> 1230, exactly; anything but a plain yuan string with at most two decimals is refused."""
    m = _YUAN.match(str(text))
    if not m:
        raise ValueError(f"not a yuan amount: {text!r}")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def _read_key(path: str, what: str) -> str:
    if not path:
        raise ConfigError(key=f"secrets.{what}")
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(key=f"secrets.{what} ({path}: {type(exc).__name__})") from None


class AlipayGateway:
    """Client of Alipay's openapi gateway for 当面付 (precreate). Thread-safe: the SDK client keeps only keys."""

    def __init__(self, url: str, app_id: str, app_private_key_file: str, alipay_public_key_file: str, *,
                 timeout_s: float = 5.0, notify_url: str = "", name: str = "Alipay",
                 max_amount_fen: int = DEFAULT_MAX_ITEM_FEN) -> None:
        if not app_id:
            raise ConfigError(key="secrets.alipay_app_id")
        try:
            self._client = AliPay(appid=app_id, app_notify_url=notify_url or None,
                                  app_private_key_string=_read_key(app_private_key_file,
                                                                   "alipay_app_private_key_file"),
                                  alipay_public_key_string=_read_key(alipay_public_key_file, "alipay_public_key_file"),
                                  sign_type="RSA2", config=AliPayConfig(timeout=timeout_s))
        except (ValueError, IndexError, TypeError) as exc:  # the SDK's RSA.importKey on a file that is no key
            raise ConfigError(key=f"secrets.alipay key files ({type(exc).__name__})") from None
        # python-alipay-sdk takes no gateway argument: its __init__ sets `_gateway` to Alipay's host.
        self._client._gateway = url
        self.url = url
        self.timeout_s = timeout_s
        self.app_id = app_id
        self.notify_url = notify_url
        self.name = name
        self.max_amount_fen = max_amount_fen
        self._amounts: dict[str, int] = {}  # orders created by this process: amount for a not-yet-scanned one

    # --- the port -----------------------------------------------------------------------------
    def create_order(self, order_id: str, amount_fen: int, description: str, expires_in_s: int) -> GatewayOrder:
        total = self._outgoing(amount_fen)
        minutes = max(1, -(-int(expires_in_s) // 60))
        answer = self._call("alipay.trade.precreate", lambda c: c.api_alipay_trade_precreate(
            subject=description, out_trade_no=order_id, total_amount=total, timeout_express=f"{minutes}m"))
        self._ok(answer, "precreate", order_id)
        self._amounts[order_id] = amount_fen
        return GatewayOrder(order_id=order_id, amount_fen=amount_fen, state=OrderState.PENDING,
                            code_url=str(answer.get("qr_code") or ""))

    def query(self, order_id: str) -> GatewayOrder:
        answer = self._call("alipay.trade.query", lambda c: c.api_alipay_trade_query(out_trade_no=order_id))
        if answer.get("sub_code") == NOT_EXIST:  # not scanned yet (or never created): nobody can have paid
            return GatewayOrder(order_id, self._amounts.get(order_id, 0), OrderState.PENDING)
        self._ok(answer, "query", order_id)
        return self._order(order_id, answer)

    def close(self, order_id: str) -> GatewayOrder:
        """Close an unpaid order. A paid order stays paid: check the returned state."""
        answer = self._call("alipay.trade.close", lambda c: c.api_alipay_trade_close(out_trade_no=order_id))
        if answer.get("sub_code") == NOT_EXIST:
            return self.reverse(order_id)
        if answer.get("code") != "10000" and answer.get("sub_code") != "ACQ.TRADE_STATUS_ERROR":
            self._ok(answer, "close", order_id)
        return self.query(order_id)

    # --- payment codes (付款码): not part of the port yet, named as the wechatpay driver names them ---------
    def pay_with_code(self, order_id: str, amount_fen: int, description: str, auth_code: str) -> GatewayOrder:
        """trade.pay with scene bar_code: paid (10000), pending (10003 WAIT_BUYER_PAY: the resident confirms a PIN
        on the phone; or 20000/ACQ.SYSTEM_ERROR: unknown yet; follow with `settle_code_payment`, never pay again),
        or closed (declined). The code is never logged nor put in an error."""
        total = self._outgoing(amount_fen)
        answer = self._call("alipay.trade.pay", lambda c: c.api_alipay_trade_pay(
            order_id, "bar_code", auth_code, description or order_id, total_amount=total))
        self._amounts[order_id] = amount_fen
        code, sub_code = answer.get("code"), str(answer.get("sub_code") or "")
        if code == "10000":
            return GatewayOrder(order_id, self._incoming(answer.get("total_amount", total)), OrderState.PAID,
                                gateway_txn=str(answer.get("trade_no") or ""))
        if code in ("10003", "20000") or sub_code in ("ACQ.SYSTEM_ERROR", "ACQ.TRADE_HAS_SUCCESS"):
            return GatewayOrder(order_id, amount_fen, OrderState.PENDING)  # unknown yet: query
        if code == "40004" and sub_code in DECLINED:
            log.info("alipay bar_code %s declined: %s", order_id, sub_code)
            return GatewayOrder(order_id, amount_fen, OrderState.CLOSED)
        raise GatewayError(f"alipay pay {order_id}: refused ({code} {sub_code})")

    def settle_code_payment(self, order_id: str, *, wait_s: float = 30.0, poll_s: float = 5.0) -> GatewayOrder:
        """Query a bar_code trade until it is final; one still unfinished after `wait_s` is cancelled (Alipay's
        rule for 10003 and unknown answers), and what it is then is returned (closed, or refunded if it was
        paid meanwhile: cancel gives the money back)."""
        return settle_or_reverse(self, order_id, wait_s=wait_s, poll_s=poll_s, name="alipay bar_code")

    def reverse(self, order_id: str) -> GatewayOrder:
        """alipay.trade.cancel (撤销): an unfinished trade is closed, a paid one refunded whole."""
        cancelled = self._call("alipay.trade.cancel", lambda c: c.api_alipay_trade_cancel(out_trade_no=order_id))
        if cancelled.get("sub_code") == NOT_EXIST:  # never created: there is nothing anyone could pay
            return GatewayOrder(order_id, self._amounts.get(order_id, 0), OrderState.CLOSED)
        self._ok(cancelled, "cancel", order_id)
        state = OrderState.REFUNDED if cancelled.get("action") == "refund" else OrderState.CLOSED
        if state is OrderState.REFUNDED:
            log.warning("alipay %s was paid while being cancelled: Alipay refunded it", order_id)
        return GatewayOrder(order_id, self._amounts.get(order_id, 0), state,
                            gateway_txn=str(cancelled.get("trade_no") or ""))

    def refund(self, order_id: str, refund_id: str, amount_fen: int) -> None:
        """Refund (part of) a paid order; repeating a refund_id is safe (Alipay's out_request_no)."""
        amount = self._outgoing(amount_fen)
        answer = self._call("alipay.trade.refund", lambda c: c.api_alipay_trade_refund(
            amount, out_trade_no=order_id, out_request_no=refund_id))
        self._ok(answer, "refund", order_id)

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> GatewayNotification:
        """An asynchronous notify (form fields), RSA2 signature checked with Alipay's public key."""
        try:
            data = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadSignature(f"alipay notify not a form: {exc}") from None
        signature = data.pop("sign", "")
        try:
            good = bool(signature) and self._client.verify(dict(data), signature)
        except (AliPayException, ValueError, TypeError):
            good = False
        if not good:
            raise BadSignature(f"alipay notify for {data.get('out_trade_no', '?')!r}: bad signature")
        if data.get("app_id") != self.app_id:
            raise BadSignature(f"alipay notify for another app_id {data.get('app_id')!r}")
        try:
            state = _STATES[data["trade_status"]]
            extra = {k: v for k, v in data.items() if k in ("notify_id", "gmt_payment", "trade_status")}
            return GatewayNotification(order_id=data["out_trade_no"], state=state,
                                       amount_fen=self._incoming(data["total_amount"]),
                                       gateway_txn=data.get("trade_no", ""), extra=extra)
        except (KeyError, ValueError) as exc:
            raise GatewayError(f"signed alipay notify not understood: {exc}") from exc

    # --- extras -------------------------------------------------------------------------------
    def bill_download_url(self, day: str) -> str:
        """The URL of the day's trade bill (a zip of GBK CSV), for reconciliation."""
        answer = self._call("alipay.data.dataservice.bill.downloadurl.query", lambda c: c.server_api(
            "alipay.data.dataservice.bill.downloadurl.query", {"bill_type": "trade", "bill_date": day}))
        self._ok(answer, "bill", day)
        return str(answer["bill_download_url"])

    def trade_bill(self, day: date) -> list[BillRow]:
        """The day's payments and refunds as Alipay's bill lists them; [] when Alipay has no bill for the day."""
        answer = self._call("alipay.data.dataservice.bill.downloadurl.query", lambda c: c.server_api(
            "alipay.data.dataservice.bill.downloadurl.query", {"bill_type": "trade", "bill_date": day.isoformat()}))
        if answer.get("sub_code") == "isp.bill_not_exist":
            return []
        self._ok(answer, "bill", day.isoformat())
        try:
            with urllib.request.urlopen(str(answer["bill_download_url"]), timeout=self.timeout_s) as response:
                content = response.read()
        except KeyError as exc:
            raise GatewayError("Alipay bill: no bill_download_url") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise GatewayError(f"Alipay bill download: {type(exc).__name__}: {exc}") from exc
        return read_trade_bill(content)

    # --- wire ---------------------------------------------------------------------------------
    def _order(self, order_id: str, answer: Mapping[str, Any]) -> GatewayOrder:
        try:
            state = _STATES[str(answer["trade_status"])]
            amount = self._incoming(answer["total_amount"])
            paid_at = answer.get("send_pay_date") or answer.get("gmt_payment")
            if state is OrderState.CLOSED and answer.get("send_pay_date"):
                state = OrderState.REFUNDED  # paid, then refunded in full (Alipay closes it)
            return GatewayOrder(order_id=order_id, amount_fen=amount, state=state,
                                gateway_txn=str(answer.get("trade_no") or ""),
                                paid_at=datetime.strptime(str(paid_at), "%Y-%m-%d %H:%M:%S") if paid_at else None)
        except (KeyError, ValueError) as exc:
            raise GatewayError(f"alipay query {order_id}: unexpected answer: {exc}") from exc

    def _ok(self, answer: Mapping[str, Any], what: str, order_id: str) -> None:
        if answer.get("code") != "10000":
            raise GatewayError(f"alipay {what} {order_id}: refused ({answer.get('code')} "
                               f"{answer.get('sub_code', '')} {answer.get('sub_msg', '')})")

    def _call(self, method: str, call: Any) -> dict[str, Any]:
        try:
            answer = call(self._client)
        except AliPayValidationError as exc:
            raise GatewayError(f"{method}: answer not signed by Alipay") from exc
        except AliPayException as exc:
            raise GatewayError(f"{method}: {exc}") from exc
        except urllib.error.HTTPError as exc:
            raise GatewayError(f"{method}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            # unreachable, reset, timed out, cut short, or not JSON
            raise GatewayError(f"{method}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, dict):
            raise GatewayError(f"{method}: answer is not an object: {json.dumps(answer)[:80]}")
        return answer

    def _outgoing(self, amount_fen: int) -> str:
        problem = item_problem(amount_fen, self.max_amount_fen)
        if problem is not None:
            raise GatewayError(f"not sent: amount_fen {problem}")
        return yuan_from_fen(amount_fen)

    def _incoming(self, text: object) -> int:
        fen = fen_from_yuan(text)
        problem = item_problem(fen, self.max_amount_fen)
        if problem is not None:
            raise ValueError(f"amount {text!r}: {problem}")
        return fen
