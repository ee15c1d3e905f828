"""The office console on a real database (the demo estate seeded), staff users with web passwords, Flask's test
client speaking HTTP to the real application (no server needed for the request-level tests)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk import bootstrap, settings as settings_mod
from kiosk.persistence.db import unit_of_work
from kiosk.services import staff, web_passwords
from kiosk.services.receipts import Till
from tests.support.demo_site import seeded_site

PASSWORDS = {"王芳": "admin-secret-1", "李强": "staff-secret-1", "赵工": "tech-secret-1"}
ROLES = {"王芳": "admin", "李强": "staff", "赵工": "technician"}


@dataclass
class Console:
    app: Flask
    settings: settings_mod.Settings
    db: bootstrap.Database
    till: Till
    report: Any

    def client(self, language: str = "en") -> FlaskClient:
        client = self.app.test_client()
        client.get(f"/sign-in?lang={language}")  # the session remembers the language
        return client

    def signed_in(self, name: str) -> FlaskClient:
        client = self.client()
        page = client.get("/sign-in")
        resp = client.post("/sign-in", data={"name": name, "password": PASSWORDS[name], "csrf_token": token(page)})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client


def token(resp: Any) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', resp.get_data(as_text=True))
    assert found, "no CSRF field on the page"
    return found.group(1)


def add_staff(factory: Any) -> None:
    with unit_of_work(factory) as s:
        for name, role in ROLES.items():
            staff.add_staff(s, name=name, role=role, pin="246813", actor="test")
            web_passwords.set_web_password(s, name=name, password=PASSWORDS[name], actor="test")


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """The demo estate with the staff users seeded once into an SQLite file; each test gets a copy of it."""
    from kiosk.persistence.db import make_engine
    from tests.support.chain_key import bound_factory
    from tests.support.databases import sqlite_database

    root = tmp_path_factory.mktemp("office-template")
    with sqlite_database(root) as url:
        engine = make_engine(url)
        factory = bound_factory(engine)
        _settings, _db, _till, report = seeded_site(engine, factory, url, root / "data", households=3)
        add_staff(factory)
        engine.dispose()
    yield root, report


@pytest.fixture
def console(tmp_path: Path, seeded_template: tuple[Path, Any]) -> Iterator[Console]:
    import shutil

    from kiosk.persistence.db import make_engine
    from office.app import create_app
    from tests.support.chain_key import bound_factory

    root, report = seeded_template
    shutil.copy(root / "kiosk.sqlite3", tmp_path / "kiosk.sqlite3")
    shutil.copytree(root / "data", tmp_path / "data")
    url = f"sqlite:///{tmp_path / 'kiosk.sqlite3'}"
    engine = make_engine(url)
    factory = bound_factory(engine)
    settings = settings_mod.load(tmp_path / "data", db_url=url)
    db = bootstrap.Database(engine, factory, url)
    till = bootstrap.ensure_till(db, settings)
    yield Console(create_app(settings, db), settings, db, till, report)
    engine.dispose()
