"""`kiosk devices list|probe reader`, `kiosk card read|issue`, `kiosk sim reader`: the IC card reader from the command line."""
from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from typing import Any

from kiosk.errors import ConfigError

EXIT_NO_CARD = 7  # same as a CardError (kiosk.cli.main.EXIT_CARD)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    devices = subgroup(sub, common, "devices", "check the attached hardware")
    lst = devices.add_parser("list", help="serial ports with their /dev/serial/by-id paths and descriptions",
                             parents=[common])
    lst.set_defaults(handler=_list)
    probe = subgroup(devices, common, "probe", "ask one device for its state")
    p = probe.add_parser("reader", help="print the reader's firmware, then the UID of a card presented in time",
                         parents=[common])
    _reader_options(p)
    p.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a card (default 5)")
    p.set_defaults(handler=_probe)

    card = subgroup(sub, common, "card", "IC card tools")
    r = card.add_parser("read", help="read a card: record, value, counter and MAC status "
                                     "(keys from the data directory's secrets.toml)", parents=[common])
    _reader_options(r)
    r.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a card (default 5)")
    r.set_defaults(handler=_card_read)
    i = card.add_parser("issue", help="issue a blank card to a household (staff PIN from the terminal "
                                      "without echo, or the first line of stdin)", parents=[common])
    _reader_options(i)
    i.add_argument("--household", required=True, help="the household's unit number, e.g. 1-0101")
    i.add_argument("--kind", required=True, choices=("resident", "smart", "vehicle"))
    i.add_argument("--plate", default="", help="a vehicle card's plate, e.g. 粤B·12345 (shown on the card picker)")
    i.add_argument("--staff", help="staff user name (default: whoever has the PIN, as at the kiosk)")
    i.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the card (default 10)")
    i.set_defaults(handler=_card_issue)

    sim = subgroup(sub, common, "sim", "wire-level device simulators")
    s = sim.add_parser("reader", help="a PN532 with MIFARE cards on a pseudo-terminal; prints its path first, "
                                      "then takes commands on stdin (help)", parents=[common])
    s.add_argument("--cards", help="card file (JSON): one card or {\"cards\": [...]}; the first is presented")
    s.add_argument("--baud", type=int, default=115200, help="pace frames at this rate (default 115200)")
    s.add_argument("--no-card", action="store_true", help="start with the field empty")
    s.set_defaults(handler=_sim)


def _reader_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--driver", default="pn532", help="pn532 or uid-line (default pn532)")
    parser.add_argument("--port", required=True, help="device path, /dev/serial/by-id/..., or a pyserial URL")
    parser.add_argument("--baud", type=int, default=115200)


def _open_reader(args: argparse.Namespace) -> Any:
    from devices.card_reader.registry import build_card_reader

    reader = build_card_reader(args.driver, args.port, args.baud)
    reader.open()
    return reader


def _list(args: argparse.Namespace) -> int:
    from devices.card_reader.transport import list_serial_ports

    ports = list_serial_ports()
    if not ports:
        print("no serial ports found")
    for p in ports:
        print(f"{p.device}\t{p.description}\t{p.hwid}")
        for link in p.by_id:
            print(f"    {link}")
    return 0


def _wait_card(reader: Any, wait: float) -> Any:
    return reader.poll(max(0.0, wait))


def _probe(args: argparse.Namespace) -> int:
    reader = _open_reader(args)
    try:
        print(f"firmware: {reader.firmware_version()}", flush=True)
        tag = _wait_card(reader, args.wait)
        if tag is None:
            print(f"kiosk: no card was presented within {args.wait:g} s", file=sys.stderr)
            return EXIT_NO_CARD
        print(f"uid: {tag.uid.hex}")
        return 0
    finally:
        reader.close()


def card_application(args: argparse.Namespace) -> Any:
    """The site's CardApplication with the secrets in the data directory's secrets.toml (never the
    environment). A data directory without secrets.toml is refused rather than given fresh random keys."""
    from kiosk import settings as settings_mod
    from kiosk.cards import CardApplication
    from kiosk.cli.common import settings_from

    secrets_file = settings_mod.resolve_data_dir(args.data_dir) / settings_mod.SECRETS_FILE
    if not secrets_file.exists():
        raise ConfigError(f"{secrets_file} not found: start the kiosk once in this data directory or copy "
                          "the site's secrets.toml there", key=str(secrets_file))
    secrets = settings_from(args).secrets
    assert secrets is not None
    try:
        return CardApplication(bytes.fromhex(secrets.card_master_key), bytes.fromhex(secrets.card_mac_key))
    except ValueError as exc:
        raise ConfigError(f"{secrets_file}: card keys must be hex of at least 16 bytes",
                          key="secrets.card_master_key") from exc


def _card_read(args: argparse.Namespace) -> int:
    app = card_application(args)
    reader = _open_reader(args)
    try:
        tag = _wait_card(reader, args.wait)
        if tag is None:
            print(f"kiosk: no card was presented within {args.wait:g} s", file=sys.stderr)
            return EXIT_NO_CARD
        image = app.inspect(reader, tag)
        rec = image.record
        print(f"uid:          {tag.uid.hex}")
        print(f"card number:  {rec.card_number}")
        print(f"kind:         {rec.kind}")
        print(f"household:    {rec.household_ref}")
        print(f"issue seq:    {rec.issue_seq}")
        print(f"value:        {image.value_fen // 100}.{image.value_fen % 100:02d} ({image.value_fen} fen)")
        print(f"counter:      {image.counter}")
        print(f"MAC:          {'ok' if image.mac_ok else 'MISMATCH (card refused)'}")
        return 0 if image.mac_ok else EXIT_NO_CARD
    finally:
        reader.close()


def read_pin() -> str:
    """The staff PIN: without echo at a terminal, else the first line of stdin (scripts, tests)."""
    if sys.stdin.isatty():
        return getpass.getpass("staff PIN: ")
    return sys.stdin.readline().strip()


def _card_issue(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from kiosk.bootstrap import ensure_till
    from kiosk.cards import reconcile
    from kiosk.cli.common import database_from
    from kiosk.domain.terms import CardKind
    from kiosk.errors import AlreadyDone, CardRemoved, NotFound
    from kiosk.persistence.db import unit_of_work
    from kiosk.persistence.models import Household
    from kiosk.services import cards, staff, staff_unlock

    app = card_application(args)
    pin = read_pin()
    settings, db = database_from(args)
    till = ensure_till(db, settings)
    who = staff.sign_in(db.factory, args.staff, pin) if args.staff else staff_unlock.unlock(db.factory, till, pin)
    actor = f"staff:{who.name}"
    with unit_of_work(db.factory) as session:
        hh = session.scalars(select(Household).where(Household.site_id == till.site_id,
                                                     Household.unit_no == args.household)).one_or_none()
        if hh is None:
            raise NotFound(f"household {args.household}")
        household_id = hh.id
    reader = _open_reader(args)
    try:
        tag = _wait_card(reader, args.wait)
        if tag is None:
            print(f"kiosk: no card was presented within {args.wait:g} s", file=sys.stderr)
            return EXIT_NO_CARD
        with unit_of_work(db.factory) as session:
            known = cards.card_by_uid(session, tag.uid.hex)
            if known is None:
                _ident, write = cards.issue_card(session, household_id=household_id, uid=tag.uid.hex,
                                                 kind=CardKind(args.kind), actor=actor, plate=args.plate)
            else:  # re-running on a card whose issue was cut short finishes it; anything else is refused
                pending = [w for w in cards.pending_card_writes(session, known.id) if w.kind == "issue"]
                if known.household_id != household_id or not pending:
                    raise AlreadyDone(f"card {tag.uid.hex} is already registered ({known.card_no})")
                write = pending[0]
            facts = cards.card_facts(session, cards.get_card(session, write.card_id))

        def issue(_w: cards.CardWrite) -> None:
            again = reader.poll(0.5)
            if again is None or again.uid != tag.uid:
                raise CardRemoved("the card left before it was issued")
            app.issue(reader, again, reconcile.card_record(facts), write.new_value_fen)

        written, error = cards.perform_card_write(db.factory, write, issue, actor)
        if not written:
            print(f"kiosk: card {tag.uid.hex} registered as {facts.card_no} but not written ({error}); "
                  "run the command again with the same card", file=sys.stderr)
            return EXIT_NO_CARD
        print(f"issued card {facts.card_no} (uid {tag.uid.hex}, {facts.kind}) to household {args.household} "
              f"by {who.name}")
        return 0
    finally:
        reader.close()


def _sim(args: argparse.Namespace) -> int:
    from devices.sim.mifare_card import load_cards
    from devices.sim.pn532_control import SimController
    from devices.sim.pn532_sim import SimPn532

    try:
        cards = load_cards(args.cards) if args.cards else []
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"--cards {args.cards}: {exc}", key="--cards") from exc

    def on_signal(_signo: int, _frame: object) -> None:
        raise KeyboardInterrupt  # unwinds the main thread out of signal.pause() into the cleanup below
    signal.signal(signal.SIGTERM, on_signal)
    sim = SimPn532(baud=args.baud)
    try:
        sim.start()
        control = SimController(sim, cards)
        if cards and not args.no_card:
            sim.present(cards[0])
        print(sim.path, flush=True)
        print(f"# pty {sim.pty_path} (libnfc: LIBNFC_DEVICE=pn532_uart:{sim.pty_path}); "
              f"card {'none' if sim.card is None else sim.card.uid.hex().upper()}; type 'help'", flush=True)

        def commands() -> None:
            for line in sys.stdin:
                answer = control.run(line)
                if answer:
                    print(answer, flush=True)
        threading.Thread(target=commands, name="sim-reader-stdin", daemon=True).start()
        while True:
            signal.pause()  # runs until SIGTERM / SIGINT; closing stdin does not stop the simulator
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
