"""Test rig for the Alipay simulator: the `kiosk sim alipay` process and the unmodified python-alipay-sdk
client pointed at it (its `_gateway` attribute, the SDK's one place for the host)."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alipay import AliPay
from alipay.utils import AliPayConfig

ROOT = Path(__file__).resolve().parents[2]


class Sim:
    """The running simulator: base URL, credentials and its control endpoint."""

    def __init__(self, url: str, keys: Path) -> None:
        self.url = url
        self.keys = keys
        self.credentials: dict[str, str] = json.loads((keys / "credentials.json").read_text())

    def control(self, **change: Any) -> dict[str, Any]:
        req = urllib.request.Request(f"{self.url}/sim/control", data=json.dumps(change).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as response:
            return json.loads(response.read())

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/sim/state", timeout=5) as response:
            return json.loads(response.read())

    def client(self, *, timeout: float = 5, alipay_public_key: str | None = None,
               notify_url: str | None = None) -> AliPay:
        """The SDK's own AliPay class. It takes no gateway argument: the URL lives in the `_gateway` attribute
        set by __init__ (production or sandbox host), so it is re-pointed after construction, nothing else."""
        c = self.credentials
        client = AliPay(appid=c["app_id"], app_notify_url=notify_url,
                        app_private_key_string=Path(c["app_private_key_path"]).read_text(),
                        alipay_public_key_string=alipay_public_key or Path(c["alipay_public_key_path"]).read_text(),
                        sign_type="RSA2", config=AliPayConfig(timeout=timeout))
        client._gateway = c["gateway_url"]
        return client


@contextmanager
def alipay_process(keys: Path, *extra: str) -> Iterator[Sim]:
    """`kiosk sim alipay --keys KEYS [EXTRA...]` running until the block ends."""
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "alipay", "--keys", str(keys), *extra],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        yield Sim(url, keys)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
