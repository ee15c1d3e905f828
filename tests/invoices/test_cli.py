"""`kiosk invoice ...` and `kiosk report invoices` end to end through `python -m kiosk`, against the simulator."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.domain import site_clock
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Payment, Receipt
from kiosk.settings import load_secrets

from .conftest import APP_KEY, APP_SECRET, COMPANY, ROOT, SELLER

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def kiosk(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data-dir", env["data"], "--db-url", env["db"],
                           "--config", env["config"]], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.fixture
def office(db_url, tmp_path, sim):
    data = tmp_path / "data"
    secrets = load_secrets(data).__dict__  # the kiosk's secrets, with the simulator's app key and secret
    secrets.update(invoice_app_key=APP_KEY, invoice_app_secret=APP_SECRET)
    (data / "secrets.toml").write_text("".join(f'{k} = "{v}"\n' for k, v in secrets.items()), encoding="utf-8")
    table = (ROOT / "config" / "demo-invoices.toml").read_text(encoding="utf-8")
    config = tmp_path / "site.toml"
    config.write_text(table.replace('provider = "nuonuo"', f'provider = "nuonuo"\nurl = "{sim.url}"')
                      .replace('seller_tax_id = "91350100M000100Y43"', f'seller_tax_id = "{SELLER}"'), encoding="utf-8")
    env = {"data": str(data), "db": db_url, "config": str(config)}
    seeded = kiosk(env, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    return env


def paid_receipts(db_url: str) -> list[tuple[str, str]]:
    """The seeded estate's paid bill receipts: (number, the site's day its payment completed)."""
    engine = make_engine(db_url)
    with unit_of_work(make_session_factory(engine)) as s:
        found = s.execute(select(Receipt.number, Payment.completed_at).join(Payment, Payment.id == Receipt.payment_id)
                          .where(Payment.status == "succeeded", Receipt.kind == "bill_payment")
                          .order_by(Receipt.number)).all()
    engine.dispose()
    return [(f"{n:08d}", site_clock.to_site(at).date().isoformat()) for n, at in found]


def test_request_sync_list_red_and_reconcile_from_the_office(office, sim, tmp_path):
    number, day = paid_receipts(office["db"])[0]
    out = kiosk(office, "invoice", "request", number, "--title", COMPANY[0], "--tax-id", COMPANY[1])
    assert out.returncode == 0, out.stderr
    assert f"receipt {number}" in out.stdout and re.search(r"\b(issuing|issued)\b", out.stdout)
    time.sleep(0.5)
    synced = kiosk(office, "invoice", "sync")
    assert synced.returncode == 0 and "issued" in synced.stdout, synced.stdout + synced.stderr
    listed = kiosk(office, "invoice", "list", "--state", "issued", "--json")
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["receipt"] == number and row["buyer_tax_id"] == COMPANY[1] and len(row["invoice_no"]) == 20

    red = kiosk(office, "invoice", "red", row["invoice_no"], "--reason", "2")
    assert red.returncode == 0, red.stderr
    time.sleep(0.5)
    kiosk(office, "invoice", "sync")
    after = json.loads(kiosk(office, "invoice", "list", "--json").stdout.splitlines()[0])
    assert after["state"] == "red_lettered" and after["red_letters"][0]["reason"] == "2"
    assert after["red_letters"][0]["requested_by"].startswith("cli:")

    report = tmp_path / "invoices.csv"
    rec = kiosk(office, "report", "invoices", "--date", day, "--csv", str(report))
    assert rec.returncode == 0, rec.stderr
    rows = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
    mine = [r for r in rows if r["receipt_number"] == number]
    assert mine and mine[0]["status"] == "flagged"  # its invoice was reversed while the payment stands
    assert "reversed" in mine[0]["note"] and mine[0]["provider"] == "issued"
    assert {r["status"] for r in rows} <= {"invoiced", "pending", "not_requested", "flagged"}
    summary = kiosk(office, "invoice", "reconcile", "--date", day)
    assert "flagged 1" in summary.stdout and number in summary.stdout


def test_a_bad_tax_id_is_one_line_and_nothing_is_sent(office, sim, seen):
    number, _day = paid_receipts(office["db"])[0]
    out = kiosk(office, "invoice", "request", number, "--title", COMPANY[0], "--tax-id", COMPANY[1][:-1] + "0")
    assert out.returncode != 0 and out.stderr.count("\n") == 1 and "[E9005]" in out.stderr
    assert "Traceback" not in out.stderr and seen()["orders"] == {}


def test_a_tax_table_without_a_row_refuses_invoicing_with_one_line(office, tmp_path):
    config = Path(office["config"])
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"\[invoices\.tax\.water\][^\[]*", "", text), encoding="utf-8")
    out = kiosk(office, "invoice", "sync")
    assert out.returncode == 2 and out.stderr.strip().startswith("kiosk: [E9101]") and "water" in out.stderr
    assert out.stderr.count("\n") == 1
    listed = kiosk(office, "invoice", "list")  # reading what is stored still works
    assert listed.returncode == 0


def test_resend_an_issued_invoice_by_sms_or_email_from_the_office(office, sim):
    number, _day = paid_receipts(office["db"])[1]
    sim.control(delay_s=0)
    assert kiosk(office, "invoice", "request", number, "--title", "张三").returncode == 0
    kiosk(office, "invoice", "sync")
    [row] = [json.loads(line) for line in kiosk(office, "invoice", "list", "--state", "issued", "--json")
             .stdout.splitlines() if json.loads(line)["receipt"] == number]

    out = kiosk(office, "invoice", "resend", row["invoice_no"], "--phone", "13800138000")
    assert out.returncode == 0, out.stderr
    assert "138****8000" in out.stdout and "2 more" in out.stdout and "13800138000" not in out.stdout
    out = kiosk(office, "invoice", "resend", row["invoice_no"], "--email", "zhang@example.cn")
    assert out.returncode == 0 and "z***@example.cn" in out.stdout, out.stderr
    bad = kiosk(office, "invoice", "resend", row["invoice_no"], "--phone", "555")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "[E9130]" in bad.stderr
    assert "Traceback" not in bad.stderr
    both = kiosk(office, "invoice", "resend", row["invoice_no"])
    assert both.returncode == 2  # --phone or --email is required
    with urllib.request.urlopen(f"{sim.url}/sim/deliveries", timeout=5) as response:
        sent = [d for d in json.loads(response.read()) if d["invoice_no"] == row["invoice_no"]]
    assert [(d["phone"], d["mail"]) for d in sent] == [("13800138000", ""), ("", "zhang@example.cn")]
