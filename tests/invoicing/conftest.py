"""Fixtures: the tax provider simulator as its own process (`kiosk sim tax-provider`), an adapter for it,
and helpers to script the simulator and wait for results."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from devices.tax.nuonuo import NuonuoProvider
from devices.tax.token_store import FileTokenStore
from kiosk.ports import (BuyerKind, InvoiceBuyer, InvoiceLine, InvoiceOrder, InvoiceResult, InvoiceStatus,
                         TaxPolicy)

ROOT = Path(__file__).resolve().parents[2]
# Property tests here cost milliseconds per example: CI (profile "ci", 10,000 examples) runs a sample of
# 500 each; HYPOTHESIS_PROFILE=long runs the profile's full count.
LEAN = settings(max_examples=500) if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else settings()
APP_KEY = "SIMTEST01"
APP_SECRET = "test-app-secret-0123456789abcdef"
SELLER = "91350100M000100Y43"
COMPANY = "9144030071526726XG"
TEST_DELAY_S = 0.3
NORMAL = {"delay_s": TEST_DELAY_S, "outage": False, "stall_s": 0, "rate_limit": 0, "token_outage": False, "seal_failures": 0,
          "unregistered_tax_ids": [], "red_form_status": "01", "listing_lag_s": 0, "token_ttl_s": 86400, "token_budget": 50,
          "forget_token_history": True}


class Sim:
    """The running simulator process: its URL, its control endpoint and its state."""

    def __init__(self, url: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.process = process

    def control(self, **changes: Any) -> dict[str, Any]:
        return _post_json(f"{self.url}/sim/control", changes)

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/sim/state", timeout=5) as response:
            return json.loads(response.read())

    def deliveries(self) -> list[dict[str, Any]]:
        """Every re-delivery (deliveryInvoice) the simulator made, oldest first."""
        with urllib.request.urlopen(f"{self.url}/sim/deliveries", timeout=5) as response:
            return json.loads(response.read())


def _post_json(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def sim_process() -> Iterator[Sim]:
    env = {**os.environ, "KIOSK_INVOICE_APP_KEY": APP_KEY, "KIOSK_INVOICE_APP_SECRET": APP_SECRET}
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "tax-provider", "--seller-tax-id", SELLER],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        yield Sim(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def sim(sim_process: Sim) -> Iterator[Sim]:
    sim_process.control(**NORMAL)
    yield sim_process
    sim_process.control(**NORMAL)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return tmp_path / "invoice-token.json"


@pytest.fixture
def make_provider(sim: Sim, token_file: Path) -> Callable[..., NuonuoProvider]:
    def make(**options: Any) -> NuonuoProvider:
        values: dict[str, Any] = {"seller_tax_id": SELLER, "clerk": "自助终端", "timeout_s": 3.0,
                                  "token_store": FileTokenStore(token_file)}
        values.update(options)
        url = values.pop("url", sim.url)
        key = values.pop("app_key", APP_KEY)
        secret = values.pop("app_secret", APP_SECRET)
        return NuonuoProvider(url, key, secret, **values)

    return make


@pytest.fixture
def provider(make_provider: Callable[..., NuonuoProvider]) -> NuonuoProvider:
    return make_provider()


def order_no(prefix: str = "T") -> str:
    return (prefix + uuid.uuid4().hex.upper())[:20]


def line(included_fen: int = 10600, *, fee_kind: str = "management", goods_name: str = "物业管理服务",
         tax_code: str = "3040502020200000000", rate_permille: int = 60, policy: TaxPolicy = TaxPolicy.NONE,
         tax_fen: int | None = None, quantity: int = 1) -> InvoiceLine:
    """A line whose tax is split the usual way (excluded = included / (1 + rate), rounded half up)."""
    excluded = (2 * included_fen * 1000 + (1000 + rate_permille)) // (2 * (1000 + rate_permille))
    tax = included_fen - excluded if tax_fen is None else tax_fen
    return InvoiceLine(fee_kind, goods_name, tax_code, rate_permille, policy, quantity, included_fen,
                       included_fen - tax, tax)


def order(*lines: InvoiceLine, number: str | None = None, buyer: InvoiceBuyer | None = None) -> InvoiceOrder:
    return InvoiceOrder(number or order_no(), buyer or InvoiceBuyer(BuyerKind.COMPANY, "深圳市腾讯计算机系统有限公司",
                                                                     tax_id=COMPANY),
                        lines or (line(),), datetime.now(timezone.utc), remark="收据 HY-000123")


def wait_final(provider: NuonuoProvider, number: str, timeout_s: float = 10.0) -> InvoiceResult:
    deadline = time.monotonic() + timeout_s
    while True:
        result = provider.query(number)
        if result.status is not InvoiceStatus.ISSUING or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
