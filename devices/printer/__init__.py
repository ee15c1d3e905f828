"""Receipt printer: python-escpos connection, ESC/POS rendering, status."""
from __future__ import annotations

import os
from pathlib import Path


def _keep_escpos_capabilities_cache() -> None:
    """python-escpos pickles its printer-capabilities database into a fresh mkdtemp() at every import unless
    ESCPOS_CAPABILITIES_PICKLE_DIR names a folder: ~0.2 s of every kiosk start and a stray /tmp folder each
    time. One folder per user keeps the pickle (escpos rebuilds it when its JSON is newer)."""
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ:
        return
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "estate-kiosk" / "escpos"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: escpos falls back to its temporary folder
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache)


_keep_escpos_capabilities_cache()  # before any module of this package imports escpos
