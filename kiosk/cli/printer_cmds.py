"""`kiosk devices probe printer`, `kiosk printer test|sample|queue|requeue|spool`, `kiosk sim printer`: the receipt printer from the command line."""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from kiosk.cli.common import database_from, settings_from
from kiosk.cli.sim_serving import stop_on_sigterm
from kiosk.domain.site_clock import iso
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

    q = printer.add_parser("queue", help="this kiosk's receipts waiting for the printer, failed jobs, and the "
                                         "printer's latest conditions", parents=[common])
    q.add_argument("--limit", type=int, default=50)
    q.set_defaults(handler=_queue)
    r = printer.add_parser("requeue", help="put this kiosk's failed print jobs back in the queue", parents=[common])
    r.set_defaults(handler=_requeue)
    sp = printer.add_parser("spool", help="print this kiosk's queued receipts now (the kiosk app does this itself); "
                                          "exit 4 when some could not be printed", parents=[common])
    _printer_options(sp)
    sp.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    sp.add_argument("--follow", action="store_true", help="keep printing new jobs until Ctrl-C")
    sp.add_argument("--interval", type=float, default=2.0, help="with --follow: seconds between queue checks")
    sp.set_defaults(handler=_spool)

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
    m.add_argument("--wire-baud", type=int, default=0,
                   help="bytes take their time on a serial line this fast (e.g. 9600), as on a real printer")
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


def _queue(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.persistence.db import unit_of_work
    from kiosk.printing import alerts
    from kiosk.services import print_queue

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        counts = print_queue.count_by_status(session, till.kiosk_id)
        jobs = print_queue.waiting_jobs(session, till.kiosk_id, args.limit)
        events = alerts.recent(session, till.kiosk_id, limit=5)
    print(f"kiosk {till.kiosk_code}: {counts['queued']} queued, {counts['failed']} failed, "
          f"{counts['printed']} printed")
    for job in jobs:
        error = f"  last error: {job.last_error}" if job.last_error else ""
        print(f"  job {job.job_id}  receipt {job.receipt_number}  {job.status}  attempts {job.attempts}{error}")
    for event in events:
        print(f"  printer {event.condition} at {iso(event.at)}" + (f" ({event.detail})" if event.detail else ""))
    return 0


def _requeue(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import print_queue

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        count = print_queue.requeue_failed(session, till.kiosk_id, actor="office")
    print(f"{count} failed job(s) queued again")
    return 0


def _spool(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.printing import PrintSpooler, ReceiptPrinted, StaffAlert
    from kiosk.runtime import DeviceSupervisor, DeviceWorker, EventBus

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    url, printer = _build(args)
    bus = EventBus()
    bus.subscribe(ReceiptPrinted, lambda e: print(f"receipt {e.receipt_number} printed"
                                                  + (" (copy)" if e.is_copy else ""), flush=True))
    bus.subscribe(StaffAlert, lambda e: print(f"printer {url}: " + (f"{e.kind} cleared" if e.cleared else
                                                                    f"{e.kind}: {e.detail}"), flush=True))
    supervisor = DeviceSupervisor(DeviceWorker("printer", printer), bus, backoff_cap=1.0)
    spooler = PrintSpooler(supervisor, db.factory, till.kiosk_id, bus, interval=args.interval)
    supervisor.start()
    spooler.start()
    try:
        supervisor.wait_available(min(args.timeout, 5.0))
        if args.follow:
            stop_on_sigterm()
            print(f"printing kiosk {till.kiosk_code}'s receipts on {url}; Ctrl-C stops", flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
        left = spooler.drain(args.timeout)
        gate = spooler.gate()
    finally:
        spooler.stop()
        supervisor.stop()
    if left:
        print(f"printer {url}: NOT READY: {left} receipt(s) still queued"
              + (f" ({gate.detail})" if gate.detail else ""))
        return EXIT_NOT_READY
    print(f"printer {url}: queue empty")
    return 0


def _sim(args: argparse.Namespace) -> int:
    from devices.sim.escpos_sim import SimPrinter

    out = Path(args.out) if args.out else settings_from(args, with_secrets=False).data_dir / "printer-sim"
    sim = SimPrinter(out, host=args.host, port=args.port, pty=args.pty, state=args.state, encoding=args.encoding,
                     chinese_default=not args.no_chinese_default, paper_dots=args.dots, font_path=args.font,
                     wire_baud=args.wire_baud or None,
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
    stop_on_sigterm()
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
