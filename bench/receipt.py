"""Receipt size and wire time: ESC/POS text + native QR against the same receipt as one raster image.

Run: .venv/bin/python bench/receipt.py [--columns 48] [--lang zh_Hans]
Prints a Markdown table (one row per receipt kind) and checks the targets for the fee receipt:
<= 2,048 bytes, >= 20x smaller than its raster form, <= 2.5 s on the wire at 9600 baud.
Exits 1 when a target is missed. Both forms are produced in this run by python-escpos.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=48, choices=(32, 42, 48))
    parser.add_argument("--lang", default="zh_Hans", choices=("zh_Hans", "zh_Hant", "en"))
    args = parser.parse_args(argv)
    rows = measure(args.columns, args.lang)
    print(f"Receipts in {args.lang}, {args.columns} columns ({DOTS_FOR_COLUMNS[args.columns]} dots), "
          f"8N1 wire time = bytes x {BITS_PER_BYTE} / baud\n")
    print(table(rows))
    print()
    verdicts = check(rows)
    print("\n".join(verdicts))
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
