"""Database access: one `Database` per process, built from settings.

SQLite gets WAL, a busy timeout and foreign keys; writers take `BEGIN IMMEDIATE` so two writers
queue on the lock instead of failing on upgrade. All datetimes are stored as UTC and come back
aware (`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as UTC; returns aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (SQLAlchemy would otherwise pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Base(DeclarativeBase):
    pass


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN, so we choose DEFERRED or IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Engines and sessions. `read()` for queries, `write()` for a transaction that commits."""

    def __init__(self, url: str) -> None:
        url = normalize_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            # Several processes share one server's connection slots (PostgreSQL allows 100 by
            # default): at most 15 per process, kept open (a new connection costs the server a
            # process); a busy process waits for a free one. No ping per checkout: a
            # connection found dead fails its statement once and SQLAlchemy then replaces
            # every connection of that age (a server restart costs one failed request).
            self.write_engine = create_engine(
                url, pool_size=15, max_overflow=0, pool_timeout=60, pool_recycle=3600
            )
            # Reads run in autocommit: no BEGIN / ROLLBACK round trips. Each statement sees
            # what is committed when it starts, as in a READ COMMITTED transaction.
            self.engine = self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def single(self) -> Iterator[Session]:
        """For one statement that writes (atomic by itself, e.g. UPDATE ... RETURNING). On
        PostgreSQL it runs in autocommit: no BEGIN / COMMIT round trips. SQLite's
        transactions cost no round trip: there it is an ordinary write transaction."""
        if self.is_sqlite:
            with self.write() as session:
                yield session
        else:
            with self._read() as session:
                yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: commits when the block ends, rolls back on any exception."""
        with self._write() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        self.write_engine.dispose()
