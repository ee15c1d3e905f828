"""Last-resort handler: log the traceback, show out of service with a reference, return to idle, never quit."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from kivy.base import ExceptionHandler, ExceptionManager

from kiosk.flows.runner import UnexpectedError

log = logging.getLogger(__name__)


class LastResortHandler(ExceptionHandler):
    """Kivy calls `handle_exception` for anything raised in the main loop; PASS keeps the app running."""

    def __init__(self, recover: Callable[[str], None]) -> None:
        super().__init__()
        self.recover = recover
        self.references: list[str] = []

    def handle_exception(self, inst: BaseException) -> int:
        if isinstance(inst, (KeyboardInterrupt, SystemExit)):
            return ExceptionManager.RAISE
        reference = inst.reference if isinstance(inst, UnexpectedError) else uuid.uuid4().hex[:8].upper()
        log.error("unexpected error, reference %s", reference, exc_info=inst)
        self.references.append(reference)
        try:
            self.recover(reference)
        except Exception:  # the recovery itself failed: still never quit
            log.exception("recovery after %s failed", reference)
        return ExceptionManager.PASS


def install(recover: Callable[[str], None]) -> LastResortHandler:
    handler = LastResortHandler(recover)
    ExceptionManager.add_handler(handler)
    return handler
