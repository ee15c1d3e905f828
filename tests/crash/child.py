"""The kiosk process of the crash harness: the real runtime (kiosk.app_runtime.wiring) on the rig's database and
simulated devices, running one money flow (or the restart after a kill), with the kill points installed.

It runs as a `multiprocessing` child forked from a forkserver that imported all of this once (tests.crash.rig),
so a run costs a fork, not an interpreter start. It talks to the test over one pipe:
    child -> test   ("ACT", action, args)     the person does something at a device; the child waits for
                    ("OK", answer)            the test's answer before going on (the flow stays deterministic)
                    ("KILLED", n, label)      sent just before SIGKILL at point n
                    ("DONE", result)          the flow or restart finished (result: dict)
                    ("ERROR", text)           it raised (a traceback; a business error is a result, not this)
"""
from __future__ import annotations

import logging
import os
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Everything a run needs, imported once in the forkserver (see tests.crash.rig.PRELOAD).
import serial.serialposix  # noqa: F401
from sqlalchemy import select

from kiosk import bootstrap
from kiosk import settings as settings_mod
from kiosk.app_runtime.wiring import build_runtime, start_runtime
from kiosk.cards import station as _station  # noqa: F401
from kiosk.errors import DeviceError, KioskError
from kiosk.payments.qr_session import Backoff
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card
from kiosk.runtime import card_watcher
from tests.crash import flows
from tests.crash.killpoints import KillPoints

log = logging.getLogger("crash.child")


class Person:
    """The person at the kiosk, played by the test: each action is done at the simulated device over there."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def do(self, action: str, **args: Any) -> Any:
        with self._lock:
            self.conn.send(("ACT", action, args))
            reply = self.conn.recv()
        return reply[1]

    def send(self, *message: Any) -> None:
        with self._lock:
            self.conn.send(message)


def main(job: dict[str, Any], conn: Connection) -> None:
    """The child's entry point (multiprocessing target)."""
    person = Person(conn)
    run_dir = Path(job["run_dir"])
    logging.basicConfig(filename=str(run_dir / f"{job['mode']}-{os.getpid()}.log"), level=logging.INFO,
                        format="%(asctime)s %(threadName)s %(levelname)s %(name)s: %(message)s", force=True)
    points = KillPoints(int(job.get("kill_at") or 0), on_kill=lambda n, label: person.send("KILLED", n, label))
    devices = {os.path.realpath(p): name for name, p in job["ports"].items()}
    points.install(lambda port: devices.get(os.path.realpath(port), devices.get(port, "serial")))
    try:
        if job["mode"] == "flow":
            result = run_flow(job, person, points)
        elif job["mode"] == "restart":
            result = run_restart(job, person, points)
        else:
            raise ValueError(f"unknown mode {job['mode']!r}")
        result["points"] = points.labels
        person.send("DONE", result)
    except BaseException:  # noqa: BLE001 - everything goes back to the test, nothing to a lost stderr
        person.send("ERROR", traceback.format_exc())
    finally:
        conn.close()
        logging.shutdown()


def start_kiosk(job: dict[str, Any], *, watch_cards: bool) -> Any:
    """What `kiosk run` does without its window: settings, database (upgraded at start), devices, start-up
    recovery. Without `watch_cards` nobody polls the reader between a flow's own steps (the flow is then the
    same every run, so its kill points are too); the restart runs with the card watcher, as a kiosk does."""
    if job.get("wal_autocheckpoint"):
        _checkpoint_often(int(job["wal_autocheckpoint"]))
    settings = settings_mod.load(Path(job["data_dir"]), job["site_file"], db_url=job["db_url"])
    db = bootstrap.open_database(settings)
    rt = build_runtime(settings, db)
    if rt.cash_collector is not None:
        rt.cash_collector.poll_interval_s = 0.02  # only how often it asks: the acceptor answers the same
    if rt.qr_collector is not None:
        rt.qr_collector.backoff = Backoff(0.05, 1.5, 0.5)
    if not watch_cards:
        card_watcher.CardWatcher.start = lambda self: None  # type: ignore[method-assign]
    from kiosk.fleet.agent import FleetAgent

    # the office's heartbeat and action polls run on a timer: their commits would make the points differ run to run
    FleetAgent.start = lambda self: None  # type: ignore[method-assign]
    start_runtime(rt)
    if not rt.recovered.wait(30):
        raise RuntimeError("start-up recovery did not finish in 30 s")
    # the public-pages copy is refreshed after usable, on the recovery thread: its reads would land among the
    # flow's kill points at a different place each run
    if not rt.start_settled.wait(30):
        raise RuntimeError("the start's after-usable work did not finish in 30 s")
    for name, supervisor in rt.supervisors.items():
        if not supervisor.wait_available(10):
            raise RuntimeError(f"{name} did not open: {supervisor.reason}")
    return rt


def _checkpoint_often(pages: int) -> None:
    """SQLite folds the WAL into the database every `pages` pages (the default is 1000, which a short test never
    reaches): the power-loss copies then also land while a checkpoint runs."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    @event.listens_for(Pool, "connect")
    def _often(dbapi_conn: Any, _record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={pages}")


def _inject(fault: str) -> None:
    """A bug put into the kiosk on purpose, to show that the harness finds what a crash exposes."""
    from kiosk.services import payments

    if fault == "succeeded_before_ledger":  # the payment marked done in a transaction before its ledger entry
        original = payments.settle_bill_payment

        def settle(session: Any, till: Any, payment: Any, language: str, now: Any = None) -> Any:
            payment.status = "succeeded"
            session.commit()
            payment.status = "intent"
            return original(session, till, payment, language, now)

        payments.settle_bill_payment = settle  # type: ignore[assignment]
    elif fault == "empty_success_on_retry":  # issue 15's bug: a released payment asked again "succeeds" empty
        from kiosk.domain.terms import PaymentStatus

        replay_or_raise = payments.replay_or_raise

        def replay(session: Any, payment: Any, recorded: Any) -> Any:
            if payment.status == PaymentStatus.SUCCEEDED:
                return replay_or_raise(session, payment, recorded)
            return payments.PaymentOutcome(payment.id, payment.reference, PaymentStatus.SUCCEEDED,
                                           payment.amount_fen)

        payments.replay_or_raise = replay  # type: ignore[assignment]
    elif fault:
        raise ValueError(f"unknown fault {fault!r}")


def run_flow(job: dict[str, Any], person: Person, points: KillPoints) -> dict[str, Any]:
    _inject(job.get("inject", ""))
    rt = start_kiosk(job, watch_cards=False)
    points.armed = True
    try:
        outcome = flows.FLOWS[job["flow"]](rt, person, job["estate"], job.get("key") or job["flow"])
    except KioskError as exc:
        outcome = {"error": exc.code, "detail": str(exc)}
    points.armed = False
    rt.stop()
    return {"outcome": outcome}


def run_restart(job: dict[str, Any], person: Person, points: KillPoints) -> dict[str, Any]:
    """The kiosk started again on the same database and devices: its own start-up recovery, then every card
    of the estate tapped once (what resolves interrupted card writes), optionally the killed flow asked for
    again with the same idempotency key (`retry`), then `kiosk audit verify`."""
    _inject(job.get("inject", ""))
    points.armed = True  # a second crash, during the recovery itself, is a kill point too
    rt = start_kiosk(job, watch_cards=True)
    taps: dict[str, str] = {}
    with unit_of_work(rt.db.factory) as s:
        uids = [c.uid_hex for c in s.scalars(select(Card).where(Card.status.not_in(("lost", "replaced")))
                                             .order_by(Card.id))]
    for uid in uids:
        person.do("present", uid=uid)
        taps[uid] = tap(rt, uid)
    person.do("remove")
    retry = None
    if job.get("retry"):  # the resident asks again, with the request the killed kiosk had (the same key)
        try:
            retry = flows.FLOWS[job["retry"]](rt, person, job["estate"], job["retry"])
        except KioskError as exc:
            retry = {"error": exc.code, "detail": str(exc)}
        person.do("remove")
    rt.stop()
    points.armed = False
    return {"taps": taps, "retry": retry, "audit": audit_verify(job)}


def tap(rt: Any, uid: str, tries: int = 5) -> str:
    """One tap of the card, as the screen does it: "ok", or the code it was refused with. A reader that did not
    answer in time (E6xxx: the machine was busy) is tapped again once it is back, as a person would."""
    for _ in range(tries):
        try:
            rt.services.identify_card(uid)
            return "ok"
        except DeviceError:
            rt.supervisors["reader"].wait_available(5)
        except KioskError as exc:
            return exc.code
    return "E6001"


def audit_verify(job: dict[str, Any]) -> dict[str, Any]:
    """`kiosk audit verify` on the run's data directory and database: its exit status and what it printed."""
    import contextlib
    import io

    from kiosk.cli.main import main as kiosk_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = kiosk_main(["audit", "verify", "--data-dir", job["data_dir"], "--db-url", job["db_url"]])
    return {"code": code, "out": out.getvalue().strip(), "err": err.getvalue().strip()}


def verify_only(job: dict[str, Any], conn: Connection) -> None:
    """A child that only runs `kiosk audit verify` (power-loss copies)."""
    try:
        conn.send(("DONE", {"audit": audit_verify(job)}))
    except BaseException:  # noqa: BLE001
        conn.send(("ERROR", traceback.format_exc()))
    finally:
        conn.close()
