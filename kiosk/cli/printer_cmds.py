"""`kiosk devices probe printer`, `kiosk printer test|sample`, `kiosk sim printer`: the receipt printer from the command line."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from kiosk.cli.common import settings_from
from kiosk.domain.receipt import ReceiptKind

EXIT_NOT_READY = 4  # same as a DeviceError (kiosk.cli.main.EXIT_DEVICE)
SIM_STATES = ("ok", "near_end", "out", "cover_open", "offline", "no_reply")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    devices = subgroup(sub, common, "devices", "check the attached hardware")
    probe = subgroup(devices, common, "probe", "ask one device for its state")
    p = probe.add_parser("printer", help="ask the receipt printer for its status (DLE EOT); exit 4 when not ready",
                         parents=[common])
    _printer_options(p)
    p.set_defaults(handler=_probe)

    printer = subgroup(sub, common, "printer", "receipt printer tools")
    t = printer.add_parser("test", help="print a test receipt: Chinese text, a native QR code and a cut",
                           parents=[common])
    _printer_options(t)
    t.add_argument("--lang", default="zh_Hans", choices=("zh_Hans", "zh_Hant", "en"))
    t.set_defaults(handler=_test)
    s = printer.add_parser("sample", help="draw a sample receipt of any kind to a PNG, no printer needed",
                           parents=[common])
    s.add_argument("--kind", default="bill_payment", choices=[k.value for k in ReceiptKind])
    s.add_argument("--lang", default="zh_Hans", choices=("zh_Hans", "zh_Hant", "en"))
    s.add_argument("--columns", type=int, default=48, choices=(32, 42, 48))
    s.add_argument("--encoding", default="gb18030", choices=("gb18030", "big5"))
    s.add_argument("--out", required=True, help="PNG file to write")
    s.set_defaults(handler=_sample)

    sim = subgroup(sub, common, "sim", "wire-level device simulators")
    m = sim.add_parser("printer", help="an ESC/POS printer on TCP (and a pty) that saves every receipt as PNG + JSON",
                       parents=[common])
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=int, default=9100)
    m.add_argument("--pty", action="store_true", help="also listen on a pseudo-terminal (serial:PATH URL)")
    m.add_argument("--out", help="directory for receipts (default: <data dir>/printer-sim)")
    m.add_argument("--state", default="ok", choices=SIM_STATES, help="status the printer reports at start")
    m.add_argument("--encoding", default="gb18030", choices=("gb18030", "big5"), help="the printer's Chinese font")
    m.add_argument("--dots", type=int, default=576, help="paper width in dots (576 = 80 mm at 203 dpi)")
    m.add_argument("--no-chinese-default", action="store_true",
                   help="power up in code-page mode (Chinese text then needs FS &)")
    m.add_argument("--font", default="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", help="CJK font for the PNGs")
    m.set_defaults(handler=_sim)


def _printer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="tcp://HOST:PORT, serial:PATH?baud=N, usb:VID:PID or file:PATH "
                                      "(default: devices.printer.url from the config)")
    parser.add_argument("--status-timeout", type=float, default=0.5, help="seconds to wait for each status reply")


def _build(args: argparse.Namespace):
    from devices.printer.registry import build_receipt_printer
    from kiosk.errors import ConfigError

    cfg = settings_from(args, with_secrets=False).devices.printer
    url = args.url or cfg.url
    if not url:
        raise ConfigError("give --url or set devices.printer.url", key="devices.printer.url")
    return url, build_receipt_printer(cfg.driver, url, profile=cfg.profile or None, columns=cfg.columns,
                                      width_dots=cfg.width_dots, encoding=cfg.encoding,
                                      status_timeout=args.status_timeout)


def _probe(args: argparse.Namespace) -> int:
    url, printer = _build(args)
    try:
        status = printer.status()
    finally:
        printer.close()
    if not status.ready:
        print(f"printer {url}: NOT READY: {status.reason or 'not ready'}")
        return EXIT_NOT_READY
    print(f"printer {url}: ready, paper {status.paper}" + (f" ({status.reason})" if status.reason else ""))
    return 0


def _test(args: argparse.Namespace) -> int:
    from kiosk.receipts.samples import sample_receipt

    url, printer = _build(args)
    try:
        printer.print_receipt(sample_receipt(ReceiptKind.TEST, args.lang))
    finally:
        printer.close()
    print(f"printer {url}: test receipt printed")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from devices.printer.preview import render_preview
    from kiosk.receipts.samples import sample_receipt

    out = render_preview(sample_receipt(ReceiptKind(args.kind), args.lang), args.columns, args.out, args.encoding)
    print(f"wrote {out}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sim(args: argparse.Namespace) -> int:
    from devices.sim.escpos_sim import SimPrinter

    out = Path(args.out) if args.out else settings_from(args, with_secrets=False).data_dir / "printer-sim"
    sim = SimPrinter(out, host=args.host, port=args.port, pty=args.pty, state=args.state, encoding=args.encoding,
                     chinese_default=not args.no_chinese_default, paper_dots=args.dots, font_path=args.font,
                     on_receipt=lambda r: print(f"receipt {r.get('sequence')}: {out / str(r.get('png', '-'))} "
                                                f"({len(r.get('lines', []))} lines"
                                                f"{'' if r.get('complete', True) else ', INCOMPLETE'})", flush=True))
    try:
        sim.start()
    except OSError as exc:
        print(f"kiosk: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_NOT_READY
    except RuntimeError as exc:  # FontMissing: the pictures could not be drawn
        print(f"kiosk: {exc}; give a CJK font with --font", file=sys.stderr)
        return EXIT_NOT_READY
    where = sim.url + (f" and serial:{sim.pty_path}" if sim.pty_path else "")
    print(f"ESC/POS printer simulator listening on {where}; receipts in {out}; state {sim.state}", flush=True)
    print(f"type a state ({', '.join(SIM_STATES)}) and Enter to change it; Ctrl-C stops", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for line in sys.stdin:
            word = line.strip().lower()
            if word in SIM_STATES:
                sim.set_state(word)
                print(f"state {word}", flush=True)
            elif word:
                print(f"unknown state {word!r}", flush=True)
        threading.Event().wait()  # stdin closed (running in the background): serve until interrupted
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
