"""The test's side of the crash harness: a set-up estate (the template), and for every run a world of its own —
a copy of the template's database (SQLite file or PostgreSQL database), the wire-level simulators (ccTalk bill
validator and PN532 reader on ptys with the estate's MIFARE cards, the QR gateway over HTTP) and a data
directory — in which the kiosk process runs a flow, is killed, is started again, and is checked.

The simulators live here, in the test process: they outlive every kiosk process, as devices do. The kiosk
processes are forked from a forkserver that imported the kiosk once (`PRELOAD`).
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.cctalk_sim import SimBillValidator
from devices.sim.gateway_sim import SimGateway
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk import settings as settings_mod
from kiosk.cards import reconcile
from kiosk.cards.application import CardApplication
from kiosk.domain.terms import StaffRole
from kiosk.persistence import schema
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from tests.support.chain_key import data_dir_factory
from kiosk.persistence.models import Card
from kiosk.services import cards as card_service
from kiosk.services import staff
from tests.support import estate
from tests.support.databases import pg_admin_url

PRELOAD = ["tests.crash.child"]
NEW_CARD = "C1C2C3C4"  # the blank card a replacement issues
CHILD_TIMEOUT_S = 90.0
_context: Any = None


def context() -> Any:
    """The multiprocessing context whose children are forked from one preloaded server."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


# --- databases ---------------------------------------------------------------------------------------
def _pg_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    admin = pg_admin_url()
    assert admin, "KIOSK_TEST_PG_URL is not set"
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    engine = create_engine(str(pg_admin_url()), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def sqlite_checkpoint(path: Path) -> None:
    """Fold the WAL into the database file (the template is copied as one file)."""
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


# --- the child processes ------------------------------------------------------------------------------
@dataclass
class ChildRun:
    """What one kiosk process did: killed at (n, label), finished with `done`, or failed with `error`."""

    exitcode: int | None
    killed: tuple[int, str] | None = None
    done: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0
    first_act_s: float | None = None  # when the kiosk first used a device (the flow's first step at a device)

    @property
    def points(self) -> list[str]:
        return list((self.done or {}).get("points", []))


# --- the template: the estate as it stands before every run -------------------------------------------
@dataclass
class Template:
    backend: str
    root: Path
    secrets_text: str
    db_source: str  # SQLite: the file; PostgreSQL: the database name
    cards: dict[str, dict[str, Any]]
    cash_counter: int
    estate: dict[str, Any]
    kiosk_id: int

    def drop(self) -> None:
        if self.backend == "postgres":
            _pg_admin(f"DROP DATABASE IF EXISTS {self.db_source} WITH (FORCE)")


def build_template(backend: str, root: Path) -> Template:
    """A migrated database with a small estate (3 households, 3 bills each, a card each with 500.00 yuan, a
    staff user), the cards issued onto virtual MIFARE cards through the real driver, and one card payment made
    through the kiosk (the one the void flow takes back)."""
    root.mkdir(parents=True, exist_ok=True)
    data = root / "template-data"
    secrets = settings_mod.load_secrets(data)
    if backend == "postgres":
        name = f"kiosk_crash_tpl_{uuid.uuid4().hex[:10]}"
        _pg_admin(f"CREATE DATABASE {name}")
        url, source = _pg_url(name), name
    else:
        source = str(root / "template.sqlite3")
        url = f"sqlite:///{source}"
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = data_dir_factory(engine, data)  # written as kiosk K01 with the estate's audit key (secrets.toml)
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=3, bills_each=3, card_value_fen=50_000)
        who = staff.add_staff(s, name="crash01", role=StaffRole.STAFF, pin="246810", actor="test")
    with unit_of_work(factory) as s:
        uids = {hh: s.get(Card, mini.card_ids[hh]).uid_hex for hh in mini.household_ids}
        facts = {uid: card_service.card_facts(s, s.get(Card, mini.card_ids[hh])) for hh, uid in uids.items()}
    engine.dispose()
    cards = _issue_cards(secrets, facts, 50_000)
    households = [{"id": hh, "card": uids[hh], "bills": mini.bill_ids[hh]} for hh in mini.household_ids]
    tpl = Template(backend, root, (data / settings_mod.SECRETS_FILE).read_text(encoding="utf-8"), source,
                   {uid: c.to_json() for uid, c in cards.items()}, 0,
                   {"households": households, "staff_id": who.staff_id, "void_receipt": ""}, mini.till.kiosk_id)
    world = World(tpl, root / "template-run", in_place=True)
    try:
        run = world.run(world.job("flow", flow="setup_card_payment"))
        assert run.done is not None and "receipt" in run.done["outcome"], f"set-up payment failed: {run}"
        tpl.estate["void_receipt"] = run.done["outcome"]["receipt"]
        tpl.cards = {uid: c.to_json() for uid, c in world.cards.items()}
        tpl.cash_counter = world.cash.counter
    finally:
        world.close()
    if backend == "sqlite":
        sqlite_checkpoint(Path(source))
    return tpl


def _issue_cards(secrets: settings_mod.Secrets, facts: dict[str, card_service.CardFacts],
                 value_fen: int) -> dict[str, VirtualMifareCard]:
    app = CardApplication(bytes.fromhex(secrets.card_master_key), bytes.fromhex(secrets.card_mac_key))
    cards = {uid: VirtualMifareCard(bytes.fromhex(uid)) for uid in facts}
    with SimPn532(pace=False) as sim:
        reader = Pn532CardReader(sim.path)
        reader.open()
        try:
            for uid, fact in facts.items():
                sim.present(cards[uid])
                tag = reader.poll(2.0)
                assert tag is not None and tag.uid.hex == uid
                app.issue(reader, tag, reconcile.card_record(fact), value_fen)
                sim.remove()
        finally:
            reader.close()
    return cards


# --- one world per run --------------------------------------------------------------------------------
@dataclass
class World:
    """A copy of the template with its own devices. `run(job)` starts a kiosk process in it."""

    template: Template
    run_dir: Path
    in_place: bool = False  # the template's own database (while it is being set up)
    cards: dict[str, VirtualMifareCard] = field(default_factory=dict)
    acts: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = self.template
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.run_dir / "data"
        self.data_dir.mkdir(exist_ok=True)
        (self.data_dir / settings_mod.SECRETS_FILE).write_text(t.secrets_text, encoding="utf-8")
        (self.data_dir / settings_mod.SECRETS_FILE).chmod(0o600)
        self._pg_name = ""
        if t.backend == "postgres":
            if self.in_place:
                self.db_url = _pg_url(t.db_source)
            else:
                self._pg_name = f"kiosk_crash_{uuid.uuid4().hex[:12]}"
                _pg_admin(f"CREATE DATABASE {self._pg_name} TEMPLATE {t.db_source}")
                self.db_url = _pg_url(self._pg_name)
        else:
            path = Path(t.db_source) if self.in_place else self.data_dir / "kiosk.sqlite3"
            if not self.in_place:
                shutil.copyfile(t.db_source, path)
            self.db_path = path
            self.db_url = f"sqlite:///{path}"
        secrets = settings_mod.load_secrets(self.data_dir)
        self.cash = SimBillValidator()
        self.cash.start()
        self.cash.counter = t.cash_counter
        self.reader = SimPn532(pace=False).start()
        self.gateway = SimGateway(secrets.gateway_secret, port=0, notify_delay_s=0.0)
        self.gateway.start()
        self.cards = {uid: VirtualMifareCard.from_json(obj) for uid, obj in t.cards.items()}
        self.site_file = self.run_dir / "site.toml"
        self.site_file.write_text(
            "[ui]\nlanguage = \"en\"\n"
            f"[devices.reader]\ndriver = \"pn532\"\nurl = \"{self.reader.path}\"\npoll_ms = 100\n"
            "[devices.printer]\nurl = \"\"\n"
            f"[devices.cash]\ndriver = \"cctalk\"\nurl = \"{self.cash.path}\"\nenabled = true\n"
            f"[devices.gateway]\ndriver = \"sandbox\"\nurl = \"{self.gateway.url}\"\n", encoding="utf-8")

    def close(self, keep_database: bool = False) -> None:
        """Stop the devices; drop the PostgreSQL database unless it is kept to look at (its name is in
        `run_dir`/database.txt)."""
        for sim in (self.gateway, self.cash, self.reader):
            try:
                sim.stop()
            except Exception:  # noqa: BLE001 - a stop must not hide the run's result
                pass
        if self._pg_name and keep_database:
            (self.run_dir / "database.txt").write_text(self.db_url + "\n", encoding="utf-8")
        elif self._pg_name:
            _pg_admin(f"DROP DATABASE IF EXISTS {self._pg_name} WITH (FORCE)")

    def job(self, mode: str, **extra: Any) -> dict[str, Any]:
        return {"mode": mode, "run_dir": str(self.run_dir), "data_dir": str(self.data_dir),
                "site_file": str(self.site_file), "db_url": self.db_url, "estate": self.template.estate,
                "ports": {"cash": self.cash.path, "reader": self.reader.path}, **extra}

    # --- the person, at the devices -----------------------------------------------------------------
    def act(self, action: str, args: dict[str, Any], alive: Any) -> Any:
        answer: Any = None
        if action == "present":
            self.reader.present(self.cards[args["uid"]])
        elif action == "remove":
            self.reader.remove()
        elif action == "place_new_card":
            card = self.cards.setdefault(NEW_CARD, VirtualMifareCard(bytes.fromhex(NEW_CARD)))
            self.reader.present(card)
            answer = NEW_CARD
        elif action == "insert":
            answer = self.cash.insert_note(int(args["yuan"]))
        elif action == "qr_pay":
            answer = self._qr_pay(args["order"], args["notify"], alive)
        else:
            raise ValueError(f"unknown action {action!r}")
        self.acts.append((action, args, answer))
        return answer

    def _qr_pay(self, order_id: str, notify: str, alive: Any) -> str:
        order = self.gateway.pay(order_id, notify=notify, delay_s=0)
        if notify != "never":  # the notification reached the kiosk (or the kiosk died) before the person looks up
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and alive():
                with self.gateway._lock:
                    if any(order_id in d["body"] and d["status"] for d in self.gateway.deliveries):
                        break
                time.sleep(0.002)
        return order.gateway_txn

    # --- a kiosk process ------------------------------------------------------------------------------
    def run(self, job: dict[str, Any], timeout_s: float = CHILD_TIMEOUT_S,
            kill_after_first_act_s: float | None = None) -> ChildRun:
        """Run the job in a kiosk process. `kill_after_first_act_s`: SIGKILL it from outside that many seconds
        after its first device action, wherever it is then (mid-statement, mid-fsync), not at a kill point."""
        from tests.crash import child

        ctx = context()
        here, there = ctx.Pipe()
        proc = ctx.Process(target=child.main, args=(job, there), daemon=True)
        started = time.monotonic()
        proc.start()
        there.close()
        out = ChildRun(None)
        deadline = started + timeout_s
        timer: threading.Timer | None = None

        def kill_now() -> None:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
                out.killed = (-1, f"SIGKILL {kill_after_first_act_s:.3f} s after the first device action")
        try:
            while True:
                if time.monotonic() > deadline:
                    out.error = f"timed out after {timeout_s:.0f} s"
                    proc.kill()
                    break
                if not here.poll(0.05):
                    if not proc.is_alive() and not here.poll(0):
                        break
                    continue
                try:
                    message = here.recv()
                except (EOFError, OSError):
                    break
                kind = message[0]
                if kind == "ACT" and out.first_act_s is None:
                    out.first_act_s = time.monotonic() - started
                    if kill_after_first_act_s is not None:
                        timer = threading.Timer(kill_after_first_act_s, kill_now)
                        timer.start()
                if kind == "ACT":
                    answer = self.act(message[1], message[2], proc.is_alive)
                    try:
                        here.send(("OK", answer))
                    except (BrokenPipeError, OSError):
                        pass
                elif kind == "KILLED":
                    out.killed = (message[1], message[2])
                elif kind == "DONE":
                    out.done = message[1]
                elif kind == "ERROR":
                    out.error = message[1]
        finally:
            proc.join(10)
            if timer is not None:
                timer.cancel()
            here.close()
        out.exitcode = proc.exitcode
        out.seconds = time.monotonic() - started
        return out

    def verify_copy(self, data_dir: Path, db_url: str) -> dict[str, Any]:
        """`kiosk audit verify` on another database (a power-loss copy), in a kiosk process of its own."""
        from tests.crash import child

        ctx = context()
        here, there = ctx.Pipe()
        job = {"data_dir": str(data_dir), "db_url": db_url}
        proc = ctx.Process(target=child.verify_only, args=(job, there), daemon=True)
        proc.start()
        there.close()
        try:
            message = here.recv() if here.poll(60) else ("ERROR", "no answer in 60 s")
        except EOFError:
            message = ("ERROR", f"exited {proc.exitcode}")
        proc.join(10)
        here.close()
        if message[0] != "DONE":
            return {"code": -1, "out": "", "err": message[1]}
        return message[1]["audit"]


def kiosk_id_of(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            from kiosk.persistence.models import Kiosk

            return int(conn.execute(select(Kiosk.id).where(Kiosk.code == "K01")).scalar_one())
    finally:
        engine.dispose()


# --- a crash run: kill, restart, check ---------------------------------------------------------------
@dataclass
class Verdict:
    """One kill point run: where the kiosk died, how long it took, and what was found wrong (must be nothing)."""

    flow: str
    point: int
    label: str
    findings: list[str]
    seconds: float
    restart_point: int = 0
    restart_label: str = ""
    drift: str = ""  # the kill landed elsewhere than the dry run's point N (a device answered late): still a kill


def crash_run(template: Template, flow: str, point: int, run_dir: Path, *, expected: str = "",
              restart_kill: int = 0, retry: bool = False, keep: bool = False, **flow_job: Any) -> Verdict:
    """Run `flow` and SIGKILL it at `point` (0: let it finish), start the kiosk again on the same database and
    devices (optionally killing that too at `restart_kill`, then starting once more; with `retry` the restarted
    kiosk is asked for the same request again), and check everything."""
    started = time.monotonic()
    world = World(template, run_dir)
    findings: list[str] = []
    label = restart_label = drift = ""
    try:
        first = world.run(world.job("flow", flow=flow, kill_at=point, **flow_job))
        if first.killed is not None:
            label = first.killed[1]
        if first.error:
            findings.append(f"the kiosk failed during the flow: {first.error.strip().splitlines()[-1]}")
        elif point and first.killed is None:
            drift = f"point {point} not reached (the flow reached {len(first.points)})"
        if expected and label and label != expected:
            drift = f"point {point} was {label!r}, the dry run's {expected!r}"
        again = flow if retry else ""
        restart = world.run(world.job("restart", kill_at=restart_kill, retry=again, **flow_job))
        if restart_kill and restart.killed is not None:
            restart_label = restart.killed[1]
            restart = world.run(world.job("restart", retry=again, **flow_job))
        findings += _restart_findings(restart)
        findings += check_world(world)
        if retry and restart.done is not None:
            findings += retry_findings(world, flow, restart.done.get("retry"))
    finally:
        world.close(keep_database=bool(findings))
        if findings:
            (run_dir / "findings.txt").write_text("\n".join(findings) + "\n", encoding="utf-8")
        elif not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return Verdict(flow, point, label, findings, time.monotonic() - started, restart_kill, restart_label, drift)


def _restart_findings(restart: ChildRun) -> list[str]:
    if restart.error or restart.done is None:
        return [f"the restarted kiosk failed: {(restart.error or f'exit {restart.exitcode}').strip()[-600:]}"]
    out = [f"card {uid} refused at its tap after the restart: {code}"
           for uid, code in restart.done["taps"].items() if code != "ok"]
    audit = restart.done["audit"]
    if audit["code"] != 0:
        out.append(f"kiosk audit verify exited {audit['code']}: {audit['err'] or audit['out']}")
    return out


def retry_findings(world: World, key: str, answer: dict[str, Any] | None) -> list[str]:
    """The same request asked again after the restart: the recorded receipt if the payment completed (never an
    empty success), else one error with its code, or a receipt of a payment made now."""
    import re

    from kiosk.persistence.models import Payment, Receipt
    from kiosk.services.receipts import format_number

    engine = make_engine(world.db_url)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            payment = s.scalars(select(Payment).where(Payment.idempotency_key == key)).one_or_none()
            numbers = {format_number(r.number) for r in s.scalars(select(Receipt).where(
                Receipt.payment_id == payment.id))} if payment is not None else set()
            status = payment.status if payment is not None else "none"
    finally:
        engine.dispose()
    if answer is None:
        return ["the retry gave no answer"]
    if "error" in answer:
        if not re.fullmatch(r"E\d{4}", str(answer["error"])):
            return [f"the retry failed without a code: {answer}"]
        return [f"the retry of a completed payment was refused: {answer}"] if status == "succeeded" else []
    receipt = str(answer.get("receipt", ""))
    if not receipt or receipt not in numbers or status != "succeeded":
        return [f"the retry answered receipt {receipt!r}; the payment is {status} with receipts {sorted(numbers)}"]
    return []


def check_world(world: World) -> list[str]:
    """The settled invariants on the world's database against its devices."""
    from tests.crash import invariants

    secrets = settings_mod.load_secrets(world.data_dir)
    engine = make_engine(world.db_url)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            return invariants.settled_findings(
                s, audit_key=bytes.fromhex(secrets.audit_key), kiosk_id=world.template.kiosk_id, mac_key=bytes.fromhex(secrets.card_mac_key), cards=world.cards,
                cash_box_fen=world.cash.stacked_fen, gateway=world.gateway.records())
    finally:
        engine.dispose()
