"""Extra fake-estate data for the layout audit's walk: long lists, long words, and pages with nothing to list.

`seed_long_lists(services)` (idempotent) adds household H9 (unit 9-0909, PIN 9999, card A9A9A9A9): 16 bills of
every kind, account credit, a smart and a vehicle card, 20 receipts in My records; and more notices, member
events, callbacks and receipts for the staff lists. `empty_public(services)` hides every notice and member event,
`close_site` closes the site today, and `restore(services)` starts the fake afresh (the walk does so before every
journey: one journey's payments and lost cards must not change the next one's pages).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from kiosk.flows.records import (BillKind, BillView, CallbackView, CardKind, CardMovement, CardStatus, MemberEventView,
                                 RecordItem)
from tests.support.fakes import data

LONG_UNIT, LONG_PIN, LONG_CARD = "9-0909", "9999", "A9A9A9A9"


def seed_long_lists(services: Any) -> None:
    if "H9" in services.households:
        return
    now = services.now()
    due = now.date() + timedelta(days=10)
    household = data.FakeHousehold("H9", LONG_UNIT, "9栋-**09", "gold", LONG_PIN, credit_fen=3_050)
    kinds = list(BillKind)
    for n in range(16):
        kind = kinds[n % len(kinds)]
        bill = BillView(f"B9{n:02d}", kind, f"2026-{(n % 12) + 1:02d}", 1_234_56 + n * 7_77, due + timedelta(days=n))
        household.bills[bill.bill_id] = bill
    services.households["H9"] = household
    for card in (data.FakeCard(LONG_CARD, "H9", CardStatus.ACTIVE, 98_765_43),
                 data.FakeCard("A9A9A9A8", "H9", CardStatus.ACTIVE, 12_00, CardKind.SMART),
                 data.FakeCard("A9A9A9A7", "H9", CardStatus.ACTIVE, 0, CardKind.VEHICLE, plate="粤B·D12345")):
        services.cards[card.uid] = card
    for n in range(20):
        services._receipt("H9", ("bill_payment", "top_up", "booking", "parking")[n % 4], 10_000 + n * 1_111,
                          ("card", "cash", "qr", "credit")[n % 4], "Management fee 2026-10")
        entry = services.records["H9"][0]
        moves = (CardMovement("resident", "A9A9", -entry.amount_fen, 98_765_43 - n * 1_000),) if n % 4 == 0 else ()
        items = tuple(RecordItem(f"物业管理费 Management fee 2026-{m + 1:02d}", 3_000 + m) for m in range(1 + n % 4))
        services.records["H9"][0] = replace(entry, items=items, card_moves=moves)
    for n in range(12):
        notice = data.FakeNotice(
            f"NL{n}", ("maintenance", "fees", "safety", "community", "general")[n % 5],
            {"zh_Hans": f"电梯年度检修通知（{n + 1}号楼）及临时停用安排",
             "zh_Hant": f"電梯年度檢修通知（{n + 1}號樓）及臨時停用安排",
             "en": f"Annual lift inspection in building {n + 1} and temporary closure arrangements"},
            {"zh_Hans": "检修期间请使用另一部电梯，如有不便敬请谅解。" * 3,
             "zh_Hant": "檢修期間請使用另一部電梯，如有不便敬請諒解。" * 3,
             "en": "Please use the other lift while the inspection is under way; we apologise for the "
                   "inconvenience. " * 3},
            now - timedelta(hours=n + 1), now + timedelta(days=n + 2))
        services.notices.append(notice)
    for n in range(8):
        event = MemberEventView(f"EL{n}", f"社区健康讲座 第{n + 1}期 / Community health talk no. {n + 1}",
                                now + timedelta(days=n + 1, hours=2), "会所多功能厅 / Clubhouse function room", n)
        services.events[event.event_id] = (event, frozenset())
    for n in range(10):
        ref = f"CBL{n:02d}"
        services.callbacks[ref] = CallbackView(ref, f"138****{1000 + n}", "Fees and bills", now)


def empty_public(services: Any) -> None:
    """Nothing to list on the notices and member events pages (and the attract page's rotation)."""
    services.notices.clear()
    services.events.clear()


def restore(services: Any) -> None:
    """The fake services as they started (bills paid, cards reported lost, faults and holds of the last journey
    gone), the same object the window holds; the long lists are seeded again by the journeys that want them."""
    hours = getattr(services, "_audit_hours", None) or services.site.hours
    now = services._now
    for extra in ("qr_networks", "code_networks"):  # two_networks: not an attribute __init__ sets
        services.__dict__.pop(extra, None)
    services.__init__(now, hours=hours)
    services._audit_hours = hours


def close_site(services: Any) -> None:
    """The site is closed today (out-of-hours mode) until `restore`."""
    services.site = data.demo_site(data.closed_today(services.now().date()))


def two_networks(services: Any) -> None:
    """WeChat Pay and Alipay both configured, the scanner up (ServiceStatus.qr_networks / code_networks): the pay
    page asks which network and which direction after 扫码支付, until `restore`."""
    services.qr_networks = services.code_networks = ("wechatpay", "alipay")


def clock_off(services: Any) -> None:
    """This kiosk's clock three hours off the database's (kiosk.persistence.db_clock), until `restore`: the
    maintenance page's device list gets its Clock line."""
    from kiosk.flows.records import DeviceHealth, DeviceState

    services.devices["clock"] = DeviceHealth("clock", DeviceState.DEGRADED, "+10800")
