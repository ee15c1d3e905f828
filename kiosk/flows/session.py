"""The visitor's session: language, who is identified, staff, accessibility modes; `wipe()` forgets it all."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from kiosk.flows.records import Identity, StaffView
from kiosk.i18n import DEFAULT_LANGUAGE, LANGUAGES


@dataclass
class Session:
    """Mutable, owned by the UI thread. Nothing personal survives `wipe()`."""

    default_language: str = DEFAULT_LANGUAGE
    language: str = DEFAULT_LANGUAGE
    identity: Identity | None = None
    staff: StaffView | None = None
    large_text: bool = False
    high_contrast: bool = False
    default_large_text: bool = False  # the site's configured modes, restored by wipe()
    default_high_contrast: bool = False
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    generation: int = 0  # bumps on every wipe, so late results of an old session are dropped

    def set_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}")
        self.language = language

    def new_key(self, purpose: str) -> str:
        """An idempotency key for one money movement in this session."""
        return f"{self.session_id}:{purpose}:{uuid.uuid4().hex[:12]}"

    def wipe(self) -> None:
        self.language = self.default_language
        self.identity = None
        self.staff = None
        self.large_text = self.default_large_text
        self.high_contrast = self.default_high_contrast
        self.session_id = uuid.uuid4().hex
        self.generation += 1

    @property
    def customised(self) -> bool:
        """True when the visitor changed something the next visitor should not inherit."""
        return (self.language != self.default_language or self.large_text != self.default_large_text
                or self.high_contrast != self.default_high_contrast)

    @property
    def tier(self) -> str | None:
        return self.identity.tier if self.identity else None
