"""The console in a real browser: Debian's headless Chromium driven by Selenium through Debian's chromium-driver,
against the console served over real HTTP (the same WSGI server `kiosk office` runs) on a real SQLite database
that a running kiosk (the demo runtime on the simulators) shares. One browser, one server and one kiosk for the
whole module. Clicks through sign-in, a notice typed in Chinese that the running kiosk then shows, a bill CSV with a
bad line, the settlement CSV download, and the fleet row turning red without a reload when the kiosk stops; a
screenshot of every page on the way (KIOSK_OFFICE_SHOTS=DIR keeps them, e.g. docs/screenshots/office)."""
from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kiosk import bootstrap, settings as settings_mod
from kiosk.domain.site_clock import site_now
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.services import settlement
from tests.office.conftest import PASSWORDS

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER) and os.environ.get("CI") != "true",
                                reason="Debian's chromium and chromium-driver are not installed (scripts/setup)")
SILENT_AFTER_S = 3  # the office's threshold for this test; the product's range is 60-3600 s


@pytest.fixture(scope="module")
def served(seeded_template: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from werkzeug.serving import make_server

    from office.app import create_app
    from tests.support.chain_key import bound_factory

    template, report = seeded_template
    root = tmp_path_factory.mktemp("office-browser")
    shutil.copy(template / "kiosk.sqlite3", root / "kiosk.sqlite3")
    shutil.copytree(template / "data", root / "data")
    url = f"sqlite:///{root / 'kiosk.sqlite3'}"
    engine = make_engine(url)
    factory = bound_factory(engine)
    settings = settings_mod.load(root / "data", db_url=url)
    settings = replace(settings, fleet=replace(settings.fleet, silent_after_s=SILENT_AFTER_S))
    db = bootstrap.Database(engine, factory, url)
    till = bootstrap.ensure_till(db, settings)
    server = make_server("127.0.0.1", 0, create_app(settings, db, refresh_s=1), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "db": db, "till": till, "settings": settings,
           "report": report, "root": root}
    server.shutdown()
    engine.dispose()


@pytest.fixture(scope="module")
def running_kiosk(served: dict[str, Any]) -> Iterator[Any]:
    """A kiosk running on the same database (`kiosk demo`'s runtime on the wire-level simulators), beating every
    second; the last test stops it."""
    from kiosk.app_runtime.demo import start_demo_runtime

    settings = served["settings"]
    rt, _sims = start_demo_runtime(replace(settings, fleet=replace(settings.fleet, heartbeat_s=1)), served["db"])
    stopped = False
    real_stop = rt.stop

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            real_stop()

    rt.stop = stop
    yield rt
    stop()


@pytest.fixture(scope="module")
def browser(served: dict[str, Any]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = served["root"] / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,768",
                "--lang=zh-CN"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER or "/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(0)
    driver.downloads = downloads
    yield driver
    driver.quit()


def _shot(driver: Any, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"console-{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5000
    keep = os.environ.get("KIOSK_OFFICE_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def _wait(predicate: Any, timeout: float = 10.0) -> Any:
    """`predicate()` once it is true; an element that went stale meanwhile (the page a click loads replaced the one
    it was found on) counts as not yet."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def _find(driver: Any, css: str, timeout: float = 10.0) -> Any:
    """The element once the page that a click loads shows it (a click returns before the next page is there)."""
    from selenium.webdriver.common.by import By

    found = _wait(lambda: driver.find_elements(By.CSS_SELECTOR, css), timeout)
    assert found, f"{css} not on {driver.current_url}"
    return found[0]


def _row(driver: Any, css: str) -> tuple[str, str]:
    """(colour, text) of a fleet row read in one script: the table's body is replaced every second, so an element
    found first and read after may already be gone (stale)."""
    found = driver.execute_script("var r = document.querySelector(arguments[0]);"
                                  "return r ? [r.dataset.colour, r.textContent] : ['', ''];", css)
    return found[0], found[1]


def _sign_in(driver: Any, base: str, name: str, password: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/sign-in?lang=zh_Hans")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password or PASSWORDS[name])
    driver.find_element(By.CSS_SELECTOR, "#sign-in button").click()


@pytest.fixture()
def signed_in(served: dict[str, Any], browser: Any) -> Any:
    """The module's browser, signed in as the admin: by the sign-in test when it ran first, else here, so that each
    test also runs alone (`-k`)."""
    browser.get(f"{served['base']}/fleet")
    if "/sign-in" in browser.current_url:
        _sign_in(browser, served["base"], "王芳")
        assert _wait(lambda: browser.current_url.endswith("/fleet")), browser.current_url
    return browser


def test_sign_in_refuses_a_wrong_password_then_lets_the_right_one_in(served, browser, tmp_path):
    base = served["base"]
    browser.get(f"{base}/sign-in?lang=zh_Hans")
    _shot(browser, "sign-in", tmp_path)
    _sign_in(browser, base, "王芳", "wrong-password")
    assert "E8250" in _find(browser, "p.error").text
    _sign_in(browser, base, "王芳")
    assert _wait(lambda: browser.current_url.endswith("/fleet"))
    assert "王芳 (admin)" in _find(browser, ".who").text


def test_a_notice_typed_in_chinese_is_previewed_saved_and_shown_by_the_running_kiosk(served, running_kiosk, signed_in,
                                                                                     tmp_path):
    browser = signed_in
    from selenium.webdriver.common.by import By

    base = served["base"]
    browser.get(f"{base}/notices/new")
    title, body = "停水通知：3号楼", "12月9日 9:00-12:00 停水检修，请提前储水。<b>谢谢</b>"
    browser.find_element(By.NAME, "title_zh_hans").send_keys(title)
    browser.find_element(By.NAME, "body_zh_hans").send_keys(body)
    browser.find_element(By.NAME, "pinned").click()
    browser.find_element(By.CSS_SELECTOR, 'button[value="preview"]').click()
    preview = _find(browser, "#preview .notice-card")
    assert title in preview.text and "<b>谢谢</b>" in preview.text  # the markup shown as text
    _shot(browser, "notice-edit", tmp_path)
    browser.find_element(By.CSS_SELECTOR, 'button[value="save"]').click()
    assert _wait(lambda: title in _find(browser, "table.grid").text)
    _shot(browser, "notices", tmp_path)
    shown = running_kiosk.services.current_notices(None, "zh_Hans", site_now())  # what the kiosk's screens ask for
    assert (shown[0].title, shown[0].body, shown[0].pinned) == (title, body, True)


def test_a_bill_csv_with_a_bad_line_is_refused_line_by_line(served, signed_in, tmp_path):
    browser = signed_in
    from selenium.webdriver.common.by import By

    unit = served["report"].sample_cards[0][2]
    csv_file = tmp_path / "bills-2026-12.csv"
    csv_file.write_text("unit_no,kind,period,amount,due_date,external_ref\n"
                        f"{unit},water,2026-12,35.50,2026-12-31,B-WEB-1\n"
                        f"{unit},water,2026-12,abc,2026-12-31,B-WEB-2\n", encoding="utf-8")
    browser.get(f"{served['base']}/bills")
    browser.find_element(By.NAME, "file").send_keys(str(csv_file))
    browser.find_element(By.CSS_SELECTOR, "#bills-form button").click()
    problems = _find(browser, "#problems").text
    assert "bills-2026-12.csv:3" in problems and "bills-2026-12.csv:2" not in problems
    _shot(browser, "bills-refused", tmp_path)


def test_the_settlement_download_has_the_same_figures_as_the_report(served, signed_in, tmp_path):
    browser = signed_in
    from selenium.webdriver.common.by import By
    from sqlalchemy import func, select

    from kiosk.domain.site_clock import to_site
    from kiosk.persistence.models import Payment

    with unit_of_work(served["db"].factory) as s:  # the day the demo estate's payments were made
        day = to_site(s.scalar(select(func.max(Payment.completed_at)))).date()
        report = settlement.daily_settlement(s, served["till"].site_id, day, served["settings"].site.timezone)
    assert report.payment_count > 0
    browser.get(f"{served['base']}/settlement?day={day.isoformat()}")
    assert browser.find_element(By.ID, "net").text.replace(",", "").endswith(f"{report.net_fen // 100}."
                                                                            f"{report.net_fen % 100:02d}")
    _shot(browser, "settlement", tmp_path)
    browser.find_element(By.ID, "csv").click()
    target = browser.downloads / f"settlement-{day.isoformat()}.csv"
    assert _wait(lambda: target.exists() and target.stat().st_size > 0, 10)
    assert target.read_bytes().decode("utf-8") == settlement.to_csv(report)


def test_the_fleet_row_turns_red_in_place_when_the_running_kiosk_stops(served, running_kiosk, signed_in, tmp_path):
    browser = signed_in
    from selenium.webdriver.common.by import By

    base, code = served["base"], served["till"].kiosk_code
    browser.get(f"{base}/fleet")
    row = f'tr[data-kiosk="{code}"]'
    _find(browser, row)
    assert _wait(lambda: _row(browser, row)[0] == "green"), _row(browser, row)  # the kiosk's own heartbeats
    _shot(browser, "fleet-green", tmp_path)
    browser.execute_script("window.__same_page = 1")
    running_kiosk.stop()  # its heartbeat writer (the fleet agent) stops with it
    assert _wait(lambda: _row(browser, row)[0] == "red", 15), _row(browser, row)
    assert browser.execute_script("return window.__same_page") == 1  # no reload: the table refreshed in place
    assert "没有心跳" in _row(browser, row)[1]  # "silent for ...", in the signed-in language
    _shot(browser, "fleet-red", tmp_path)
    browser.set_window_size(800, 1280)  # a tablet held upright
    _shot(browser, "fleet-tablet", tmp_path)
    browser.set_window_size(1366, 768)
    browser.get(f"{base}/fleet/{code}")
    _shot(browser, "kiosk-detail", tmp_path)
    from kiosk.fleet import alerts

    with unit_of_work(served["db"].factory) as s:  # a round of `kiosk fleet watch`, the office's evaluator
        alerts.evaluate(s, served["settings"].fleet)
    alerts.flag_unknown_kiosk(served["db"].factory, "K09")  # a sticky one, with its clear form
    browser.get(f"{base}/alerts")
    assert "silent" in _find(browser, "table.grid").text and _find(browser, 'input[name="note"]')
    _shot(browser, "alerts", tmp_path)
    browser.get(f"{base}/actions?kiosk={code}")
    _find(browser, 'input[name="message"]').send_keys("暂停服务：系统维护")
    browser.find_element(By.CSS_SELECTOR, "#action-form button").click()
    assert _wait(lambda: "暂停服务：系统维护" in _find(browser, "table.grid").text)
    _shot(browser, "actions", tmp_path)
    for page in ("callbacks", "receipts?number=1", "staff/web-password"):
        browser.get(f"{base}/{page}")
        assert not browser.find_elements(By.CSS_SELECTOR, "p.error"), page
        _shot(browser, page.split("?")[0].replace("/", "-"), tmp_path)
