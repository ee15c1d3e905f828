"""The one error tree: every failure the kiosk can report has a stable code and a translatable message.

Its root is `KioskError` (kiosk.errors.base); its classes live by domain in this package's modules (config, storage,
money, devices, invoices, office) and are imported from here: `from kiosk.errors import CardRemoved`.
"""
from __future__ import annotations

from kiosk.errors.base import KioskError, all_error_classes
from kiosk.errors.config import *  # noqa: F403
from kiosk.errors.storage import *  # noqa: F403
from kiosk.errors.money import *  # noqa: F403
from kiosk.errors.devices import *  # noqa: F403
from kiosk.errors.invoices import *  # noqa: F403
from kiosk.errors.office import *  # noqa: F403
