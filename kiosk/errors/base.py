"""The root of the one error tree (KioskError) and the walk over every class in it."""
from __future__ import annotations

from typing import Any, ClassVar

from kiosk.i18n import N_, translate


class KioskError(Exception):
    """Root of every error the kiosk reports. Subclasses set `code` and `message` (a msgid)."""

    code: ClassVar[str] = "E0000"
    message: ClassVar[str] = N_("Something went wrong. Please ask staff for help.")

    def __init__(self, detail: str = "", **params: Any) -> None:
        super().__init__(detail or self.message)
        self.detail = detail
        self.params = params

    def user_message(self, language: str) -> str:
        """Text for the screen: looked up by code, never str(exc)."""
        try:
            return translate(self.message, language, **self.params)
        except (KeyError, IndexError):
            return translate(self.message, language)

    def __str__(self) -> str:  # for logs and the CLI's one line
        base = self.message.format(**self.params) if self.params else self.message
        return f"[{self.code}] {base}" + (f" ({self.detail})" if self.detail and self.detail != self.message else "")


def all_error_classes() -> list[type[KioskError]]:
    """Every class in the tree, for the test that codes are unique and messages translated."""
    seen: list[type[KioskError]] = []
    stack: list[type[KioskError]] = [KioskError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen
