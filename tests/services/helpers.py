"""Small helpers for the use-case tests: money arriving as banknotes, counting rows, reading the audit log."""
from __future__ import annotations

from itertools import count

from sqlalchemy import func, select

from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Payment
from kiosk.services import payments

_counter = count(1)


def cash(factory, till, *notes_fen: int):
    """A move_money callable that stacks the given notes (each credited as it is stacked)."""

    def move(payment):
        for value in notes_fen:
            with unit_of_work(factory) as s:
                payments.record_cash_in(s, till, s.get(Payment, payment.id), counter=next(_counter), value_fen=value)

    return move


def audit_actions(factory) -> list[str]:
    with unit_of_work(factory) as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def rows(factory, model, *where) -> int:
    with unit_of_work(factory) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)
