"""`WeChatPayGateway`: the kiosk.ports.PaymentGateway over WeChat Pay API v3 (Native: the kiosk shows a code).

Through the `wechatpayv3` SDK, unmodified: requests signed with the merchant key, answers and
notifications verified against the platform certificate (or the platform public key), resources
decrypted with the APIv3 key. The base URL comes from config (`devices.gateway.url`: the simulator's in
the demo and tests, https://api.mch.weixin.qq.com in production); the keys come from a credentials file
named in secrets.toml (`wechatpay_credentials`), never from config. Amounts are integer fen both ways
(API v3 takes fen). The kiosk's order id is the out_trade_no, made and stored before this is called; a
timeout is resolved by `query`, never by a second order.

Payment codes (付款码): `pay_with_code`, `settle_code_payment` (query until final, reverse after the wait),
`reverse`; not part of the port yet.

States: NOTPAY/USERPAYING -> pending, SUCCESS -> paid, CLOSED/REVOKED/PAYERROR -> closed, REFUND -> refunded
(WeChat says REFUND after any refund, partial or whole).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from devices.gateway.code_payment import settle_or_reverse
from devices.gateway.wechatpay_bill import read_trade_bill
from kiosk.domain.bounds import DEFAULT_MAX_ITEM_FEN, item_problem
from kiosk.errors import BadSignature, ConfigError, GatewayError
from kiosk.ports import BillRow, GatewayNotification, GatewayOrder, OrderState

log = logging.getLogger(__name__)

PRODUCTION_URL = "https://api.mch.weixin.qq.com"
CHINA = timezone(timedelta(hours=8))
_STATES = {"NOTPAY": OrderState.PENDING, "USERPAYING": OrderState.PENDING, "SUCCESS": OrderState.PAID,
           "CLOSED": OrderState.CLOSED, "REVOKED": OrderState.CLOSED, "PAYERROR": OrderState.CLOSED,
           "REFUND": OrderState.REFUNDED}
SETTING = "secrets.wechatpay_credentials"


def load_client(url: str, credentials_file: str | Path, *, notify_url: str = "", timeout_s: float = 5.0,
                platform_mode: str = "certificate") -> WeChatPay:
    """The SDK client from a credentials file (JSON: mchid, appid, merchant_serial_no, apiv3_key and the key
    files relative to it: merchant_private_key, and platform_cert_dir or platform_public_key +
    platform_public_key_id), its gateway pointed at `url`."""
    path = Path(credentials_file)
    try:
        creds = json.loads(path.read_text(encoding="utf-8"))
        merchant_key = (path.parent / creds["merchant_private_key"]).read_text(encoding="utf-8")
        if platform_mode == "public_key":
            mode: dict[str, Any] = {
                "public_key": (path.parent / creds["platform_public_key"]).read_text(encoding="utf-8"),
                "public_key_id": creds["platform_public_key_id"]}
        else:
            mode = {"cert_dir": str(path.parent / creds["platform_cert_dir"])}
        client = WeChatPay(WeChatPayType.NATIVE, str(creds["mchid"]), merchant_key, str(creds["merchant_serial_no"]),
                           str(creds["appid"]), str(creds["apiv3_key"]), notify_url=notify_url or None,
                           timeout=timeout_s, **mode)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"WeChat Pay credentials {path}: {type(exc).__name__}: {exc}", key=SETTING) from exc
    except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception for bad keys and missing certificates
        raise ConfigError(f"WeChat Pay credentials {path}: {exc}", key=SETTING) from exc
    client._core._gate_way = url.rstrip("/")  # the SDK's one setting for the host (it has no argument for it)
    return client


class WeChatPayGateway:
    """Native orders through the SDK. Thread-safe as far as the SDK is (requests per call, no shared state
    here but the SDK's certificate list)."""

    def __init__(self, url: str, credentials_file: str | Path, *, timeout_s: float = 5.0, notify_url: str = "",
                 platform_mode: str = "certificate", name: str = "WeChat Pay",
                 max_amount_fen: int = DEFAULT_MAX_ITEM_FEN) -> None:
        self.name = name
        self.notify_url = notify_url
        self.max_amount_fen = max_amount_fen
        self._wx = load_client(url or PRODUCTION_URL, credentials_file, notify_url=notify_url,
                               timeout_s=timeout_s, platform_mode=platform_mode)

    # --- the port -----------------------------------------------------------------------------
    def create_order(self, order_id: str, amount_fen: int, description: str, expires_in_s: int) -> GatewayOrder:
        amount = self._outgoing(amount_fen)
        if not self.notify_url:
            raise GatewayError("not sent: WeChat Pay needs a notify_url")
        expires = (datetime.now(CHINA) + timedelta(seconds=int(expires_in_s))).isoformat(timespec="seconds")
        status, data = self._call("create", self._wx.pay, description=description[:127] or order_id,
                                  out_trade_no=order_id, amount={"total": amount, "currency": "CNY"},
                                  time_expire=expires)
        if status == 200:
            return GatewayOrder(order_id, amount, OrderState.PENDING, code_url=str(data.get("code_url", "")))
        if data.get("code") in ("ORDERPAID", "ORDER_CLOSED"):
            return self.query(order_id)  # a retry after the answer was lost: what the order is now
        raise _refused("create", status, data)

    def query(self, order_id: str) -> GatewayOrder:
        status, data = self._call("query", self._wx.query, out_trade_no=order_id)
        if status != 200:
            raise _refused("query", status, data)
        return self._order(data)

    def close(self, order_id: str) -> GatewayOrder:
        """Close an unpaid order; a paid order stays paid: check the returned state."""
        status, data = self._call("close", self._wx.close, order_id)
        if status != 204 and data.get("code") != "ORDERPAID":
            raise _refused("close", status, data)
        return self.query(order_id)

    def refund(self, order_id: str, refund_id: str, amount_fen: int) -> None:
        """Refund (part of) a paid order; repeating a refund_id is safe (WeChat keeps one per out_refund_no)."""
        amount = self._outgoing(amount_fen)
        total = self.query(order_id).amount_fen
        status, data = self._call("refund", self._wx.refund, out_refund_no=refund_id, out_trade_no=order_id,
                                  amount={"refund": amount, "total": total, "currency": "CNY"})
        if status != 200:
            raise _refused("refund", status, data)

    # --- 付款码 (the resident shows the payment code; the kiosk's scanner reads it) -----------------
    def pay_with_code(self, order_id: str, amount_fen: int, description: str, auth_code: str) -> GatewayOrder:
        """Codepay: paid (SUCCESS), pending (202 USERPAYING: the resident confirms a PIN on the phone; follow with
        `settle_code_payment`), or closed (declined: PAYERROR). The code is never logged nor put in an error."""
        amount = self._outgoing(amount_fen)
        status, data = self._call("codepay", self._wx.pay, description=description[:127] or order_id,
                                  out_trade_no=order_id, amount={"total": amount, "currency": "CNY"},
                                  payer={"auth_code": auth_code},
                                  scene_info={"store_info": {"out_id": self.name}}, pay_type=WeChatPayType.CODEPAY)
        if status == 200:
            return self._order(data)
        if status == 202 or data.get("code") in ("USERPAYING", "SYSTEMERROR", "BANKERROR"):
            return GatewayOrder(order_id, amount, OrderState.PENDING)  # unknown yet: query, never pay again
        if status == 403:
            return self.query(order_id)  # declined (NOTENOUGH and the like): PAYERROR -> closed
        raise _refused("codepay", status, data)

    def settle_code_payment(self, order_id: str, *, wait_s: float = 30.0, poll_s: float = 5.0) -> GatewayOrder:
        """Query a codepay order until it is final; one still unfinished after `wait_s` is reversed (as the API
        prescribes for USERPAYING), and what the order is then is returned (closed, or paid if it landed first)."""
        return settle_or_reverse(self, order_id, wait_s=wait_s, poll_s=poll_s, name="codepay")

    def reverse(self, order_id: str) -> GatewayOrder:
        """撤销 a codepay order: unfinished ones end, a paid one gives the money back (the API's rule)."""
        status, data = self._call("reverse", self._wx.codepay_reverse, order_id)
        if status not in (200, 204):
            raise _refused("reverse", status, data)
        return self.query(order_id)

    def refund_status(self, refund_id: str) -> str:
        """PROCESSING, SUCCESS, CLOSED or ABNORMAL, as WeChat reports the refund."""
        status, data = self._call("refund query", self._wx.query_refund, refund_id)
        if status != 200:
            raise _refused("refund query", status, data)
        return str(data.get("status", ""))

    def trade_bill(self, day: date) -> list[BillRow]:
        """The day's trade bill (payments and refunds, China date); [] when WeChat has none for that day."""
        status, data = self._call("trade bill", self._wx.trade_bill, day.isoformat())
        if status == 400 and data.get("code") == "NO_STATEMENT_EXIST":
            return []
        if status != 200:
            raise _refused("trade bill", status, data)
        try:
            status, content = self._wx.download_bill(str(data["download_url"]))
        except requests.RequestException as exc:
            raise GatewayError(f"WeChat Pay bill download: {type(exc).__name__}: {exc}") from exc
        except KeyError as exc:
            raise GatewayError("WeChat Pay trade bill: no download_url") from exc
        if status != 200 or not isinstance(content, bytes):
            raise GatewayError(f"WeChat Pay bill download: HTTP {status}")
        return read_trade_bill(content, str(data.get("hash_value", "")))

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> GatewayNotification:
        try:
            event = self._wx.callback(dict(headers), body)
        except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception for unknown signature types
            raise BadSignature(f"WeChat Pay notification refused: {exc}") from exc
        if not event:
            raise BadSignature("WeChat Pay notification: signature or resource does not verify")
        try:
            resource = event["resource"]
            extra = {"event_type": str(event.get("event_type", "")), "notification_id": str(event.get("id", ""))}
            if str(event.get("event_type", "")).startswith("REFUND."):
                extra.update(refund_id=str(resource.get("out_refund_no", "")),
                             refund_status=str(resource.get("refund_status", "")))
                return GatewayNotification(str(resource["out_trade_no"]), OrderState.REFUNDED,
                                           self._incoming(resource["amount"]["refund"]),
                                           str(resource.get("transaction_id", "")), extra)
            return GatewayNotification(str(resource["out_trade_no"]), _STATES[resource["trade_state"]],
                                       self._incoming(resource["amount"]["total"]),
                                       str(resource.get("transaction_id", "")), extra)
        except (KeyError, TypeError, ValueError) as exc:
            raise GatewayError(f"signed WeChat Pay notification not understood: {exc}") from exc

    # --- internals ----------------------------------------------------------------------------
    def _order(self, data: Mapping[str, Any]) -> GatewayOrder:
        try:
            paid_at = data.get("success_time")
            return GatewayOrder(str(data["out_trade_no"]), self._incoming(data["amount"]["total"]),
                                _STATES[data["trade_state"]], gateway_txn=str(data.get("transaction_id", "")),
                                paid_at=datetime.fromisoformat(paid_at) if paid_at else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise GatewayError(f"WeChat Pay answer not understood: {exc}: {data!r}") from exc

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            status, text = method(*args, **kwargs)
        except requests.RequestException as exc:
            raise GatewayError(f"WeChat Pay {what}: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - the SDK's bare Exception: an answer whose signature fails
            raise GatewayError(f"WeChat Pay {what}: {exc}") from exc
        if status >= 500:
            raise GatewayError(f"WeChat Pay {what}: HTTP {status} {_code(text)}")
        if not text:
            return status, {}
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise GatewayError(f"WeChat Pay {what}: answer is not JSON") from exc
        if not isinstance(data, dict):
            raise GatewayError(f"WeChat Pay {what}: answer is not an object")
        return status, data

    def _outgoing(self, amount_fen: int) -> int:
        problem = item_problem(amount_fen, self.max_amount_fen)
        if problem is not None:
            raise GatewayError(f"not sent: amount_fen {problem}")
        return amount_fen

    def _incoming(self, value: object) -> int:
        problem = item_problem(value, self.max_amount_fen)
        if problem is not None:
            raise ValueError(f"amount {problem}")
        return value  # type: ignore[return-value]


def _code(text: Any) -> str:
    try:
        return str(json.loads(text).get("code", ""))
    except (ValueError, TypeError, AttributeError):
        return ""


def _refused(what: str, status: int, data: Mapping[str, Any]) -> GatewayError:
    return GatewayError(f"WeChat Pay {what}: refused ({status} {data.get('code', '')}: {data.get('message', '')})")
