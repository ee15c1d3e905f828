"""`kiosk devices list|probe reader`, `kiosk card read`, `kiosk sim reader`: the IC card reader from the command line."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from kiosk.errors import ConfigError

EXIT_NO_CARD = 7  # same as a CardError (kiosk.cli.main.EXIT_CARD)
MASTER_KEY_ENV = "KIOSK_CARD_MASTER_KEY"
MAC_KEY_ENV = "KIOSK_CARD_MAC_KEY"


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
                                     f"(secrets from ${MASTER_KEY_ENV}, hex)", parents=[common])
    _reader_options(r)
    r.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a card (default 5)")
    r.set_defaults(handler=_card_read)

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


def card_secrets_from_env() -> tuple[bytes, bytes | None]:
    """(master key, MAC key or None to derive it) from the environment; ConfigError names the variable."""
    def key(name: str) -> bytes | None:
        text = os.environ.get(name, "").strip()
        if not text:
            return None
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ConfigError(f"${name} is not hex", key=name) from None
        if len(value) < 16:
            raise ConfigError(f"${name} must be at least 16 bytes", key=name)
        return value

    master = key(MASTER_KEY_ENV)
    if master is None:
        raise ConfigError(f"set ${MASTER_KEY_ENV} to the site's card master key (hex)", key=MASTER_KEY_ENV)
    return master, key(MAC_KEY_ENV)


def _card_read(args: argparse.Namespace) -> int:
    from kiosk.cards import CardApplication

    master, mac = card_secrets_from_env()
    app = CardApplication(master, mac)
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
