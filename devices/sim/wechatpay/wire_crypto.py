"""API v3 signatures and encryption as the platform does them (WECHATPAY2-SHA256-RSA2048, AEAD_AES_256_GCM)."""
from __future__ import annotations

import base64
import re
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_S = 300
_FIELD = re.compile(r'(\w+)="([^"]*)"')


class AuthError(Exception):
    """Why a request's Authorization header was refused (the answer is 401 SIGN_ERROR)."""


def check_authorization(header: str, method: str, path: str, body: str, *, mchid: str, serial_no: str,
                        public_key: RSAPublicKey, now: float | None = None) -> None:
    """Raise AuthError unless `header` signs METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n with the merchant key."""
    schema, _, rest = header.partition(" ")
    if schema != SCHEMA:
        raise AuthError(f"unsupported authorization schema {schema!r}")
    fields = dict(_FIELD.findall(rest))
    missing = {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} - fields.keys()
    if missing:
        raise AuthError(f"authorization lacks {', '.join(sorted(missing))}")
    if fields["mchid"] != mchid:
        raise AuthError("mchid does not match")
    if fields["serial_no"].upper() != serial_no.upper():
        raise AuthError("merchant certificate serial number unknown")
    try:
        timestamp = int(fields["timestamp"])
    except ValueError as exc:
        raise AuthError("timestamp is not a number") from exc
    if abs((now if now is not None else time.time()) - timestamp) > MAX_CLOCK_SKEW_S:
        raise AuthError("timestamp outside the allowed window")
    message = f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{body}\n"
    try:
        public_key.verify(base64.b64decode(fields["signature"]), message.encode("utf-8"), PKCS1v15(), SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise AuthError("signature does not verify") from exc


def signed_headers(body: str, private_key: RSAPrivateKey, serial: str) -> dict[str, str]:
    """The Wechatpay-* headers over TIMESTAMP\\nNONCE\\nBODY\\n (answers and notifications alike)."""
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16).upper()
    message = f"{timestamp}\n{nonce}\n{body}\n".encode("utf-8")
    signature = base64.b64encode(private_key.sign(message, PKCS1v15(), SHA256())).decode("ascii")
    return {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial,
            "Wechatpay-Signature": signature, "Wechatpay-Signature-Type": SCHEMA}


def encrypt_resource(plaintext: str, apiv3_key: str, associated_data: str) -> dict[str, str]:
    """AEAD_AES_256_GCM with the APIv3 key; nonce 12 ASCII characters as the platform sends it."""
    nonce = secrets.token_hex(6)
    ciphertext = AESGCM(apiv3_key.encode("utf-8")).encrypt(nonce.encode("ascii"), plaintext.encode("utf-8"),
                                                           associated_data.encode("utf-8"))
    return {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": associated_data,
            "ciphertext": base64.b64encode(ciphertext).decode("ascii")}
