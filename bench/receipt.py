"""Receipt size and wire time: ESC/POS text + native QR against the same receipt as one raster image.

Run: .venv/bin/python bench/receipt.py [--columns 48] [--lang zh_Hans]
Prints a Markdown table (one row per receipt kind) and checks the targets for the fee receipt:
<= 2,048 bytes, >= 20x smaller than its raster form, <= 2.5 s on the wire at 9600 baud.
Exits 1 when a target is missed. Both forms are produced in this run by python-escpos.

With --spool it also measures the print spooler end to end against the simulator (SQLite in a
temporary directory): the fee receipt queued in the database -> ReceiptPrinted, over TCP and over a
pty with the simulator's wire speed at 9600 and 115200 baud, beside the baseline measured in the same
run (the driver's own print_receipt of the same document) and the wire floor; and how long after the
printer comes back (cable plugged in again) a waiting receipt is printed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.printer.encoder import encode_layout  # noqa: E402
from devices.printer.preview import DOTS_FOR_COLUMNS  # noqa: E402
from devices.printer.raster import raster_receipt_bytes  # noqa: E402
from kiosk.domain.receipt import ReceiptKind  # noqa: E402
from kiosk.receipts.layout import layout_receipt  # noqa: E402
from kiosk.receipts.samples import sample_receipt  # noqa: E402

BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit
TARGET_BYTES = 2048
TARGET_RATIO = 20.0
TARGET_SECONDS_9600 = 2.5


def wire_seconds(size: int, baud: int) -> float:
    return size * BITS_PER_BYTE / baud


def measure(columns: int, language: str) -> list[dict]:
    encoding = "big5" if language == "zh_Hant" else "gb18030"
    dots = DOTS_FOR_COLUMNS[columns]
    rows = []
    encode_layout(layout_receipt(sample_receipt(), columns, encoding), paper_dots=dots)  # warm-up: imports, caches
    for kind in ReceiptKind:
        doc = sample_receipt(kind, language)
        started = time.perf_counter()
        native = encode_layout(layout_receipt(doc, columns, encoding), paper_dots=dots)
        encode_ms = (time.perf_counter() - started) * 1000
        raster = raster_receipt_bytes(doc, columns, encoding)
        rows.append({"kind": kind.value, "bytes": len(native), "raster": len(raster), "encode_ms": encode_ms,
                     "ratio": len(raster) / len(native)})
    return rows


def table(rows: list[dict]) -> str:
    out = ["| receipt kind | ESC/POS bytes | 9600 baud | 115200 baud | raster bytes | raster 9600 | raster 115200 "
           "| ratio | encode ms |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['kind']} | {r['bytes']:,} | {wire_seconds(r['bytes'], 9600):.2f} s "
                   f"| {wire_seconds(r['bytes'], 115200):.3f} s | {r['raster']:,} "
                   f"| {wire_seconds(r['raster'], 9600):.1f} s | {wire_seconds(r['raster'], 115200):.2f} s "
                   f"| {r['ratio']:.0f}x | {r['encode_ms']:.1f} |")
    return "\n".join(out)


def check(rows: list[dict]) -> list[str]:
    fee = next(r for r in rows if r["kind"] == ReceiptKind.BILL_PAYMENT.value)
    results = [
        (fee["bytes"] <= TARGET_BYTES, f"fee receipt {fee['bytes']:,} bytes <= {TARGET_BYTES:,}"),
        (fee["ratio"] >= TARGET_RATIO, f"fee receipt {fee['ratio']:.1f}x smaller than raster >= {TARGET_RATIO:.0f}x"),
        (wire_seconds(fee["bytes"], 9600) <= TARGET_SECONDS_9600,
         f"fee receipt {wire_seconds(fee['bytes'], 9600):.2f} s at 9600 baud <= {TARGET_SECONDS_9600} s"),
    ]
    return [("PASS " if ok else "FAIL ") + text for ok, text in results]


def spool(language: str, repeats: int = 5) -> str:
    """Spooler vs direct driver on each link; returns a Markdown table and the recovery line."""
    import logging
    import shutil
    import statistics
    import tempfile
    import threading

    from devices.printer.registry import build_receipt_printer
    from devices.sim.escpos_sim import SimPrinter
    from kiosk.persistence import schema
    from kiosk.persistence.chain import ChainBinding
    from kiosk.persistence.db import make_engine, make_session_factory, sqlite_url, unit_of_work
    from kiosk.persistence.models import Kiosk, Site
    from kiosk.printing import PrintSpooler, ReceiptPrinted
    from kiosk.runtime import DeviceSupervisor, DeviceWorker, EventBus
    from kiosk.services import receipts

    logging.getLogger("kiosk").setLevel(logging.ERROR)  # the unplug below is meant to happen
    tmp = Path(tempfile.mkdtemp(prefix="bench-spool-"))
    engine = make_engine(sqlite_url(tmp))
    schema.upgrade(engine)
    factory = make_session_factory(engine, chain=ChainBinding(bytes.fromhex("b3" * 32), "BENCH"))
    with unit_of_work(factory) as s:
        site = Site(code="B", name_zh_hans="翠湖花园", name_zh_hant="翠湖花園", name_en="Cuihu Garden")
        s.add(site)
        s.flush()
        kiosk = Kiosk(site_id=site.id, code="BENCH", name="bench")
        s.add(kiosk)
        s.flush()
        till = receipts.Till(site.id, kiosk.id, kiosk.code, {"zh_Hans": "翠湖花园", "zh_Hant": "翠湖花園", "en": "Cuihu Garden"},
                             "https://estate.example/e-receipt/{number}")
    doc = sample_receipt(ReceiptKind.BILL_PAYMENT, language)

    def queue() -> None:
        with unit_of_work(factory) as s:
            receipts.issue(s, till, kind=doc.kind, language=language, title=doc.title, household_label=doc.household,
                           items=doc.items, total_fen=doc.total_fen, payment_method=doc.payment_method,
                           fields=doc.fields, notes=doc.notes)

    rows, recovery = [], ""
    links = (("tcp", None), ("serial 9600", 9600), ("serial 115200", 115200))
    for label, baud in links:
        sim = SimPrinter(tmp / label.replace(" ", "-"), port=0, pty=baud is not None, wire_baud=baud).start()
        url = sim.url if baud is None else f"serial:{sim.pty_path}?baud={baud}"
        direct = build_receipt_printer("escpos", url)
        size = len(direct.render(doc))
        base = []
        for _ in range(repeats):
            started = time.perf_counter()
            direct.print_receipt(doc)
            base.append(time.perf_counter() - started)
        direct.close()
        bus, printed = EventBus(), threading.Event()
        bus.subscribe(ReceiptPrinted, lambda _e: printed.set())
        supervisor = DeviceSupervisor(DeviceWorker("printer", build_receipt_printer("escpos", url)), bus)
        spooler = PrintSpooler(supervisor, factory, till.kiosk_id, bus)
        supervisor.start()
        spooler.start()
        supervisor.wait_available(5)
        spooled = []
        for _ in range(repeats):
            queue()
            printed.clear()
            started = time.perf_counter()
            spooler.kick()
            if not printed.wait(30):
                raise SystemExit(f"{label}: the spooler printed nothing within 30 s")
            spooled.append(time.perf_counter() - started)
        if baud is None:  # unplugged with a receipt waiting, then plugged back in
            sim.refuse_connections()
            sim.reset_connections()
            queue()
            printed.clear()
            spooler.kick()
            time.sleep(1.5)  # the printer stays unplugged for a while
            started = time.perf_counter()
            sim.refuse_connections(False)
            if not printed.wait(30):
                raise SystemExit("the waiting receipt was not printed after the printer came back")
            recovery = (f"Printer plugged back in -> waiting receipt printed: {time.perf_counter() - started:.2f} s "
                        f"(recheck every {spooler.recheck:g} s while it cannot print).")
        spooler.stop()
        supervisor.stop()
        sim.stop()
        b, q = statistics.median(base), statistics.median(spooled)
        rows.append(f"| {label} | {size:,} | {wire_seconds(size, baud) * 1000 if baud else 0:.0f} ms "
                    f"| {b * 1000:.0f} ms | {q * 1000:.0f} ms | {(q - b) * 1000:+.0f} ms | {q / b:.2f}x |")
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    head = ["| link | job bytes | wire floor | driver print_receipt (baseline) | spooler kick -> printed "
            "| overhead | ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
    return "\n".join(head + rows) + f"\n\nMedian of {repeats} each. {recovery}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=48, choices=(32, 42, 48))
    parser.add_argument("--lang", default="zh_Hans", choices=("zh_Hans", "zh_Hant", "en"))
    parser.add_argument("--spool", action="store_true", help="also measure the print spooler against the simulator")
    args = parser.parse_args(argv)
    rows = measure(args.columns, args.lang)
    print(f"Receipts in {args.lang}, {args.columns} columns ({DOTS_FOR_COLUMNS[args.columns]} dots), "
          f"8N1 wire time = bytes x {BITS_PER_BYTE} / baud\n")
    print(table(rows))
    print()
    verdicts = check(rows)
    print("\n".join(verdicts))
    if args.spool:
        print("\nPrint spooler, fee receipt, against the simulator (python-escpos over TCP / a pty)\n")
        print(spool(args.lang))
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
