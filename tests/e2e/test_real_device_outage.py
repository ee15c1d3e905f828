"""The ladder's second rung on the screen (docs/deploy.md): the real kiosk's card reader unplugged; within
`devices.out_of_service_after_s` the resident's top-up is still offered, past it the button is off (only the card
features: paying bills stays), and when the reader is back it is offered again."""
from __future__ import annotations

import time

import pytest

from tests.e2e.harness import OPEN_ALL_DAY, RealKioskProcess

pytestmark = pytest.mark.xvfb
LIMIT_S = 4  # shipped: 10 s


def test_a_reader_gone_past_the_limit_switches_top_up_off_on_screen_and_back_on(display, tmp_path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(OPEN_ALL_DAY + f"[devices]\nout_of_service_after_s = {LIMIT_S}\n", encoding="utf-8")
    gone = tmp_path / "reader-gone"
    env = {"KIOSK_CONFIG": str(site), "KIOSK_TEST_READER_GONE_FILE": str(gone)}
    with RealKioskProcess(display, tmp_path / "data", env=env) as real:
        real.sign_in_with_unit("1-0101", "123456")

        def top_up_disabled() -> bool:
            return bool(real.cmd(cmd="find", text="充值")["disabled"])

        assert not top_up_disabled()
        gone.touch()
        unplugged = time.monotonic()
        time.sleep(1.0)  # the reader's worker has found it gone and is reopening it
        assert not top_up_disabled() and time.monotonic() - unplugged < LIMIT_S  # within the limit: still offered
        real.wait_until(top_up_disabled, LIMIT_S + 6, "top-up switched off")
        assert time.monotonic() - unplugged >= LIMIT_S
        assert not real.cmd(cmd="find", text="缴费")["disabled"]  # paying bills (cash, QR) still offered
        real.screenshot(tmp_path / "reader-gone.png")
        gone.unlink()
        real.wait_until(lambda: not top_up_disabled(), 10, "top-up offered again")
