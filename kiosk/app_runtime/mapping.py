"""Translate between the services' results and the flows' view records (ids become strings)."""
from __future__ import annotations

from datetime import time

from kiosk.domain.terms import CardKind, CardStatus, FeeKind, PaymentMethod as CoreMethod
from kiosk.flows import records as r
from kiosk.services import history, households, notices
from kiosk.settings import WEEKDAYS, Settings


def core_method(method: r.PaymentMethod | str) -> CoreMethod:
    """A method a person chose (same values as the core's)."""
    return CoreMethod(r.PaymentMethod(method).value)


def opening_hours(settings: Settings) -> tuple[r.OpeningHours, ...]:
    out = []
    for day, name in enumerate(WEEKDAYS):
        window = settings.site.hours.window(day)
        if window is None:
            continue
        opens, closes = window
        out.append(r.OpeningHours(day, time(opens // 60, opens % 60),
                                  time(23, 59, 59) if closes >= 24 * 60 else time(closes // 60, closes % 60)))
    return tuple(out)


def bill(view: households.BillView) -> r.BillView:
    return r.BillView(str(view.bill_id), FeeKind(view.kind), view.period, view.amount_fen, view.due_date)


def card(view: households.CardBalance) -> r.CardView:
    return r.CardView(view.uid_hex, CardKind(view.kind), CardStatus(view.status), view.balance_fen, view.plate,
                      view.frozen_by_staff, view.card_no)


def notice(view: notices.NoticeView) -> r.NoticeView:
    return r.NoticeView(str(view.notice_id), view.category, view.title, view.body, view.publish_at, view.expire_at,
                        view.pinned)


def receipt_number(number: str) -> int:
    digits = number.rsplit("-", 1)[-1].strip()
    if not digits.isdigit():
        from kiosk.errors import NotFound

        raise NotFound(f"receipt {number!r}")
    return int(digits)


def record(row: history.HistoryRow) -> r.RecordEntry:
    return r.RecordEntry(row.record_id, row.when, row.kind,
                         tuple(r.RecordItem(i.label, i.amount_fen, i.detail) for i in row.items), row.amount_fen,
                         row.receipt_number, row.voided,
                         tuple(r.CardMovement(m.card_kind, m.card_no[-4:], m.change_fen, m.balance_after_fen)
                               for m in row.moves))
