"""`DbTokenStore`: an outside provider's access token kept in the estate's database, shared by its kiosks.

The tax provider gives out 50 access tokens per 30 days and each lasts 24 h: one kiosk alone spends
about 30 a month, so kiosks that kept a token each would run the account dry. With this store every
kiosk reads the one current token; the kiosk that finds it close to expiry takes a short lease on the
row (a compare-and-set UPDATE, no transaction held across the network call), fetches the next token
and writes it; the others wait for the lease and then read the new token. Implements
kiosk.ports.AccessTokenStore.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import StorageError
from kiosk.persistence.db import insert_ignoring_conflict, unit_of_work
from kiosk.persistence.models import ProviderToken
from kiosk.ports import AccessToken

LEASE_S = 30.0  # a fetch that takes longer loses its lease to the next kiosk


class DbTokenStore:
    """The access token of provider account `provider` in table provider_tokens."""

    def __init__(self, factory: sessionmaker[Session], provider: str, *, lease_s: float = LEASE_S,
                 poll_s: float = 0.2, clock: Callable[[], float] = time.time) -> None:
        self._factory = factory
        self.provider = provider
        self.lease_s = lease_s
        self.poll_s = poll_s
        self._clock = clock

    def load(self) -> AccessToken | None:
        with unit_of_work(self._factory) as session:
            row = session.scalar(select(ProviderToken).where(ProviderToken.provider == self.provider))
            if row is None or not row.token or row.expires_at is None:
                return None
            return AccessToken(row.token, row.expires_at.timestamp(), _times(row.obtained))

    def save(self, token: AccessToken) -> None:
        with unit_of_work(self._factory) as session:
            self._ensure_row(session)
            session.execute(update(ProviderToken).where(ProviderToken.provider == self.provider).values(
                token=token.token, expires_at=_at(token.expires_at), obtained=json.dumps(list(token.obtained))))

    @contextmanager
    def refreshing(self) -> Iterator[None]:
        """Hold the row's lease while the next token is fetched; waits while another kiosk holds it."""
        deadline = self._clock() + self.lease_s + 5
        while not self._take_lease():
            if self._clock() > deadline:
                raise StorageError(f"the {self.provider} token lease was not released")
            time.sleep(self.poll_s)
        try:
            yield
        finally:
            with unit_of_work(self._factory) as session:
                session.execute(update(ProviderToken).where(ProviderToken.provider == self.provider)
                                .values(lease_until=None))

    def _take_lease(self) -> bool:
        now = self._clock()
        with unit_of_work(self._factory) as session:
            self._ensure_row(session)
            taken = session.execute(
                update(ProviderToken)
                .where(ProviderToken.provider == self.provider,
                       or_(ProviderToken.lease_until.is_(None), ProviderToken.lease_until < _at(now)))
                .values(lease_until=_at(now + self.lease_s)))
            return taken.rowcount == 1  # type: ignore[attr-defined]

    def _ensure_row(self, session: Session) -> None:
        insert_ignoring_conflict(session, ProviderToken, provider=self.provider, token="", obtained="[]")


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _times(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in json.loads(text or "[]"))
    except (ValueError, TypeError):
        return ()


