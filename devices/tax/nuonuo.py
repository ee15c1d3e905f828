"""`NuonuoProvider`: kiosk.ports.InvoiceProvider over Nuonuo's (诺税通) open API (or the simulator's copy of it).

Every service call is signed (devices.tax.nuonuo_protocol.sign) and carries the access token, which
is kept in an AccessTokenStore (the data directory or the database) and fetched again only when it is within
`refresh_margin_s` of expiry or the provider calls it invalid, never more than the provider's budget
(50 per 30 days) allows. Answers and errors are mapped into the port's types: no usable answer ->
InvoiceProviderUnreachable; refused credentials or signature -> InvoiceSignatureRejected; rate or token
limits -> InvoiceRateLimited; a refused order -> InvoiceRejected with the provider's code and words.
The app secret and the token never reach a log line. docs/invoices.md, "The provider".
"""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from devices.tax import nuonuo_protocol as wire
from devices.tax import nuonuo_wire as mapping
from kiosk.errors import (InvoiceEmailInvalid, InvoicePhoneInvalid, InvoiceProviderUnreachable, InvoiceRateLimited,
                          InvoiceRejected, InvoiceSignatureRejected)
from kiosk.ports import (AccessToken, AccessTokenStore, BuyerKind, InvoiceBuyer, InvoiceOrder, InvoiceResult,
                         InvoiceStatus, RedLetterRequest, TitleForm)

log = logging.getLogger(__name__)

# Production hosts: the open platform's token endpoint is on another host than its services.
KNOWN_TOKEN_URLS = {"https://sdk.nuonuo.com": "https://open.nuonuo.com/accessToken"}
TOKEN_WINDOW_S = 30 * 24 * 3600
_CREDENTIAL_PREFIXES = ("0701", "0703")


class NuonuoProvider:
    """One seller's connection to Nuonuo. Thread-safe: the only shared state is the token store."""

    name = "nuonuo"

    def __init__(self, url: str, app_key: str, app_secret: str, *, seller_tax_id: str, clerk: str,
                 token_store: AccessTokenStore, token_url: str = "", timeout_s: float = 10.0,
                 refresh_margin_s: float = 3600.0, token_budget: int = 50,
                 clock: Callable[[], float] = time.time) -> None:
        if not url or not app_key or not app_secret:
            raise ValueError("the provider needs its URL, app key and app secret")
        self.url = url.rstrip("/")
        self.token_url = token_url or KNOWN_TOKEN_URLS.get(self.url, self.url + wire.TOKEN_PATH)
        self._app_key = app_key
        self._app_secret = app_secret
        self.seller_tax_id = seller_tax_id
        self.clerk = clerk
        self._tokens = token_store
        self.timeout_s = timeout_s
        self.refresh_margin_s = refresh_margin_s
        self.token_budget = token_budget
        self._clock = clock

    def __repr__(self) -> str:  # never the secret or the token
        return f"NuonuoProvider(url={self.url!r}, app_key={self._app_key!r})"

    # --- the port -----------------------------------------------------------------------------
    def request_invoice(self, order: InvoiceOrder) -> InvoiceResult:
        body = mapping.billing_body(order, seller_tax_id=self.seller_tax_id, clerk=self.clerk)
        answer = self._call(wire.REQUEST_BILLING, body)
        code = answer["code"]
        if code == wire.SUCCESS:
            return InvoiceResult(order.order_no, InvoiceStatus.ACCEPTED, serial_no=_serial(answer))
        if code == wire.DUPLICATE_ORDER:
            return InvoiceResult(order.order_no, InvoiceStatus.DUPLICATE)
        raise _rejected(answer)

    def query(self, order_no: str) -> InvoiceResult:
        item = self._find(order_no)
        return InvoiceResult(order_no, InvoiceStatus.NOT_FOUND) if item is None else self._result(item)

    def reissue(self, order_no: str) -> InvoiceResult:
        answer = self._call(wire.REINVOICE, {"orderno": order_no})
        code = answer["code"]
        if code == wire.SUCCESS:
            return InvoiceResult(order_no, InvoiceStatus.ACCEPTED)
        if code in (wire.ALREADY_ISSUED, wire.STILL_ISSUING):
            return self.query(order_no)
        if code == wire.NOT_FOUND:
            return InvoiceResult(order_no, InvoiceStatus.NOT_FOUND)
        if code == wire.REINVOICE_LIMIT:
            raise InvoiceRateLimited(f"reInvoice {order_no}: {answer.get('describe', '')}")
        raise _rejected(answer)

    def red_letter(self, request: RedLetterRequest) -> InvoiceResult:
        """Red-letter form (红字确认单) on the blue invoice, then the fast red (快捷冲红) under request.order_no.

        Safe to repeat with the same request: a form or order already made is found, not made twice.
        ISSUING with a reason means the form waits for the buyer's confirmation: ask again later."""
        blue = self._find(request.original_order_no, with_detail=True)
        if blue is None or self._result(blue).status is not InvoiceStatus.ISSUED:
            raise InvoiceRejected(f"order {request.original_order_no} has no issued invoice",
                                  reason=f"原订单{request.original_order_no}没有已开具的发票", provider_code="")
        if str(blue.get("allElectronicInvoiceNumber") or blue.get("invoiceNo")) != request.original_invoice_no:
            raise InvoiceRejected(reason=f"发票号码{request.original_invoice_no}与原订单不符", provider_code="")
        try:
            indexes = mapping.blue_detail_indexes(list(blue.get("invoiceItems") or []), request.lines) \
                if request.lines else []
        except ValueError as exc:
            raise InvoiceRejected(str(exc), reason=str(exc), provider_code="") from exc
        saved = self._call(wire.SAVE_RED_CONFIRM, mapping.red_form_body(
            request, seller_tax_id=self.seller_tax_id, buyer_name=str(blue.get("payerName") or ""),
            buyer_tax_id=str(blue.get("payerTaxNo") or ""), blue_indexes=indexes))
        if saved["code"] not in (wire.SUCCESS, wire.DUPLICATE_ORDER):
            raise _rejected(saved)
        form = self._red_form(request.order_no)
        status = str(form.get("billStatus") or "")
        if status in wire.RED_FORM_PENDING:
            return InvoiceResult(request.order_no, InvoiceStatus.ISSUING, red=True,
                                 reason=f"红字确认单{form.get('billNo', '')}待确认（{status}）")
        if status not in wire.RED_FORM_EFFECTIVE:
            raise InvoiceRejected(f"red-letter form {status}",
                                  reason=str(form.get("billMessage") or f"红字确认单状态{status}"),
                                  provider_code=status)
        answer = self._call(wire.FAST_RED, mapping.fast_red_body(
            request, seller_tax_id=self.seller_tax_id, bill_no=str(form.get("billNo") or ""),
            bill_uuid=str(form.get("billUuid") or ""), when=datetime.fromtimestamp(self._clock(), tz=timezone.utc)))
        if answer["code"] == wire.SUCCESS:
            return InvoiceResult(request.order_no, InvoiceStatus.ACCEPTED, serial_no=_serial(answer), red=True)
        if answer["code"] == wire.DUPLICATE_ORDER:
            return InvoiceResult(request.order_no, InvoiceStatus.DUPLICATE, red=True)
        raise _rejected(answer)

    def open_title_form(self, expires_in_s: int) -> TitleForm:
        result = self._ok(self._call(wire.TITLE_FORM_OPEN, {"expiresIn": int(expires_in_s)}))
        try:
            return TitleForm(session_id=str(result["sessionId"]), url=str(result["url"]),
                             expires_at=datetime.fromtimestamp(int(result["expiresAt"]) / 1000, tz=timezone.utc))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvoiceProviderUnreachable(f"title form: unexpected answer {result!r}") from exc

    def read_title(self, session_id: str) -> InvoiceBuyer | None:
        result = self._ok(self._call(wire.TITLE_FORM_READ, {"sessionId": session_id}))
        if not isinstance(result, dict) or result.get("status") != "submitted":
            return None
        personal = str(result.get("naturalPersonFlag")) == "1"
        try:
            return InvoiceBuyer(BuyerKind.PERSONAL if personal else BuyerKind.COMPANY, str(result["buyerName"]),
                                tax_id="" if personal else str(result.get("buyerTaxNum") or ""))
        except (KeyError, ValueError) as exc:
            raise InvoiceProviderUnreachable(f"title form: unexpected answer {result!r}") from exc

    def deliver(self, invoice_no: str, *, phone: str = "", email: str = "") -> None:
        """deliveryInvoice: the provider pushes the issued invoice again (SMS to `phone`, mail to `email`)."""
        if not phone and not email:
            raise ValueError("a re-delivery needs a phone number or an e-mail address")
        answer = self._call(wire.DELIVER_INVOICE, mapping.delivery_body(
            invoice_no, seller_tax_id=self.seller_tax_id, phone=phone, email=email))
        code = answer["code"]
        if code == wire.SUCCESS:
            return
        if code == wire.BAD_DELIVERY_PHONE:
            raise InvoicePhoneInvalid(f"deliveryInvoice: {answer.get('describe', '')}", phone=phone)
        if code == wire.BAD_DELIVERY_MAIL:
            raise InvoiceEmailInvalid(f"deliveryInvoice: {answer.get('describe', '')}", email=email)
        raise _rejected(answer)

    # --- answers ------------------------------------------------------------------------------
    def _find(self, order_no: str, with_detail: bool = False) -> dict[str, Any] | None:
        answer = self._call(wire.QUERY_RESULT, mapping.query_body(order_no, with_detail))
        if answer["code"] == wire.NOT_FOUND:
            return None
        items = self._ok(answer)
        if not isinstance(items, list):
            raise InvoiceProviderUnreachable(f"queryInvoiceResult {order_no}: result is not a list")
        return next((item for item in items if isinstance(item, dict) and item.get("orderNo") == order_no), None)

    def _result(self, item: Mapping[str, Any]) -> InvoiceResult:
        try:
            return mapping.result_from_item(item)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvoiceProviderUnreachable(f"queryInvoiceResult: answer not understood: {exc}") from exc

    def _red_form(self, bill_id: str) -> dict[str, Any]:
        result = self._ok(self._call(wire.QUERY_RED_CONFIRM, {"identity": "0", "billId": bill_id}))
        forms = result.get("list") if isinstance(result, dict) else None
        if not forms or not isinstance(forms[0], dict):
            raise InvoiceProviderUnreachable(f"red-letter form {bill_id} not listed after it was saved")
        return forms[0]

    @staticmethod
    def _ok(answer: dict[str, Any]) -> Any:
        if answer["code"] != wire.SUCCESS:
            raise _rejected(answer)
        return answer.get("result")

    # --- the wire -----------------------------------------------------------------------------
    def _call(self, method: str, payload: Mapping[str, Any], *, may_refresh: bool = True) -> dict[str, Any]:
        """One signed service call; the answer's code is the caller's to read, except the gateway's own
        codes (credentials, signature, limits), which raise here. An invalid token is refreshed once."""
        token = self._token()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        senid, nonce, stamp = wire.new_senid(), wire.new_nonce(), str(int(self._clock()))
        query = urlencode({"senid": senid, "nonce": nonce, "timestamp": stamp, "appkey": self._app_key})
        headers = {"Content-Type": "application/json; charset=utf-8", "accessToken": token, "method": method,
                   "userTax": self.seller_tax_id,
                   "X-Nuonuo-Sign": wire.sign(self._app_secret, self._app_key, senid, nonce, stamp, body,
                                              urlsplit(self.url + wire.SERVICES_PATH).path)}
        answer = self._post(f"{self.url}{wire.SERVICES_PATH}?{query}", body.encode("utf-8"), headers, method)
        code = str(answer.get("code") or "")
        if not code:
            raise InvoiceProviderUnreachable(f"{method}: answer without a code")
        answer["code"] = code
        log.info("nuonuo %s -> %s", method, code)
        if code == wire.TOKEN_INVALID and may_refresh:
            self._forget_token(token)
            return self._call(method, payload, may_refresh=False)
        if code in (wire.RATE_LIMITED, wire.TOKEN_LIMIT):
            raise InvoiceRateLimited(f"{method}: {code} {answer.get('describe', '')}")
        if code.startswith(_CREDENTIAL_PREFIXES):
            raise InvoiceSignatureRejected(f"{method}: {code} {answer.get('describe', '')}")
        return answer

    def _post(self, url: str, data: bytes, headers: Mapping[str, str], what: str) -> dict[str, Any]:
        request = urllib.request.Request(url, data=data, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = _readable(exc)
            if exc.code >= 500 or raw is None:
                raise InvoiceProviderUnreachable(f"{what}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, TimeoutError, ConnectionError) as exc:
            raise InvoiceProviderUnreachable(f"{what}: {exc}") from exc
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvoiceProviderUnreachable(f"{what}: the answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise InvoiceProviderUnreachable(f"{what}: the answer is not an object")
        return answer

    # --- the access token ---------------------------------------------------------------------
    def _token(self) -> str:
        now = self._clock()
        cached = self._tokens.load()
        if cached and cached.expires_at - now > self.refresh_margin_s:
            return cached.token
        with self._tokens.refreshing():
            cached = self._tokens.load()  # another process may have refreshed it meanwhile
            if cached and cached.expires_at - now > self.refresh_margin_s:
                return cached.token
            history = tuple(t for t in (cached.obtained if cached else ()) if now - t < TOKEN_WINDOW_S)
            if len(history) >= self.token_budget:
                if cached and cached.expires_at > now:
                    return cached.token  # the budget is spent: use the old one to its end
                raise InvoiceRateLimited(f"{len(history)} access tokens in 30 days; the next one is allowed "
                                         f"{int(min(history) + TOKEN_WINDOW_S - now)} s from now")
            try:
                token, ttl = self._fetch_token()
            except (InvoiceProviderUnreachable, InvoiceRateLimited) as exc:
                if cached and cached.expires_at > now:
                    log.warning("nuonuo: no new access token (%s); the current one is used until it expires", exc)
                    return cached.token
                raise
            self._tokens.save(AccessToken(token, now + ttl, history + (now,)))
            log.info("nuonuo: new access token, valid %d s (%d obtained in 30 days)", ttl, len(history) + 1)
            return token

    def _forget_token(self, token: str) -> None:
        with self._tokens.refreshing():
            cached = self._tokens.load()
            if cached and cached.token == token:
                self._tokens.save(AccessToken(cached.token, 0.0, cached.obtained))

    def _fetch_token(self) -> tuple[str, int]:
        form = urlencode({"client_id": self._app_key, "client_secret": self._app_secret,
                          "grant_type": "client_credentials"}).encode()
        answer = self._post(self.token_url, form, {"Content-Type": "application/x-www-form-urlencoded"},
                            "accessToken")
        if answer.get("access_token"):
            try:
                return str(answer["access_token"]), int(answer.get("expires_in") or 0)
            except (TypeError, ValueError) as exc:
                raise InvoiceProviderUnreachable("accessToken: expires_in is not a number") from exc
        code = str(answer.get("error") or answer.get("code") or "")
        words = str(answer.get("error_description") or answer.get("describe") or "")
        if code == wire.TOKEN_LIMIT:
            raise InvoiceRateLimited(f"accessToken: {code} {words}")
        raise InvoiceSignatureRejected(f"accessToken: {code} {words}")


def _serial(answer: Mapping[str, Any]) -> str:
    result = answer.get("result")
    return str(result.get("invoiceSerialNum") or "") if isinstance(result, dict) else ""


def _rejected(answer: Mapping[str, Any]) -> InvoiceRejected:
    code, words = str(answer.get("code") or ""), str(answer.get("describe") or "")
    return InvoiceRejected(f"{code} {words}", reason=words or code, provider_code=code)


def _readable(exc: urllib.error.HTTPError) -> bytes | None:
    """A 4xx answer's body when it is the provider's JSON (the caller reads its code), else None."""
    try:
        raw = exc.read()
        json.loads(raw.decode("utf-8"))
        return raw
    except (OSError, ValueError, UnicodeDecodeError):
        return None
