"""One process of the same-key race: pays a household's bills by QR with a given idempotency key and prints the
outcome as one JSON line.

    python -m tests.persistence.same_key_child DB_URL KEY HOUSEHOLD BILL [BILL ...] --gateway-txn TXN [--slow S]

It prints READY, waits for a line on stdin (the test starts every process at once), then pays: the QR money
"arrives" S seconds after the intent (the gateway's payment, recorded as the QR collector records it, under this
process's own TXN, so a second mover would show as money counted twice). Last line: OUTCOME {json} or ERROR {json}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod
from kiosk.errors import KioskError
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Kiosk, Payment, Site
from kiosk.services import payments
from kiosk.services.receipts import Till
from tests.support.chain_key import BINDING


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("key")
    parser.add_argument("household", type=int)
    parser.add_argument("bills", type=int, nargs="+")
    parser.add_argument("--gateway-txn", required=True)
    parser.add_argument("--slow", type=float, default=0.0)
    args = parser.parse_args()
    factory = make_session_factory(make_engine(args.db), chain=BINDING)  # the parent's test audit key
    with unit_of_work(factory) as s:
        kiosk = s.scalars(select(Kiosk).where(Kiosk.code == "K01")).one()
        site = s.get(Site, kiosk.site_id)
        till = Till(site.id, kiosk.id, kiosk.code, {"en": site.name_en})

    def gateway_pays(payment: Payment) -> None:
        time.sleep(args.slow)
        with unit_of_work(factory) as s:
            p = s.get(Payment, payment.id)
            payments.record_gateway_paid(s, till, p, payments.other_part(p), args.gateway_txn)

    print("READY", flush=True)
    sys.stdin.readline()
    try:
        out = payments.pay_bills(factory, till, key=args.key, household_id=args.household, bill_ids=args.bills,
                                 method=PaymentMethod.QR, language="en", move_money=gateway_pays)
    except KioskError as exc:
        print("ERROR " + json.dumps({"code": exc.code, "detail": exc.detail}), flush=True)
        return 1
    print("OUTCOME " + json.dumps({"payment_id": out.payment_id, "receipt": out.receipt_number,
                                   "status": str(out.status), "replayed": out.replayed,
                                   "amount_fen": out.amount_fen}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
