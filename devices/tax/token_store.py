"""Where the provider's access token is kept between runs, so a restart does not spend one of its budget.

Nuonuo hands out an access token that lasts 24 h and at most 50 of them per 30 days: a kiosk that asked
for one at every start would run out. `FileTokenStore` keeps the current token, its expiry and the
times tokens were obtained (the budget's history) in one JSON file in the data directory (mode 0600:
the token is a credential), and serialises refreshes across processes with a lock file, so two
processes on one machine never both fetch one. Kiosks that share one provider account share one store
instead: kiosk.services.provider_tokens.DbTokenStore keeps it in the estate's database.
"""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kiosk.ports import AccessToken


class FileTokenStore:
    """A kiosk.ports.AccessTokenStore in one JSON file (see the module's doc)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> AccessToken | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return AccessToken(token=str(data["token"]), expires_at=float(data["expires_at"]),
                               obtained=tuple(float(t) for t in data.get("obtained", ())))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: treated as no token (a fresh one is fetched and written over it)

    def save(self, token: AccessToken) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"token": token.token, "expires_at": token.expires_at, "obtained": list(token.obtained)}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    @contextmanager
    def refreshing(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
