"""Fixtures: every test that touches the database runs on SQLite, and again on PostgreSQL
when MEETBRIDGE_TEST_POSTGRES_URL is set. Each test gets an empty, migrated database. Every
test runs with writes on the event loop refused (`Database.refuse_loop_writes`): an `async def`
endpoint, page or dependency that writes fails its test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from meetbridge.app import create_app
from meetbridge.container import Container, build_container
from meetbridge.core.audit import Origin
from meetbridge.core.db import REFUSE_LOOP_WRITES_ENV, Base, normalize_url
from meetbridge.core.migrate import upgrade
from meetbridge.core.models import User
from meetbridge.core.settings import Settings
from tests.support import SmtpServer, xdist_worker

PG_URL = os.environ.get("MEETBRIDGE_TEST_POSTGRES_URL")


def _redis_per_worker() -> None:
    """Parallel test workers each get a Redis database of their own (15, 14, …): the job queue's
    name is fixed, and one worker's queued jobs must not reach another's processes. Set here,
    before the test modules read the variable."""
    url = os.environ.get("MEETBRIDGE_TEST_REDIS_URL")
    worker, _ = xdist_worker()
    if url and worker:
        base, _, db = url.rpartition("/")
        if not db.isdigit():
            base, db = url.rstrip("/"), "15"
        os.environ["MEETBRIDGE_TEST_REDIS_URL"] = f"{base}/{int(db) - worker}"


_redis_per_worker()
PASSWORD = "correct-horse-battery"
ORIGIN = Origin(ip="127.0.0.1", via="test")


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _empty_inbox(smtp: SmtpServer) -> None:
    smtp.inbox.clear()


@pytest.fixture(autouse=True)
def _refuse_writes_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REFUSE_LOOP_WRITES_ENV, "1")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own for this test session, migrated once, dropped at the end."""
    if not PG_URL:
        pytest.skip("MEETBRIDGE_TEST_POSTGRES_URL is not set")
    name = f"mb_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(PG_URL).rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "meetbridge.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def make_settings(tmp_path: Path, database_url: str, smtp: SmtpServer, **over: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "database_url": database_url,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "base_url": "http://testserver",
        "log_json": True,
        **over,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Settings:
    return make_settings(tmp_path, database_url, smtp)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    c = build_container(settings, immediate_jobs=True)
    yield c
    c.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as tc:
        yield tc


@dataclass
class Org:
    owner: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_org(c: Container, name: str, email: str) -> Org:
    _org, owner = c.orgs.create_organization(
        name=name,
        owner_email=email,
        owner_name=f"Owner of {name}",
        owner_password=PASSWORD,
        origin=ORIGIN,
    )
    token = c.api_tokens.create_api_token(owner, name="tests", origin=ORIGIN).secret
    return Org(owner, token)


@pytest.fixture
def acme(container: Container) -> Org:
    return make_org(container, "Acme", "owner@acme.test")


@pytest.fixture
def globex(container: Container) -> Org:
    return make_org(container, "Globex", "owner@globex.test")
