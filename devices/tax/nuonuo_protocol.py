"""Nuonuo (诺税通) open-API vocabulary shared by the adapter and the simulator: signing, codes, amounts.

Signing (X-Nuonuo-Sign): base64(HMAC-SHA1(app secret, "a=services&l=v1&p=open&k=APPKEY&i=SENID&n=NONCE
&t=TIMESTAMP&f=BODY")), where a/l/p are the last three pieces of the request path (/open/v1/services),
senid is a 32-character request id, nonce an 8-digit random positive integer, timestamp Unix seconds,
and BODY the request body exactly as sent. senid/nonce/timestamp/appkey travel in the query string, the
signature, access token and API method name in headers.

Codes: E0000 success, E9500 no such invoice, E9106 duplicate order number, E9613 reInvoice limit
reached; 0701xx/0703xx are the open platform's gateway codes (credentials, signature, limits). Codes
marked "sim" below were not in the public material at hand: the simulator uses them and the adapter
maps them, and docs/invoices.md asks to confirm them against the provider's code list.

reInvoice (开票重试接口), as Nuonuo's own method description says: a FAILED order (22) is pushed to the bureau
again under the same order number and serial, its content unchanged; an issued one answers "发票已生成，无需再重试
开票", one still issuing "开票中（重试中），请耐心等待开票结果" (the words are Nuonuo's; their codes E9611/E9612 are
our guess). So a failed order can come back to life at the provider (someone presses retry in Nuonuo's console):
the kiosk's staff retry asks about the old number before it takes a new one (kiosk.invoices.service.Invoicing.retry).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from urllib.parse import urlsplit

SERVICES_PATH = "/open/v1/services"
TOKEN_PATH = "/accessToken"

# Method names (the `method` header).
REQUEST_BILLING = "nuonuo.OpeMplatform.requestBillingNew"
QUERY_RESULT = "nuonuo.OpeMplatform.queryInvoiceResult"
REINVOICE = "nuonuo.OpeMplatform.reInvoice"
SAVE_RED_CONFIRM = "nuonuo.OpeMplatform.saveInvoiceRedConfirm"
QUERY_RED_CONFIRM = "nuonuo.OpeMplatform.queryInvoiceRedConfirm"
FAST_RED = "nuonuo.OpeMplatform.fastInvoiceRed"
# 诺税通saas发票重新交付接口: push an issued invoice again to a phone (SMS) and/or an e-mail address. Body fields
# (from the public SDK material): taxnum (seller tax ID), invoiceCode (empty for 数电), invoiceNum (20 digits for
# 数电), phone, mail (at least one of the two).
DELIVER_INVOICE = "nuonuo.OpeMplatform.deliveryInvoice"
# The phone-side title form is the simulator's own API (production: see docs/invoices.md).
TITLE_FORM_OPEN = "sim.titleForm.open"
TITLE_FORM_READ = "sim.titleForm.read"

SUCCESS = "E0000"
NOT_FOUND = "E9500"
DUPLICATE_ORDER = "E9106"  # 订单编号或流水号不能重复
REINVOICE_LIMIT = "E9613"  # 同一流水号(订单号)单日最多重试20次
ALREADY_ISSUED = "E9611"  # sim: 发票已生成，无需再重试开票
STILL_ISSUING = "E9612"  # sim: 开票中（重试中），请耐心等待开票结果
INVALID_FIELD = "E9101"  # sim: a required field missing or malformed
BAD_TAX_ARITHMETIC = "E9102"  # sim: amounts do not add up or tax outside tolerance
BAD_BUYER_TAX_ID = "E9103"  # sim: buyer tax ID fails its check character
RED_NOT_ALLOWED = "E9201"  # sim: the blue invoice cannot be reversed as asked
BAD_DELIVERY_PHONE = "E9301"  # sim: 交付手机号格式不正确
BAD_DELIVERY_MAIL = "E9302"  # sim: 交付邮箱格式不正确
NOT_DELIVERABLE = "E9303"  # sim: 发票不存在或尚未开具，不能交付
APPKEY_INVALID = "070101"  # 获取app密钥失败或appkey无效
RATE_LIMITED = "070303"  # sim: 接口调用频率超限
BAD_SIGNATURE = "070304"  # sim: 签名校验失败
TOKEN_INVALID = "070305"  # sim: accessToken无效或已过期
TOKEN_LIMIT = "070306"  # access token call limit reached (50 per 30 days)

# queryInvoiceResult `status`.
STATUS_ISSUED = "2"  # 开票完成
STATUS_ISSUING = "20"  # 开票中
STATUS_SEALING = "21"  # 开票成功签章中
STATUS_FAILED = "22"  # 开票失败
STATUS_SEAL_FAILED = "24"  # 开票成功签章失败

# Red-letter confirmation form (红字确认单) `billStatus`.
RED_FORM_NO_CONFIRM = "01"  # 无需确认: effective at once
RED_FORM_BUYER_PENDING = "02"  # 销方录入待购方确认
RED_FORM_CONFIRMED = "04"  # 购销双方已确认
RED_FORM_APPLYING = "15"  # 申请中 (Nuonuo's own)
RED_FORM_FAILED = "16"  # 申请失败 (Nuonuo's own)
RED_FORM_EFFECTIVE = (RED_FORM_NO_CONFIRM, RED_FORM_CONFIRMED)
RED_FORM_PENDING = (RED_FORM_BUYER_PENDING, "03", RED_FORM_APPLYING)


def sign(app_secret: str, app_key: str, senid: str, nonce: str, timestamp: str, body: str,
         path: str = SERVICES_PATH) -> str:
    """The X-Nuonuo-Sign value for one request (see the module's doc)."""
    pieces = urlsplit(path).path.split("/")
    if len(pieces) < 4:
        raise ValueError(f"a service path has three parts (/open/v1/services), got {path!r}")
    message = (f"a={pieces[3]}&l={pieces[2]}&p={pieces[1]}&k={app_key}&i={senid}&n={nonce}"
               f"&t={timestamp}&f={body}")
    digest = hmac.new(app_secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def new_senid() -> str:
    return secrets.token_hex(16)


def new_nonce() -> str:
    return str(10_000_000 + secrets.randbelow(90_000_000))


# --- amounts -----------------------------------------------------------------------------------
def yuan(fen: int) -> str:
    """Integer fen as the wire's yuan text with two decimals: 10600 -> "106.00", -5 -> "-0.05"."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amounts are integer fen, got {fen!r}")
    sign_ = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign_}{whole}.{part:02d}"


def fen(text: object) -> int:
    """The wire's yuan text (at most two decimals) as integer fen; ValueError otherwise (never a float)."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValueError(f"an amount is text like \"106.00\", got {text!r}")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"an amount has at most two decimals: {text!r}")
    return int(value * 100)


def rate_text(permille: int) -> str:
    """A rate in thousandths as the wire's decimal text: 60 -> "0.06", 15 -> "0.015", 0 -> "0"."""
    text = format(Decimal(permille) / 1000, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rate_permille(text: object) -> int:
    """The wire's decimal rate as thousandths; ValueError when it is not a whole number of thousandths."""
    try:
        value = Fraction(str(text).strip()) * 1000
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"not a rate: {text!r}") from exc
    if value.denominator != 1 or not 0 <= value < 1000:
        raise ValueError(f"not a rate: {text!r}")
    return int(value)


def decimal_text(value: Fraction, places: int = 8) -> str:
    """An exact fraction as plain decimal text with at most `places` decimals, no trailing zeros."""
    scaled = round(value * 10 ** places)
    text = format(Decimal(scaled).scaleb(-places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
