"""Bad input and security of the office console, each through real HTTP requests to the real application on a real
database: wrong passwords and the lock-out, forms without their CSRF token, a cookie signed by another server, a
stale session, roles, a formula in an uploaded CSV, a script in a notice, two staff editing one notice."""
from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

from sqlalchemy import select

from kiosk.domain.site_clock import site_now
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, CallbackRequest, Notice, StaffUser
from kiosk.services import callbacks, notices
from office.app import create_app
from tests.office.conftest import PASSWORDS, token

LOCAL = "%Y-%m-%dT%H:%M"


def _sign_in(client, name, password):
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"name": name, "password": password, "csrf_token": token(page)})


def test_five_wrong_passwords_lock_the_account_and_then_even_the_right_one_is_refused(console):
    client = console.client()
    for remaining in (4, 3, 2, 1):
        resp = _sign_in(client, "李强", "not-the-password")
        assert resp.status_code == 401
        text = resp.get_data(as_text=True)
        assert "[E8250]" in text and f"{remaining} attempts left" in text
    resp = _sign_in(client, "李强", "not-the-password")
    assert resp.status_code == 401 and "[E8251]" in resp.get_data(as_text=True)
    resp = _sign_in(client, "李强", PASSWORDS["李强"])
    assert resp.status_code == 401 and "[E8251]" in resp.get_data(as_text=True)
    assert client.get("/fleet").status_code == 302  # not signed in
    with unit_of_work(console.db.factory) as s:
        user = s.scalars(select(StaffUser).where(StaffUser.name == "李强")).one()
        assert user.web_locked_until is not None and user.failed_attempts == 0  # the kiosk PIN's count untouched


def test_an_unknown_name_gets_the_same_words_as_a_wrong_password(console):
    resp = _sign_in(console.client(), "nobody", "whatever-it-is")
    assert resp.status_code == 401 and "[E8250]" in resp.get_data(as_text=True)


def test_a_form_posted_without_its_csrf_token_changes_nothing(console):
    client = console.signed_in("李强")
    with unit_of_work(console.db.factory) as s:
        cb = callbacks.request_callback(s, console.till, phone="13800138000", topic=callbacks.topics("en")[0][0])
    resp = client.post(f"/callbacks/{cb.callback_id}/done", data={})
    assert resp.status_code == 403 and "[E8254]" in resp.get_data(as_text=True)
    resp = client.post(f"/callbacks/{cb.callback_id}/done", data={"csrf_token": "0" * 64})
    assert resp.status_code == 403
    with unit_of_work(console.db.factory) as s:
        assert s.get(CallbackRequest, cb.callback_id).status == "open"
    resp = client.post(f"/callbacks/{cb.callback_id}/done", data={"csrf_token": token(client.get("/callbacks"))})
    assert resp.status_code == 302
    with unit_of_work(console.db.factory) as s:
        assert s.get(CallbackRequest, cb.callback_id).status == "done"


def test_a_session_cookie_signed_by_another_server_is_not_a_session(console, tmp_path):
    from kiosk import settings as settings_mod

    other_settings = settings_mod.load(tmp_path / "other-office", db_url=console.db.url)
    other = create_app(other_settings, console.db)  # same database, its own secrets.toml: another key
    theirs = other.test_client()
    page = theirs.get("/sign-in")
    assert theirs.post("/sign-in", data={"name": "王芳", "password": PASSWORDS["王芳"],
                                         "csrf_token": token(page)}).status_code == 302
    cookie = theirs.get_cookie("kiosk_office")
    assert cookie is not None
    ours = console.client()
    ours.set_cookie("kiosk_office", cookie.value)
    resp = ours.get("/settlement")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
    assert theirs.get("/settlement").status_code == 200  # the cookie is good where it was made


def test_a_session_idle_past_its_limit_has_ended_and_says_so(console):
    client = console.signed_in("李强")
    assert client.get("/fleet").status_code == 200
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - 31 * 60
    resp = client.get("/fleet")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
    assert "[E8255]" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert client.get("/fleet").status_code == 302  # the old session is gone for good


def test_a_stale_session_cannot_post_even_with_its_token(console):
    client = console.signed_in("李强")
    csrf = token(client.get("/notices/new"))
    with client.session_transaction() as sess:
        sess["signed_in"] = int(time.time()) - 13 * 3600
    resp = client.post("/notices/new", data={"csrf_token": csrf, "title_zh_hans": "x"})
    assert resp.status_code == 401 and "[E8255]" in resp.get_data(as_text=True)


def test_roles_decide_what_a_page_offers(console):
    staff = console.signed_in("李强")
    assert staff.get("/settlement").status_code == 403
    assert staff.get("/bills").status_code == 403
    assert "[E5003]" in staff.get("/settlement.csv").get_data(as_text=True)
    assert staff.post("/receipts/1/void", data={"csrf_token": token(staff.get("/receipts")),
                                                "reason": "x"}).status_code == 403
    fleet = staff.get("/fleet").get_data(as_text=True)
    assert "/settlement" not in fleet and "/notices" in fleet
    admin = console.signed_in("王芳")
    assert admin.get("/settlement").status_code == 200
    assert "/settlement" in admin.get("/fleet").get_data(as_text=True)


def test_a_formula_in_an_uploaded_bill_csv_is_stored_as_text_and_escaped_in_the_settlement_csv(console):
    admin = console.signed_in("王芳")
    unit = console.report.sample_cards[0][2]
    formula = "=cmd|' /C calc'!A0"
    body = ("unit_no,kind,period,amount,due_date,external_ref\n"
            f"{unit},management,2026-12,88.00,2026-12-31,\"{formula}\"\n").encode()
    resp = admin.post("/bills", data={"csrf_token": token(admin.get("/bills")),
                                      "file": (io.BytesIO(body), "bills.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with unit_of_work(console.db.factory) as s:
        assert s.scalars(select(Bill.external_ref).where(Bill.external_ref == formula)).one() == formula
    # a void typed in the console whose reason is a formula: the downloaded CSV holds it as text
    resp = admin.post("/receipts/1/void", data={"csrf_token": token(admin.get("/receipts?number=1")),
                                               "reason": "=HYPERLINK(\"http://x\")"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    day = site_now().date().isoformat()
    text = admin.get(f"/settlement.csv?day={day}").get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert any("=HYPERLINK" in c for c in cells)


def test_a_bill_csv_with_a_bad_line_imports_nothing_and_names_the_line(console):
    admin = console.signed_in("王芳")
    unit = console.report.sample_cards[0][2]
    body = ("unit_no,kind,period,amount,due_date,external_ref\n"
            f"{unit},management,2026-12,88.00,2026-12-31,WEB-1\n"
            f"{unit},management,2026-13,88.00,2026-12-31,WEB-2\n").encode()
    resp = admin.post("/bills", data={"csrf_token": token(admin.get("/bills")),
                                      "file": (io.BytesIO(body), "bills.csv")}, content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "bills.csv:3" in page and "2026-13" in page and "[E2100]" in page
    with unit_of_work(console.db.factory) as s:
        assert s.scalars(select(Bill).where(Bill.external_ref.in_(["WEB-1", "WEB-2"]))).first() is None


def _notice_form(client, url, title, body, **extra):
    start = site_now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    data = {"csrf_token": token(client.get(url)), "title_zh_hans": title, "body_zh_hans": body,
            "category": "general", "tier": "", "publish_at": start.strftime(LOCAL),
            "expire_at": (start + timedelta(days=3)).strftime(LOCAL), "action": "save"}
    data.update(extra)
    return client.post(url, data=data)


def test_a_script_in_a_notice_is_escaped_on_the_page_and_plain_text_for_the_kiosk(console):
    client = console.signed_in("李强")
    payload = "<script>alert('x')</script><b>停水</b>"
    assert _notice_form(client, "/notices/new", payload, "body " + payload).status_code == 302
    page = client.get("/notices").get_data(as_text=True)
    assert payload not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    preview = _notice_form(client, "/notices/new", payload, payload, action="preview").get_data(as_text=True)
    assert "<script>alert" not in preview
    with unit_of_work(console.db.factory) as s:
        shown = notices.current_notices(s, console.till.site_id, None, "zh_Hans")
    assert any(n.title == payload for n in shown)  # the kiosk gets the text itself, to show as text


def test_of_two_staff_editing_one_notice_the_second_is_told_and_the_first_is_kept(console):
    first, second = console.signed_in("李强"), console.signed_in("王芳")
    assert _notice_form(first, "/notices/new", "停水通知", "周三停水").status_code == 302
    with unit_of_work(console.db.factory) as s:
        notice_id = s.scalars(select(Notice.id).where(Notice.title_zh_hans == "停水通知")).one()
    url = f"/notices/{notice_id}"
    form_a, form_b = first.get(url), second.get(url)  # both open the editor at version 1
    assert 'name="version" value="1"' in form_a.get_data(as_text=True)
    assert _notice_form(first, url, "停水通知（更新）", "周三 9:00-12:00 停水", version="1").status_code == 302
    resp = _notice_form(second, url, "停水通知（第二人）", "周四停水", version="1")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "[E8256]" in page and "周四停水" in page  # their text is not lost
    with unit_of_work(console.db.factory) as s:
        notice = s.get(Notice, notice_id)
        assert (notice.title_zh_hans, notice.version) == ("停水通知（更新）", 2)
    assert form_b.status_code == 200


def test_a_remote_action_for_a_kiosk_removed_since_the_form_was_loaded_is_refused(console):
    from kiosk.persistence.models import FleetAction, Kiosk

    with unit_of_work(console.db.factory) as s:
        s.add(Kiosk(site_id=console.till.site_id, code="K02", name="Lobby 2"))
    tech = console.signed_in("赵工")
    form = tech.get("/actions")
    assert '<option>K02</option>' in form.get_data(as_text=True)
    with unit_of_work(console.db.factory) as s:
        s.delete(s.scalars(select(Kiosk).where(Kiosk.code == "K02")).one())
    resp = tech.post("/actions", data={"csrf_token": token(form), "kiosk": "K02", "action": "pause",
                                       "message": "暂停服务"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "[E8201]" in page and "K02" in page
    resp = tech.post("/actions", data={"csrf_token": token(form), "kiosk": console.till.kiosk_code,
                                       "action": "pause", "message": "暂停服务"})
    assert resp.status_code == 302
    with unit_of_work(console.db.factory) as s:
        sent = [(a.kiosk_code, a.action, a.message, a.sent_by) for a in s.scalars(select(FleetAction))]
    assert sent == [(console.till.kiosk_code, "pause", "暂停服务", "office:赵工")]
    staff = console.signed_in("李强")
    assert staff.post("/actions", data={"csrf_token": token(staff.get("/actions")), "kiosk": console.till.kiosk_code,
                                        "action": "resume"}).status_code == 403


def test_a_new_web_password_ends_the_sessions_signed_in_with_the_old_one(console):
    staff = console.signed_in("李强")
    assert staff.get("/fleet").status_code == 200
    admin = console.signed_in("王芳")
    resp = admin.post("/staff/web-password", data={"csrf_token": token(admin.get("/staff/web-password")),
                                                   "name": "李强", "password": "a-brand-new-pass"})
    assert resp.status_code == 200 and "李强" in resp.get_data(as_text=True)
    resp = staff.get("/fleet")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
    assert admin.get("/fleet").status_code == 200  # the admin's own session goes on
    too_short = admin.post("/staff/web-password", data={"csrf_token": token(admin.get("/staff/web-password")),
                                                        "name": "李强", "password": "short"})
    assert too_short.status_code == 400 and "[E8253]" in too_short.get_data(as_text=True)


def test_a_technician_clears_a_sticky_alert_with_a_note_and_staff_cannot(console):
    from kiosk.fleet import alerts
    from kiosk.persistence.models import FleetAlert

    alerts.flag_unknown_kiosk(console.db.factory, "K99")
    with unit_of_work(console.db.factory) as s:
        alert_id = s.scalars(select(FleetAlert.id).where(FleetAlert.kiosk_code == "K99")).one()
    staff = console.signed_in("李强")
    page = staff.get("/alerts")
    assert "K99" in page.get_data(as_text=True) and f"/alerts/{alert_id}/clear" not in page.get_data(as_text=True)
    assert staff.post(f"/alerts/{alert_id}/clear", data={"csrf_token": token(page), "note": "x"}).status_code == 403
    tech = console.signed_in("赵工")
    page = tech.get("/alerts")
    assert f"/alerts/{alert_id}/clear" in page.get_data(as_text=True)
    resp = tech.post(f"/alerts/{alert_id}/clear", data={"csrf_token": token(page), "note": "  "})
    assert resp.status_code == 400 and "[E8204]" in resp.get_data(as_text=True)
    note = "配置里的终端号写错了，已改正"
    resp = tech.post(f"/alerts/{alert_id}/clear", data={"csrf_token": token(page), "note": note})
    assert resp.status_code == 302
    with unit_of_work(console.db.factory) as s:
        episode = s.get(FleetAlert, alert_id)
        assert (episode.cleared_by, episode.note) == ("office:赵工", note)


def test_receipts_are_found_by_unit_and_a_bad_number_or_day_gets_one_line(console):
    admin = console.signed_in("王芳")
    unit = console.report.sample_cards[0][2]
    from kiosk.persistence.models import Household, Receipt

    with unit_of_work(console.db.factory) as s:
        hh = s.scalars(select(Household.id).where(Household.unit_no == unit)).one()
        numbers = list(s.scalars(select(Receipt.number).where(Receipt.household_id == hh)))
    page = admin.get(f"/receipts?unit={unit}").get_data(as_text=True)
    assert numbers and all(f"/receipts/{n}.png" in page for n in numbers)
    for bad in ("/receipts?number=abc", "/receipts?unit=9-9999", "/settlement?day=2026-13-01", "/receipts/999999.png"):
        resp = admin.get(bad)
        text = resp.get_data(as_text=True)
        assert resp.status_code in (400, 404) and '<p class="error" role="alert">[E' in text, bad
        assert "Traceback" not in text
