"""The layout audit's walk: every page a resident or staff member can reach, as data, and the runner that shows
each on the fake-services window (tests/support/fake_app.py) and collects tests/support/layout_audit.py findings.

A page author adds a page by adding a `Journey` to JOURNEYS (or a `Shot` to one): how to get there from a fresh
session (`start`), then the states to audit, each reached by its `actions` from the one before. The language and
text size switch in place at each shot; a journey whose pages keep words translated when something happened (an
error's text, a "printing" message) is walked once per pass instead (`per_pass=True`). A shot names the flow
step it expects (`step=`), so an action that stopped doing what the walk meant is a walk problem. Actions are
the window hook's walk actions (tests/support/hook_audit.py): navigate, call the flow's own methods
(`call("toggle", "@bills:0")`: the key of the first enabled bill of the view), tap a card, hold the money wait
of the fake services so "insert notes" stays on screen, make the next call fail, and so on.
"""
from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.layout_audit import Finding

Action = dict[str, Any]
STAFF_PIN, TECHNICIAN_PIN = "2468", "1357"
SCREEN = (1920, 1920)  # the virtual display holds both audited sizes


# --- building blocks of the walk ---------------------------------------------------------------------
def go(route: str, **params: Any) -> Action:
    return {"go": route, "params": params}


def call(method: str, *args: Any) -> Action:
    return {"call": method, "args": list(args)}


def keys(text: str) -> list[Action]:
    return [call("key", ch) for ch in text]


def card_in(uid: str, then: str = "household") -> list[Action]:
    """Sign in with a card tap, then open `then`."""
    return [go("identify", card_uid=uid, then=then)]


def unit_in(unit: str, pin: str, then: str = "household") -> list[Action]:
    """Sign in with unit number and PIN on the keypad (no card: the card picker where there are several)."""
    return [go("identify", then=then), call("use_keypad"), *keys(unit), call("submit"), *keys(pin), call("submit")]


def staff_in(pin: str = STAFF_PIN, then: str = "staff_home") -> list[Action]:
    start = [go("staff_unlock"), *keys(pin), call("submit")]
    return start + ([go(then)] if then != "staff_home" else [])


@dataclass(frozen=True)
class Shot:
    name: str
    actions: tuple[Action, ...] = ()
    route: str = ""  # the route expected on screen ("" = the journey's)
    step: str = ""  # the flow's step expected ("" = not checked): an action that did nothing is a walk problem
    each_pass: bool = False  # run the actions again after each switch of language or text size (a popup's text)


@dataclass(frozen=True)
class Journey:
    name: str
    route: str  # the route the shots are on (checked: a redirect is a walk problem)
    start: tuple[Action, ...]
    shots: tuple[Shot, ...]
    per_pass: bool = False  # walked once per pass: its pages keep text translated when it happened (errors)


def shot(name: str, *actions: Action | list[Action], route: str = "", step: str = "", each_pass: bool = False
         ) -> Shot:
    flat: list[Action] = []
    for a in actions:
        flat += a if isinstance(a, list) else [a]
    return Shot(name, tuple(flat), route, step, each_pass)


def journey(name: str, route: str, start: Iterable[Action | list[Action]], *shots: Shot,
            per_pass: bool = False) -> Journey:
    flat: list[Action] = []
    for a in start:
        flat += a if isinstance(a, list) else [a]
    return Journey(name, route, tuple(flat), shots, per_pass)


H1_CARD, H2_CARD, LONG_CARD = "A1B2C3D4", "11223344", "A9A9A9A9"  # tests/support/fakes/data.py, audit_estate.py
PICKER = ("3-0606", "8642")  # a resident, a smart and a vehicle card: the card picker
NO_BILLS = ("2-0505", "0000")  # no bills, a frozen card
LONG = ("9-0909", "9999")  # 16 bills, account credit, 20 records (audit_estate.py)
HOLD, RELEASE = {"hold": "money"}, {"release": "money"}
SHOW_CODE = {"stage": "show_code", "due_fen": 81930, "expires_in_s": 87, "params": [["seconds", "87"]],
             "message": "Open the payment code in your app and hold it under the scanner ({seconds} s left)"}
CONFIRM_ON_PHONE = {"stage": "confirm_on_phone", "due_fen": 81930, "expires_in_s": 54, "params": [["seconds", "54"]],
                    "message": "Waiting for you to confirm on your phone ({seconds} s left)"}
# pay one bill from the card's balance, then the done page's 开发票 (kiosk/flows/invoice.py)
INVOICE_AFTER_PAYING = [call("select_all", False), call("toggle", "@bills:1"), call("choose_method", "card"),
                        call("next"), call("confirm"), call("request_invoice")]
COMPANY_TITLE = {"invoice": "fill", "kind": "company", "name": "上海阳光物业管理有限公司", "tax_id": "91350100M000100Y43"}

# --- every page ---------------------------------------------------------------------------------------
JOURNEYS: tuple[Journey, ...] = (
    journey("attract", "attract", [go("attract")],
            shot("ready", step="ready"), shot("next-notice", call("next_notice"), step="ready")),
    journey("attract-closed", "attract", [{"estate": "closed"}, go("attract")],
            shot("closed", step="ready"),
            shot("out-of-hours", go("out_of_hours", feature="pay_fees"), route="out_of_hours")),
    journey("attract-nothing", "attract", [{"estate": "empty_public"}, go("attract")],
            shot("no-notices", step="ready"),
            shot("notices-empty", go("notices"), route="notices", step="ready"),
            shot("events-empty", go("member_events"), route="member_events", step="ready")),
    journey("demo-bar", "attract", [{"demo_bar": True}, go("attract")],
            shot("attract", step="ready"),
            shot("cards", {"demo_cards": True}, step="ready", each_pass=True),
            shot("more", {"demo_more": True}, step="ready", each_pass=True),
            shot("pay-fees", {"reset": True}, {"demo_bar": True}, card_in(H1_CARD, "pay_fees"), route="pay_fees",
                 step="choose")),
    journey("identify", "identify", [go("identify")],
            shot("choose", step="choose"),
            shot("unit", call("use_keypad"), keys("1-0302"), step="unit"),
            shot("pin", call("submit"), keys("12"), step="pin"),
            shot("wrong-pin", keys("99"), call("submit"), step="pin"),
            shot("refused-card", go("identify", card_uid="0BADCAFE"), step="refused"),
            shot("found-lost-card", go("identify", card_uid="DEADBEEF"), step="pin"),
            shot("unknown-unit", call("back"), call("use_keypad"), keys("8-8888"), call("submit"), keys("1234"),
                 call("submit"), step="refused"), per_pass=True),
    journey("notices", "notices", [go("notices")], shot("list", step="ready")),
    journey("directory", "directory", [go("directory")], shot("list", step="ready")),
    journey("member-events", "member_events", [card_in(H1_CARD, "member_events")],
            shot("list", step="ready"), shot("signed-up", call("act", "@rows:0"), step="done"), per_pass=True),
    journey("callback", "callback", [go("callback")],
            shot("topics", step="topic"),
            shot("phone", call("choose_topic", "Repairs"), keys("13800138000"), step="phone"),
            shot("sent", call("submit"), step="done")),
    journey("callback-refused", "callback", [go("callback")],
            shot("refused", call("choose_topic", "Other"), keys("1380013"),
                 {"fail": "request_callback", "error": "InvalidAmount"}, call("submit"), step="phone"), per_pass=True),
    journey("service-pages", "out_of_service", [go("out_of_service", reference="3F9A1C2B")],
            shot("error-reference"),
            shot("switched-off", go("out_of_service", feature="parking",
                                    switched_off="Parking payments are paused for maintenance until 18:00.")),
            shot("not-offered", go("out_of_service", feature="bookings", not_offered=True)),
            shot("paused", go("out_of_service", paused=True)),
            shot("goodbye", go("goodbye"), route="goodbye")),
    journey("database-gone", "out_of_service", [go("out_of_service", database=True), {"database": "down"}],
            shot("out-of-service")),
    journey("database-gone-notices", "notices", [go("notices"), {"database": "down"}], shot("copy", step="ready")),
    journey("household", "household", [card_in(H1_CARD)],
            shot("ready", step="ready"),
            shot("idle-warning", {"idle_warning": True}, each_pass=True, step="ready")),
    journey("household-failed", "household", [card_in(H1_CARD)],
            shot("failed", {"fail": "household_summary", "error": "StorageError"}, go("household"), step="failed"),
            per_pass=True),
    journey("household-long", "household", [{"estate": "long_lists"}, unit_in(*LONG)], shot("ready", step="ready")),
    journey("household-no-bills", "household", [unit_in(*NO_BILLS)], shot("ready", step="ready")),
    journey("pay-fees", "pay_fees", [card_in(H1_CARD, "pay_fees")],
            shot("choose", step="choose"),
            shot("none-ticked", call("select_all", False), step="choose"),
            shot("card-chosen", call("toggle", "@bills:1"), call("choose_method", "card"), step="choose"),  # in balance
            shot("confirm", call("next"), step="confirm"),
            shot("done", call("confirm"), step="done")),
    journey("pay-fees-cash", "pay_fees", [card_in(H1_CARD, "pay_fees")],
            shot("cash-chosen", call("choose_method", "cash"), step="choose"),
            shot("insert-notes", call("next"), HOLD, call("confirm"), step="paying"),
            shot("overpay", {"progress": {"stage": "confirm_overpay", "due_fen": 81930, "received_fen": 90000}},
                 step="paying"),
            shot("cancelled", call("cancel"), RELEASE, step="failed"), per_pass=True),
    journey("pay-fees-qr", "pay_fees", [card_in(H1_CARD, "pay_fees")],
            shot("scan-code", call("choose_method", "qr"), call("next"), HOLD, call("confirm"), step="paying"),
            shot("paid", RELEASE, step="done")),
    journey("pay-fees-qr-route", "pay_fees", [{"estate": "two_networks"}, card_in(H1_CARD, "pay_fees")],
            shot("networks", call("choose_method", "qr"), step="choose"),
            shot("payment-code", call("choose_method", "qr-route:network:alipay"),
                 call("choose_method", "qr-route:direction:payment_code"), step="choose"),
            shot("confirm", call("next"), step="confirm"),
            shot("show-code", HOLD, call("confirm"), {"progress": SHOW_CODE}, step="paying"),
            shot("confirm-on-phone", {"progress": CONFIRM_ON_PHONE}, step="paying"),
            shot("paid", RELEASE, step="done")),
    journey("pay-fees-no-paper", "pay_fees", [{"estate": "paper_out"}, card_in(H1_CARD, "pay_fees")],
            shot("confirm", call("choose_method", "qr"), call("next"), step="confirm"),
            shot("failed", {"fail": "pay_bills", "error": "GatewayError"}, call("confirm"), step="failed"),
            per_pass=True),
    journey("pay-fees-long", "pay_fees", [{"estate": "long_lists"}, card_in(LONG_CARD, "pay_fees")],
            shot("choose", step="choose"),
            shot("confirm", call("choose_method", "credit+card"), call("next"), step="confirm"),
            shot("done", call("confirm"), step="done")),
    journey("pay-fees-no-bills", "pay_fees", [unit_in(*NO_BILLS, then="pay_fees")], shot("choose", step="choose")),
    journey("pay-fees-cards", "pay_fees", [unit_in(*PICKER, then="pay_fees")], shot("choose", step="choose")),
    journey("top-up", "top_up", [card_in(H1_CARD, "top_up")],
            shot("amount", step="amount"),
            shot("method", call("choose", "5000"), step="method"),
            shot("confirm", call("choose", "cash"), step="confirm"),
            shot("insert-notes", HOLD, call("primary"), step="paying"),
            shot("done", RELEASE, step="done"),  # 开发票 offered (kiosk/flows/invoice_offer.py), Back reads Done
            shot("invoice", call("primary"), route="invoice", step="kind")),
    journey("top-up-qr-route", "top_up", [{"estate": "two_networks"}, card_in(H1_CARD, "top_up")],
            shot("method-questions", call("choose", "5000"), call("choose", "qr"), step="method"),
            shot("payment-code", call("choose", "qr-route:network:alipay"),
                 call("choose", "qr-route:direction:payment_code"), step="method"),
            shot("confirm", call("primary"), step="confirm")),
    journey("top-up-picker", "top_up", [unit_in(*PICKER, then="top_up")],
            shot("pick-card", step="pick_card"),
            shot("amount", call("pick_card", "C0FFEE02"), step="amount"),
            shot("failed", call("choose", "10000"), call("choose", "qr"),
                 {"fail": "top_up", "error": "GatewayError"}, call("primary"), step="failed"), per_pass=True),
    journey("top-up-credit", "top_up", [{"estate": "long_lists"}, card_in(LONG_CARD, "top_up")],
            shot("amount", step="amount"), shot("method", call("choose", "@options:0"), step="method")),
    journey("card-loss", "card_loss", [card_in(H1_CARD, "card_loss")],
            shot("menu", step="menu"),
            shot("confirm-lost", call("choose", "lost"), step="confirm"),
            shot("done", call("primary"), step="done"),
            shot("goodbye", call("primary"), route="goodbye")),
    journey("card-replace", "card_loss", [card_in(H1_CARD, "card_loss")],
            shot("tap-new-card", call("choose", "replace"), step="tap_new"),
            shot("method", {"card": "B1B2B3B4"}, step="method"),
            shot("confirm", call("choose", "cash"), step="confirm"),
            shot("done", call("primary"), step="done")),
    journey("card-loss-picker", "card_loss", [unit_in(*PICKER, then="card_loss")],
            shot("pick-card", step="pick_card"), shot("menu", call("pick_card", "C0FFEE03"), step="menu")),
    journey("bookings", "bookings", [card_in(H1_CARD, "bookings")],
            shot("kind", step="kind"),
            shot("slot", call("choose", "broadband"), step="slot"),
            shot("method", call("choose", "@options:0"), step="method"),
            shot("confirm", call("choose", "@options:0"), step="confirm"),
            shot("done", call("primary"), step="done")),
    journey("parking", "parking", [card_in(H1_CARD, "parking")],
            shot("spaces", step="spaces"),
            shot("months", call("choose", "P-B1-012"), step="months"),
            shot("method", call("choose", "12"), step="method"),
            shot("confirm", call("choose", "@options:0"), step="confirm"),
            shot("done", call("primary"), step="done")),
    journey("parking-apply", "parking", [card_in(H1_CARD, "parking")],
            shot("free", call("choose", "apply"), step="free"),
            shot("mode", call("choose", "@options:0"), step="mode"),
            shot("confirm", call("choose", "buy"), step="confirm_apply"),
            shot("sent", call("primary"), step="done")),
    journey("parking-none", "parking", [unit_in(*NO_BILLS, then="parking")], shot("spaces", step="spaces")),
    journey("direct-debit", "direct_debit", [card_in(H1_CARD, "direct_debit")],
            shot("bank", step="bank"),
            shot("account", call("choose", "@options:0"), keys("6222020200112233445"), step="account"),
            shot("confirm", call("primary"), step="confirm"),
            shot("done", call("primary"), step="done")),
    journey("records", "records", [{"estate": "long_lists"}, card_in(LONG_CARD, "records")],
            shot("list", step="list"),
            shot("next-page", call("choose", "next"), step="list"),
            shot("detail", call("choose", "@options:0"), step="detail"),
            shot("reprint-confirm", call("choose", "reprint"), step="reprint_confirm"),
            shot("printing", call("primary"), step="detail"), per_pass=True),
    journey("invoice", "invoice", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING],
            shot("kind", step="kind"),
            shot("form", call("choose", "company"), step="form"),
            shot("confirm", COMPANY_TITLE, call("tick"), step="confirm"),
            shot("done", call("primary"), step="done")),
    journey("invoice-saved", "invoice", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING, call("choose", "company"),
                                         COMPANY_TITLE, call("tick"), call("primary"), go("pay_fees"),
                                         INVOICE_AFTER_PAYING],
            shot("saved-title", step="kind"),
            shot("confirm", call("choose", "@options:0"), step="confirm")),
    journey("invoice-problems", "invoice", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING],
            shot("bad-tax-id", call("choose", "company"), {**COMPANY_TITLE, "tax_id": "91350100M000100Y44"},
                 call("tick"), step="form_error"), per_pass=True),
    journey("my-invoices", "my_invoices", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING,
                                           call("choose", "company"), COMPANY_TITLE, call("tick"), call("primary"),
                                           {"invoice": "issue"}, go("records"), call("choose", "invoices")],
            shot("list", step="list"),
            shot("invoice", call("choose", "@options:0"), step="detail"),
            # re-send by SMS: the number on the keypad, then masked once sent
            shot("resend-phone", call("primary"), keys("13800138000"), step="phone"),
            shot("resend-sent", call("primary"), step="sent")),
    journey("my-invoices-resend-problems", "my_invoices", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING,
                                                           call("choose", "company"), COMPANY_TITLE, call("tick"),
                                                           call("primary"), {"invoice": "issue"}, go("records"),
                                                           call("choose", "invoices"), call("choose", "@options:0"),
                                                           call("primary")],
            shot("bad-number", keys("23800138000"), call("primary"), step="resend_failed"), per_pass=True),
    journey("records-empty", "records", [card_in(H2_CARD, "records")], shot("list", step="list")),
    journey("staff-unlock", "staff_unlock", [go("staff_unlock")],
            shot("pin", keys("24"), step="pin"),
            shot("wrong-pin", keys("11"), call("submit"), step="pin"), per_pass=True),
    journey("staff-home", "staff_home", [staff_in()],
            shot("ready", step="ready"),
            shot("settlement", call("settlement"), step="settlement")),
    journey("staff-home-clock", "staff_home", [{"estate": "clock_off"}, staff_in()], shot("clock", step="ready")),
    journey("staff-handover", "staff_handover", [staff_in(then="staff_handover")],
            shot("count", keys("1234"), step="count"),
            shot("confirm", call("primary"), step="confirm"),
            shot("done", call("primary"), step="done")),
    journey("staff-callbacks", "staff_callbacks", [{"estate": "long_lists"}, staff_in(then="staff_callbacks")],
            shot("list", step="list")),
    journey("staff-notices", "staff_notices", [{"estate": "long_lists"}, staff_in(then="staff_notices")],
            shot("list", step="list"),
            shot("notice", call("choose", "@options:0"), step="notice"),
            shot("withdraw-confirm", call("choose", "withdraw"), step="withdraw_confirm")),
    journey("staff-receipts", "staff_receipts", [{"estate": "long_lists"}, staff_in(then="staff_receipts")],
            shot("list", step="list"),
            shot("receipt", call("choose", "@options:0"), step="receipt"),
            shot("void-reason", call("choose", "void"), step="void_reason"),
            shot("void-confirm", call("choose", "@options:0"), step="void_confirm"),
            shot("voided", call("primary"), step="done"),
            shot("number", call("primary"), call("primary"), keys("12"), step="number")),
    journey("staff-import", "staff_import", [staff_in(then="staff_import")],
            shot("files", step="files"),
            shot("confirm", call("choose", "/media/kiosk/USB/bills-2026-11.csv"), step="confirm"),
            shot("done", call("primary"), step="done"),
            shot("problems", go("staff_import"), call("choose", "/media/kiosk/USB/bad-bills.csv"), call("primary"),
                 step="problems")),
    journey("staff-invoices", "staff_invoices", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING,
                                                 call("choose", "company"), COMPANY_TITLE, call("tick"),
                                                 call("primary"), {"invoice": "fail", "reason": "购方税号校验失败"},
                                                 staff_in(then="staff_invoices")],
            shot("states", step="groups"),
            shot("failed", call("choose", "failed"), step="list"),
            shot("failed-request", call("choose", "@options:0"), step="detail"),
            shot("sent-again", call("choose", "retry"), step="detail")),
    journey("staff-invoices-title", "staff_invoices", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING,
                                                       call("choose", "company"), COMPANY_TITLE, call("tick"),
                                                       call("primary"), {"invoice": "fail", "reason": "购方税号校验失败"},
                                                       staff_in(then="staff_invoices")],
            shot("title-kind", call("choose", "failed"), call("choose", "@options:0"), call("choose", "correct"),
                 step="title_kind"),
            shot("title-form", call("choose", "company"), step="title_form"),
            shot("title-confirm", call("back"), call("choose", "@options:0"), step="title_confirm"),
            shot("title-sent", call("primary"), step="detail")),
    journey("staff-invoices-red", "staff_invoices", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING,
                                                     call("choose", "company"), COMPANY_TITLE, call("tick"),
                                                     call("primary"), {"invoice": "issue"},
                                                     staff_in(then="staff_invoices")],
            shot("issued", call("choose", "issued"), call("choose", "@options:0"), step="detail"),
            shot("red-reason", call("choose", "red"), step="red_reason"),
            shot("red-confirm", call("choose", "2"), step="red_confirm"),
            shot("red-lettered", call("primary"), step="detail")),
    journey("staff-void-invoiced", "staff_receipts", [card_in(H1_CARD, "pay_fees"), INVOICE_AFTER_PAYING,
                                                      call("choose", "company"), COMPANY_TITLE, call("tick"),
                                                      call("primary"), {"invoice": "issue"},
                                                      staff_in(then="staff_receipts")],
            shot("void-red-reason", call("choose", "@options:0"), call("choose", "void"), call("choose", "customer"),
                 step="void_red_reason"),
            shot("void-red-confirm", call("choose", "1"), step="void_confirm")),
    journey("staff-cards", "staff_cards", [staff_in(then="staff_cards")], shot("list", step="list")),
    journey("staff-card-states", "staff_card_states", [staff_in(then="staff_card_states")],
            shot("find", keys("2-1101"), step="find"),
            shot("cards", call("primary"), step="cards"),
            shot("card", call("choose", "DEADBEEF"), step="card"),
            shot("reason", call("choose", "lift_loss"), step="reason"),
            shot("confirm", call("choose", "@options:0"), step="confirm")),
    journey("staff-features", "staff_features", [staff_in(then="staff_features")],
            shot("list", step="list"),
            shot("message", call("choose", "parking"), step="message"),
            shot("confirm-off", call("choose", "@options:0"), step="confirm_off")),
    journey("staff-devices", "staff_devices", [staff_in(TECHNICIAN_PIN, then="staff_devices")],
            shot("devices", step="devices"),
            shot("driver", call("choose", "reader"), step="driver"),
            shot("port", call("choose", "@options:0"), step="port"),
            shot("speed", call("choose", "@options:0"), step="speed"),
            shot("test", call("choose", "@options:0"), step="test")),
    journey("staff-devices-scanner", "staff_devices", [staff_in(TECHNICIAN_PIN, then="staff_devices")],
            shot("kind", call("choose", "scanner"), step="driver"),
            shot("port", call("choose", "serial"), step="port"),
            shot("test", call("choose", "@options:0"), call("choose", "@options:0"), step="test"),  # port, speed
            shot("result", call("primary"), step="result")),
    journey("staff-devices-denied", "staff_devices", [staff_in(then="staff_devices")], shot("denied", step="denied")),
)


# --- running it -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pass:
    language: str
    large_text: bool = False

    @property
    def name(self) -> str:
        return self.language + (" large" if self.large_text else "")


@dataclass
class WalkResult:
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # pages the walk could not reach
    pages: int = 0
    seconds: float = 0.0
    settle_ms: int = 0  # waiting in the window for layout after each switch (part of seconds)
    audit_ms: int = 0  # the auditor's own time (part of seconds)

    def summary(self, limit: int = 60) -> str:
        """Findings grouped by page (journey/shot), with how many passes showed each."""
        return summarize(self.findings, limit)


def summarize(findings: list[Finding], limit: int = 80) -> str:
    """One line per page (journey/shot), rule, widget and text, with the passes (size, language, text size)
    that showed it: the same finding in several languages shows once."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for f in findings:
        head, _, page = f.where.rpartition(" ")
        text = f.text if f.rule not in ("font-size",) else ""
        groups.setdefault((page, f.rule, f.widget, f.measured if not text else ""), []).append(
            f"{head}{': ' + text if text else ''}")
    lines = []
    for (page, rule, widget, measured), where in sorted(groups.items()):
        lines.append(f"{page}: {rule} {widget} {measured} in {len(where)} passes: " + "; ".join(where[:4])
                     + (" ..." if len(where) > 4 else ""))
    more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def walk(kiosk: Any, size: tuple[int, int], passes: Iterable[Pass], journeys: Iterable[Journey] = JOURNEYS,
         shots: Path | None = None) -> WalkResult:
    """Run `journeys` on a started kiosk (harness.KioskProcess with the hook) of `size`, auditing every shot in
    every pass (language and text size). A journey is walked once per text size, and the language switches at
    each shot, as a resident switches it mid-journey (the step stays): switching the text size re-lays every
    widget out, and costs more than walking the journey again: every journey is walked in normal text before any
    in large text, so the text size switches once. A `per_pass` journey (its pages keep words translated when they
    happened, an error's text) is walked once in each pass."""
    result = WalkResult()
    started = time.monotonic()
    passes, journeys = list(passes), list(journeys)
    kiosk.cmd(cmd="act", actions=[{"draw": shots is not None}])
    for group in ([p for p in passes if p.large_text == large] for large in (False, True)):
        for j in journeys:
            for these in ([[one] for one in group] if j.per_pass else [group] if group else []):
                _walk_journey(kiosk, size, these, j, shots, result)
    kiosk.cmd(cmd="act", actions=[{"draw": True}])
    result.seconds = time.monotonic() - started
    return result


def _walk_journey(kiosk: Any, size: tuple[int, int], passes: list[Pass], j: Journey, shots: Path | None,
                  result: WalkResult) -> None:
    label = f"{size[0]}x{size[1]}" + (f" {passes[0].name}" if len(passes) == 1 else "")
    first = {"modes": {"language": passes[0].language, "large_text": passes[0].large_text}}
    reply = kiosk.cmd(cmd="act", actions=[{"reset": True}, first, *j.start])
    if not reply.get("ok"):
        result.problems.append(f"{label} {j.name}: start failed: {reply.get('error')}")
        return
    for s in j.shots:
        reply = kiosk.cmd(cmd="act", actions=list(s.actions)) if s.actions else {"ok": True}
        if not reply.get("ok"):
            result.problems.append(f"{label} {j.name}/{s.name}: {reply.get('error')}")
            return
        for one in passes:
            where = f"{size[0]}x{size[1]} {one.name} {j.name}/{s.name}"
            again = list(s.actions) if s.each_pass else []
            modes = {"modes": {"language": one.language, "large_text": one.large_text}}
            audit = kiosk.cmd(cmd="audit", where=where, actions=[modes, *again])
            if not audit.get("ok"):
                result.problems.append(f"{where}: {audit.get('error')}")
                continue
            result.pages += 1
            result.settle_ms += int(audit.get("settle_ms", 0))
            result.audit_ms += int(audit.get("audit_ms", 0))
            expected = s.route or j.route
            if audit.get("route") != expected or (s.step and audit.get("step") != s.step):
                result.problems.append(f"{where}: on route {audit.get('route')!r} step {audit.get('step')!r}, "
                                       f"expected {expected!r}" + (f" step {s.step!r}" if s.step else ""))
            if not audit.get("settled"):
                result.problems.append(f"{where}: the window did not settle")
            result.findings += [Finding(**f) for f in audit.get("findings", ())]
            if shots is not None:
                name = f"{size[0]}x{size[1]}-{one.name.replace(' ', '-')}-{j.name}-{s.name}.png"
                kiosk.screenshot_window(shots / name, audit.get("window") or [0, 0, *size])
        passes.reverse()  # the next shot starts in the language this one ended in


def audit_kiosk(display: str, size: tuple[int, int], language: str = "zh_Hans") -> Any:
    """The fake-services window of `size` with the hook (harness.KioskProcess), ready for `walk`."""
    from tests.e2e.harness import KioskProcess

    class AuditKiosk(KioskProcess):
        def cmd(self, **command: Any) -> dict[str, Any]:
            """As the harness's, with room for a slow machine: the hook answers an audit within 45 s."""
            if self._conn is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(60)
                sock.connect(self.sock_path)
                self._conn = sock.makefile("rw", encoding="utf-8")
            self._conn.write(json.dumps(command) + "\n")
            self._conn.flush()
            return json.loads(self._conn.readline())

        def screenshot_window(self, path: Path, box: list[int]) -> Path:
            left, top, width, height = box
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["import", "-window", "root", "-display", self.display, "-crop",
                            f"{width}x{height}+{left}+{top}", "+repage", str(path)], check=True, timeout=30)
            return path

    return AuditKiosk(display, env={"KIOSK_UI_FULLSCREEN": "0"}, language=language, size=size)


def run_walks(sizes: Iterable[tuple[int, int]], passes: Iterable[Pass], only: tuple[str, ...] = (),
              shots: str | None = None) -> dict[tuple[int, int], WalkResult]:
    """Walk every size at once, each window on its own virtual display (or all on $DISPLAY): the walk's time
    is the kiosk drawing its pages, so two windows on two cores take about the time of one."""
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack

    from tests.e2e.harness import Xvfb

    sizes, passes = list(sizes), list(passes)
    journeys = [j for j in JOURNEYS if not only or any(j.name.startswith(o) for o in only)]
    folder = Path(shots) if shots else None
    with ExitStack() as stack:
        displays = [stack.enter_context(Xvfb(size=SCREEN, own=True)).display for _ in sizes]  # one after the other
        kiosks = [stack.enter_context(audit_kiosk(d, size)) for d, size in zip(displays, sizes)]
        with ThreadPoolExecutor(len(sizes)) as pool:
            results = list(pool.map(lambda k, size: walk(k, size, passes, journeys, folder), kiosks, sizes))
    return dict(zip(sizes, results))


def findings_of(findings: Iterable[Finding], size: tuple[int, int], one: Pass) -> list[Finding]:
    """The findings of one pass: `where` is "<W>x<H> <language>[ large] <journey>/<shot>"."""
    out = []
    for f in findings:
        parts = f.where.split(" ")
        if parts[0] == f"{size[0]}x{size[1]}" and parts[1] == one.language \
                and (parts[2] == "large") == one.large_text:
            out.append(f)
    return out
