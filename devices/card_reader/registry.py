"""Card reader drivers by name, as chosen by the setting devices.reader.driver."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.errors import DriverNotFound
from kiosk.ports import CardReader

SETTING = "devices.reader.driver"


def _pn532(url: str, baud: int, **options: Any) -> CardReader:
    from devices.card_reader.pn532_reader import Pn532CardReader
    return Pn532CardReader(url, baud, **options)


def _uid_line(url: str, baud: int, **options: Any) -> CardReader:
    from devices.card_reader.uid_line_reader import UidLineCardReader
    return UidLineCardReader(url, baud, **options)


DRIVERS: dict[str, Callable[..., CardReader]] = {
    "pn532": _pn532,
    "uid-line": _uid_line,
}


def driver_names() -> list[str]:
    return sorted(DRIVERS)


def build_card_reader(driver: str, url: str, baud: int = 115200, **options: Any) -> CardReader:
    """A (not yet opened) reader for `driver`; DriverNotFound names the setting when the name is unknown."""
    try:
        factory = DRIVERS[driver]
    except KeyError:
        raise DriverNotFound(f"known drivers: {', '.join(driver_names())}", driver=driver, key=SETTING) from None
    return factory(url, baud, **options)
