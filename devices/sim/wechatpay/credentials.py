"""The merchant and platform credentials the WeChat Pay simulator uses, written to a directory any client can read.

`credentials.json` names every value and key file (paths relative to the directory):
mchid, appid, merchant_serial_no, apiv3_key, merchant_private_key, merchant_public_key (the simulator
checks request signatures with it), platform_certificate and platform_cert_dir (certificate mode: the
SDK's `cert_dir`, one SERIAL.pem), platform_serial_no, platform_public_key and platform_public_key_id
(public-key mode), and platform_private_key (the simulator's own signing key; a real merchant never has it).
A directory that already holds credentials.json is reused, so a restarted simulator keeps its keys.
"""
from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.x509.oid import NameOID

CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    directory: Path
    mchid: str
    appid: str
    merchant_serial_no: str
    apiv3_key: str
    platform_serial_no: str
    platform_public_key_id: str

    def path(self, name: str) -> Path:
        return self.directory / _FILES[name]

    def text(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def merchant_public_key(self) -> RSAPublicKey:
        key = serialization.load_pem_public_key(self.path("merchant_public_key").read_bytes())
        assert isinstance(key, RSAPublicKey)
        return key

    def platform_private_key(self) -> RSAPrivateKey:
        key = serialization.load_pem_private_key(self.path("platform_private_key").read_bytes(), password=None)
        assert isinstance(key, RSAPrivateKey)
        return key


_FILES = {
    "merchant_private_key": "merchant_private_key.pem",
    "merchant_public_key": "merchant_public_key.pem",
    "platform_private_key": "platform_private_key.pem",
    "platform_certificate": "platform_certificate.pem",
    "platform_public_key": "platform_public_key.pem",
}
CERT_DIR = "platform_certs"


def load_or_create(directory: Path, *, mchid: str = "1900000109", appid: str = "wxd678efh567hg6787") -> Credentials:
    directory.mkdir(parents=True, exist_ok=True)
    listing = directory / CREDENTIALS_FILE
    if listing.exists():
        data = json.loads(listing.read_text(encoding="utf-8"))
        return Credentials(directory, data["mchid"], data["appid"], data["merchant_serial_no"], data["apiv3_key"],
                           data["platform_serial_no"], data["platform_public_key_id"])
    merchant = _new_key()
    platform = _new_key()
    certificate = _self_signed(platform, mchid)
    platform_serial = format(certificate.serial_number, "X")
    alphabet = string.ascii_letters + string.digits
    creds = Credentials(directory, mchid, appid, secrets.token_hex(20).upper(),
                        "".join(secrets.choice(alphabet) for _ in range(32)),
                        platform_serial, "PUB_KEY_ID_" + secrets.token_hex(16).upper())
    _write(creds.path("merchant_private_key"), _private_pem(merchant))
    _write(creds.path("merchant_public_key"), _public_pem(merchant.public_key()))
    _write(creds.path("platform_private_key"), _private_pem(platform))
    _write(creds.path("platform_public_key"), _public_pem(platform.public_key()))
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    _write(creds.path("platform_certificate"), cert_pem)
    (directory / CERT_DIR).mkdir(exist_ok=True)
    _write(directory / CERT_DIR / f"{platform_serial}.pem", cert_pem)
    listing.write_text(json.dumps({
        "mchid": creds.mchid, "appid": creds.appid, "merchant_serial_no": creds.merchant_serial_no,
        "apiv3_key": creds.apiv3_key, "platform_serial_no": platform_serial,
        "platform_public_key_id": creds.platform_public_key_id, "platform_cert_dir": CERT_DIR, **_FILES,
    }, indent=2) + "\n", encoding="utf-8")
    return creds


def _new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _self_signed(key: RSAPrivateKey, mchid: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (simulator)"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"WeChat Pay simulator {mchid}")])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=5 * 365)).sign(key, hashes.SHA256()))


def _private_pem(key: RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_pem(key: RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    if "private" in path.name:
        path.chmod(0o600)
