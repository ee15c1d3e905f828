"""A kiosk process for the kill tests: pays one household's first bill by cash or QR and reports on stdout.

    python -m tests.money_e2e.kiosk_child cash DB_URL KEY HOUSEHOLD BILL --cash-path PTY [--die-at-note N]
        [--credit-fen F]   (split tender: F from the household's account credit, the rest in banknotes)
    python -m tests.money_e2e.kiosk_child qr DB_URL KEY HOUSEHOLD BILL --gateway URL --secret S

Lines: READY (notes are enabled), RECEIVED <fen>, STACKED <counter> (the Nth note reached the point just
before its ledger entry; the process then hangs there so the test can SIGKILL it), ORDER <id>, DONE <status>.
"""
from __future__ import annotations

import argparse
import sys
import threading

from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Kiosk, Site
from kiosk.services import payments
from kiosk.services.receipts import Till
from tests.support.chain_key import BINDING


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("cash", "qr"))
    parser.add_argument("db")
    parser.add_argument("key")
    parser.add_argument("household", type=int)
    parser.add_argument("bill", type=int)
    parser.add_argument("--cash-path")
    parser.add_argument("--die-at-note", type=int, default=0)
    parser.add_argument("--gateway")
    parser.add_argument("--secret")
    parser.add_argument("--credit-fen", type=int, default=0)
    args = parser.parse_args()
    factory = make_session_factory(make_engine(args.db), chain=BINDING)  # the parent's test audit key
    with unit_of_work(factory) as s:
        kiosk = s.scalars(select(Kiosk).where(Kiosk.code == "K01")).one()
        site = s.get(Site, kiosk.site_id)
        till = Till(site.id, kiosk.id, kiosk.code, {"en": site.name_en})

    def on_progress(p: PaymentProgress) -> None:
        if p.stage is Stage.INSERT_NOTES and p.can_cancel and p.message != p.notice and p.received_fen == 0:
            say("READY")
        elif p.stage is Stage.INSERT_NOTES and p.received_fen:
            say(f"RECEIVED {p.received_fen}")
        elif p.stage is Stage.SCAN_QR and p.code_url:
            say(f"ORDER {p.code_url.rsplit('/', 1)[-1]}")

    control = PaymentControl(on_progress)
    if args.mode == "cash":
        from devices.cash.cctalk_bill_validator import CctalkBillValidator
        from kiosk.payments.cash_collector import CashCollector

        original = payments.record_cash_in
        seen = {"n": 0}

        def record_or_hang(session, till_, payment, *, counter, value_fen):  # type: ignore[no-untyped-def]
            seen["n"] += 1
            if seen["n"] == args.die_at_note:
                say(f"STACKED {counter}")
                threading.Event().wait()  # the note is in the box, its ledger entry is not written
            return original(session, till_, payment, counter=counter, value_fen=value_fen)

        payments.record_cash_in = record_or_hang  # type: ignore[assignment]
        validator = CctalkBillValidator(args.cash_path, timeout_s=0.3, retries=1)
        validator.open()
        collector = CashCollector(validator, factory, till, poll_interval_s=0.05)
        collector.recover()
        move = collector.as_move_money(control)
    else:
        from devices.gateway.notify_listener import NotificationListener
        from devices.gateway.sandbox import SandboxGateway
        from kiosk.payments.qr_collector import QrCollector
        from kiosk.payments.qr_session import Backoff

        holder: list[QrCollector] = []
        listener = NotificationListener(lambda body, headers: holder[0].handle_notification(body, headers))
        gateway = SandboxGateway(args.gateway, args.secret, timeout_s=1.0, notify_url=listener.url)
        collector_qr = QrCollector(gateway, factory, till, timeout_s=60, backoff=Backoff(0.2, 1.5, 1.0))
        holder.append(collector_qr)
        listener.start()
        collector_qr.recover()
        move = collector_qr.as_move_money(control)
    out = payments.pay_bills(factory, till, key=args.key, household_id=args.household, bill_ids=[args.bill],
                             method=PaymentMethod.CASH if args.mode == "cash" else PaymentMethod.QR, language="en",
                             move_money=move, credit_fen=args.credit_fen)
    say(f"DONE {out.status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
