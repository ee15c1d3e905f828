"""The audit key tests write with: a fixed estate key, bound to a test chain, and a secrets.toml that holds it
(so that `kiosk audit verify --data-dir D` checks rows the test wrote through the `factory` fixture)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kiosk.persistence.chain import ChainBinding
from kiosk.persistence.db import make_session_factory

TEST_AUDIT_KEY = bytes.fromhex("5e" * 32)
TEST_CHAIN = "K01"
BINDING = ChainBinding(TEST_AUDIT_KEY, TEST_CHAIN)


def bound_factory(engine: Engine, chain: str = TEST_CHAIN, key: bytes = TEST_AUDIT_KEY) -> sessionmaker[Session]:
    return make_session_factory(engine, chain=ChainBinding(key, chain))


def data_dir_factory(engine: Engine, data_dir: Path, chain: str = TEST_CHAIN) -> sessionmaker[Session]:
    """Sessions writing as a kiosk whose data directory is `data_dir` (its secrets.toml's audit key), e.g. beside
    `python -m kiosk ... --data-dir data_dir` commands on the same database."""
    from kiosk.settings import load_secrets

    return bound_factory(engine, chain, bytes.fromhex(load_secrets(data_dir).audit_key))


def write_secrets(data_dir: Path, key: bytes = TEST_AUDIT_KEY) -> Path:
    """A data directory whose secrets.toml holds the test audit key (the other secrets are generated)."""
    from kiosk.settings import SECRETS_FILE, load_secrets

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRETS_FILE
    if not path.exists():
        values = (("card_master_key", "11" * 16), ("card_mac_key", "22" * 32), ("gateway_secret", "33" * 32),
                  ("account_hash_key", "44" * 32), ("audit_key", key.hex()))
        path.write_text("".join(f'{k} = "{v}"\n' for k, v in values), encoding="utf-8")
        path.chmod(0o600)
    load_secrets(data_dir)
    return path
