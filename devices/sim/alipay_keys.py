"""The Alipay simulator's credentials and RSA2 signatures (SHA256withRSA, PKCS#1 v1.5, base64), as the
open platform defines them: the merchant (app) key pair, the platform ("Alipay") key pair, and
`credentials.json` naming every value and key file so any client can talk to the simulator.
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

APP_ID = "2021000000000001"
_FILES = {"app_private": "app_private_key.pem", "app_public": "app_public_key.pem",
          "alipay_private": "alipay_private_key.pem", "alipay_public": "alipay_public_key.pem"}


@dataclass
class AlipayKeys:
    app_id: str
    app_public: rsa.RSAPublicKey
    alipay_private: rsa.RSAPrivateKey
    directory: Path

    def sign(self, text: str) -> str:
        """The platform's RSA2 signature over `text` (what a client verifies with the Alipay public key)."""
        signature = self.alipay_private.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def verify_app(self, text: str, signature: str) -> bool:
        """True when `signature` is the merchant's RSA2 signature over `text`."""
        try:
            raw = base64.b64decode(signature, validate=False)
            self.app_public.verify(raw, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


def signing_string(params: dict[str, str], *, drop: tuple[str, ...] = ("sign",)) -> str:
    """Parameters sorted by name, empty values and `drop` left out, joined as k=v&k=v (values not encoded)."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in drop and v != "")


def load_or_create(directory: Path, app_id: str = APP_ID) -> AlipayKeys:
    """The key pairs in `directory`, generated (RSA 2048) at first start, and credentials.json written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / file for name, file in _FILES.items()}
    if not all(p.exists() for p in paths.values()):
        for who in ("app", "alipay"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write(paths[f"{who}_private"], key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()), private=True)
            _write(paths[f"{who}_public"], key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), private=False)
    app_public = serialization.load_pem_public_key(paths["app_public"].read_bytes())
    alipay_private = serialization.load_pem_private_key(paths["alipay_private"].read_bytes(), password=None)
    assert isinstance(app_public, rsa.RSAPublicKey) and isinstance(alipay_private, rsa.RSAPrivateKey)
    return AlipayKeys(app_id, app_public, alipay_private, directory)


def write_credentials(keys: AlipayKeys, gateway_url: str) -> Path:
    """credentials.json: what a merchant configures (app id, gateway, its private key, Alipay's public key)."""
    d = keys.directory
    creds = {
        "app_id": keys.app_id, "gateway_url": gateway_url, "sign_type": "RSA2",
        "app_private_key_path": str(d / _FILES["app_private"]),
        "app_public_key_path": str(d / _FILES["app_public"]),
        "alipay_public_key_path": str(d / _FILES["alipay_public"]),
        "alipay_private_key_path": str(d / _FILES["alipay_private"]),
        "note": "alipay_private_key_path is the simulator's own platform key; a merchant never holds it",
    }
    path = d / "credentials.json"
    path.write_text(json.dumps(creds, indent=2) + "\n", encoding="utf-8")
    return path


def _write(path: Path, data: bytes, *, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
