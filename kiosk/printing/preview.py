"""The PNG preview of any stored receipt for staff mode, drawn by a renderer the runtime injects (kiosk/ cannot import devices)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.receipt import ReceiptDocument
from kiosk.errors import NotFound
from kiosk.persistence.db import unit_of_work
from kiosk.private_files import make_private_dir
from kiosk.services import receipts

# (document, PNG path to write) -> the path written. The runtime passes
# devices.printer.preview.previewer(columns, encoding), a wrapper of render_preview.
Preview = Callable[[ReceiptDocument, Path], Path]


def receipt_preview(factory: sessionmaker[Session], site_id: int, number: int | str, out_dir: Path,
                    preview: Preview) -> Path:
    """The PNG of receipt `number` of the site, as the printer prints it (the original, not a copy).

    A receipt never changes once issued (a void is a new receipt), so a PNG already drawn is reused.
    Raises NotFound for an unknown number or text that is not one.
    """
    n = parse_number(number)
    with unit_of_work(factory) as session:
        doc = receipts.document(receipts.find(session, site_id, n))
    out_dir = Path(out_dir)
    out = out_dir / f"receipt-{site_id}-{receipts.format_number(n)}.png"
    if out.exists():
        return out
    make_private_dir(out_dir)
    partial = out_dir / f".{out.stem}.{os.getpid()}.{id(doc):x}.png"  # two staff screens may ask at once
    try:
        written = preview(doc, partial)
        os.replace(written, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def parse_number(number: int | str) -> int:
    """12 or "00000012" -> 12; anything else is NotFound (what the user typed matches no receipt)."""
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    digits = str(number).strip()
    if not digits.isdigit():
        raise NotFound(f"receipt {number!r}")
    return int(digits)
