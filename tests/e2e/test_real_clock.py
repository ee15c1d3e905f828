"""One clock on the REAL kiosk: a machine in New York running a site in Shanghai prints, lists and shows Shanghai
time (the site's `site.timezone`), never the machine's."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.harness import RealKioskProcess
from tests.e2e.test_real_journeys import Db, _affordable_bill, _pay_one_bill_by_card, _receipt_number, _staff_sign_in, \
    _tap_card

pytestmark = pytest.mark.xvfb
SITE = ZoneInfo("Asia/Shanghai")  # the packaged default's site.timezone
STAMP = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")


def _near_site_now(text: str, fmt: str) -> bool:
    now = datetime.now(SITE).replace(tzinfo=None)
    shown = datetime.strptime(text, fmt)
    if fmt == "%H:%M":
        shown = datetime.combine(now.date(), shown.time())
    return abs(shown - now) < timedelta(minutes=3)


def test_a_new_york_machine_prints_and_lists_the_sites_time(display, tmp_path):
    with RealKioskProcess(display, tmp_path / "data", env={"TZ": "America/New_York"}) as real:
        real.wait_for_text("您好，和悦花园", 30)
        db = Db(real.data_dir)
        bills, bill, _card_id = _affordable_bill(db, "1-0101")
        _tap_card(real, "1-0101 resident")
        real.wait_for_route("household")
        _pay_one_bill_by_card(real, bills, bill)
        real.click("确认支付")
        number = _receipt_number(real.wait_for_text("支付成功，谢谢！", 60))
        printed = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
        stamp = next(m.group(1) for line in printed["lines"] if (m := STAMP.search(line)))
        assert _near_site_now(stamp, "%Y-%m-%d %H:%M:%S"), (stamp, printed["lines"])
        assert db.receipt(number).issued_at.utcoffset() == timedelta(0)  # stored: UTC

        real.click("取走卡片")
        real.click("重新开始")
        real.wait_for_route("attract")
        _staff_sign_in(real)
        real.click("收据")
        state = real.wait_for_text(number, 20)
        row = next(t for t in state["texts"] if t.startswith(f"{number} · "))
        assert _near_site_now(row.split(" · ")[1], "%H:%M"), row
