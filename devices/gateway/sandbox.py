"""`SandboxGateway`: the kiosk.ports.PaymentGateway over the sandbox gateway's JSON HTTP API.

Every request is signed (see devices.gateway.signing); replies are JSON. A gateway that cannot be
reached, times out or answers 5xx raises GatewayError; a refused request (4xx) raises
GatewayError with the gateway's error code in the detail. Notifications are verified with
`verify_notification`, which raises BadSignature for anything not signed with the shared secret.
The API is described in docs/payments.md.
"""
from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from devices.gateway import signing
from kiosk.domain.bounds import DEFAULT_MAX_ITEM_FEN, item_problem
from kiosk.errors import BadSignature, GatewayError
from kiosk.ports import GatewayNotification, GatewayOrder, OrderState

log = logging.getLogger(__name__)


def order_from_json(data: Mapping[str, Any], max_amount_fen: int = DEFAULT_MAX_ITEM_FEN) -> GatewayOrder:
    paid_at = data.get("paid_at")
    return GatewayOrder(
        order_id=str(data["order_id"]),
        amount_fen=_fen(data["amount_fen"], max_amount_fen),
        state=OrderState(data["state"]),
        code_url=str(data.get("code_url") or ""),
        gateway_txn=str(data.get("gateway_txn") or ""),
        paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
    )


def _fen(value: object, max_amount_fen: int) -> int:
    """An amount to or from the gateway: whole fen, more than zero, at most the site's per-item maximum."""
    problem = item_problem(value, max_amount_fen)
    if problem is not None:
        raise ValueError(f"amount_fen {problem}")
    return value  # type: ignore[return-value]


class SandboxGateway:
    """Client of the sandbox gateway (`kiosk sim gateway`). Thread-safe: no shared mutable state."""

    def __init__(self, url: str, secret: bytes | str, *, timeout_s: float = 5.0, notify_url: str = "",
                 max_skew_s: float = 300.0, name: str = "QR gateway",
                 clock: Callable[[], float] = time.time, max_amount_fen: int = DEFAULT_MAX_ITEM_FEN) -> None:
        self.url = url.rstrip("/")
        self._secret = signing.as_key(secret)
        self.timeout_s = timeout_s
        self.notify_url = notify_url
        self.max_skew_s = max_skew_s
        self.name = name
        self._clock = clock
        self.max_amount_fen = max_amount_fen  # `limits.max_item_fen`: no order, refund or answer above it

    # --- the port -----------------------------------------------------------------------------
    def create_order(self, order_id: str, amount_fen: int, description: str, expires_in_s: int) -> GatewayOrder:
        payload: dict[str, Any] = {"order_id": order_id, "amount_fen": self._outgoing(amount_fen),
                                   "description": description, "expires_in_s": int(expires_in_s)}
        if self.notify_url:
            payload["notify_url"] = self.notify_url
        return self._order("POST", "/v1/orders", payload)

    def query(self, order_id: str) -> GatewayOrder:
        return self._order("GET", f"/v1/orders/{quote(order_id, safe='')}")

    def close(self, order_id: str) -> GatewayOrder:
        """Close a pending order. A paid order stays paid: check the returned state."""
        return self._order("POST", f"/v1/orders/{quote(order_id, safe='')}/close", {})

    def refund(self, order_id: str, refund_id: str, amount_fen: int) -> None:
        """Refund (part of) a paid order; repeating a refund_id is safe (the gateway keeps one)."""
        self._call("POST", f"/v1/orders/{quote(order_id, safe='')}/refunds",
                   {"refund_id": refund_id, "amount_fen": self._outgoing(amount_fen)})

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> GatewayNotification:
        try:
            signing.verify(self._secret, body, headers, self._clock(), self.max_skew_s)
        except signing.SignatureMismatch as exc:
            raise BadSignature(str(exc)) from exc
        try:
            data = json.loads(body)
            extra = {k: str(v) for k, v in data.items()
                     if k not in ("order_id", "state", "amount_fen", "gateway_txn")}
            return GatewayNotification(order_id=str(data["order_id"]), state=OrderState(data["state"]),
                                       amount_fen=_fen(data["amount_fen"], self.max_amount_fen),
                                       gateway_txn=str(data.get("gateway_txn") or ""), extra=extra)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Signed but unreadable: the gateway and the kiosk disagree on the format.
            raise GatewayError(f"signed notification not understood: {exc}") from exc

    def _outgoing(self, amount_fen: int) -> int:
        """An amount the kiosk asks for: one outside the bounds is refused before anything is sent, as a
        gateway that cannot take it (GatewayError: the resident is offered another method)."""
        try:
            return _fen(amount_fen, self.max_amount_fen)
        except ValueError as exc:
            raise GatewayError(f"not sent: {exc}") from None

    # --- extras -------------------------------------------------------------------------------
    def records(self) -> dict[str, list[dict[str, Any]]]:
        """The gateway's own orders and refunds, for settlement against the ledger."""
        data = self._call("GET", "/v1/records")
        return {"orders": list(data.get("orders", [])), "refunds": list(data.get("refunds", []))}

    # --- wire ---------------------------------------------------------------------------------
    def _order(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> GatewayOrder:
        data = self._call(method, path, payload)
        try:
            return order_from_json(data, self.max_amount_fen)
        except (KeyError, ValueError, TypeError) as exc:
            raise GatewayError(f"{method} {path}: unexpected reply {data!r}: {exc}") from exc

    def _call(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers.update(signing.sign_headers(self._secret, method.encode() + b" " + path.encode() + b"\n" + body,
                                            self._clock()))
        request = urllib.request.Request(self.url + path, data=body if payload is not None else None,
                                         headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code >= 500:
                raise GatewayError(f"{method} {path}: HTTP {exc.code} {detail}") from exc
            raise GatewayError(f"{method} {path}: refused ({exc.code} {detail})") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            # Refused, reset, timed out (OSErrors), or a gateway that died mid-answer: a truncated body
            # (IncompleteRead) or a broken status line (BadStatusLine) is an HTTPException, not an OSError.
            raise GatewayError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise GatewayError(f"{method} {path}: reply is not JSON") from exc
        if not isinstance(data, dict):
            raise GatewayError(f"{method} {path}: reply is not an object")
        return data


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read() or b"{}")
        return str(data.get("error", "")) if isinstance(data, dict) else ""
    except (ValueError, OSError, http.client.HTTPException):
        return ""
