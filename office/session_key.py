"""The console's session-signing key, kept in the data dir's secrets.toml beside the site's other secrets.

Added once (random, 32 bytes) the first time the console starts on a data dir whose secrets.toml lacks it; the
file stays 0600. Two office servers with different keys do not accept each other's session cookies."""
from __future__ import annotations

import secrets
import tomllib
from pathlib import Path

from kiosk.settings import SECRETS_FILE, load_secrets

KEY_NAME = "office_session_key"


def session_key(data_dir: Path) -> str:
    load_secrets(data_dir)  # creates secrets.toml (0600) when it does not exist yet
    path = data_dir / SECRETS_FILE
    with open(path, "rb") as fh:
        value = str(tomllib.load(fh).get(KEY_NAME, ""))
    if len(value) >= 32:
        return value
    value = secrets.token_hex(32)
    ends_clean = path.read_bytes().endswith(b"\n")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("" if ends_clean else "\n")
        fh.write(f"# Signs the office web console's session cookies (docs/office.md).\n{KEY_NAME} = \"{value}\"\n")
    return value
