"""Database access: one `Database` per process, built from settings.

SQLite gets WAL, a busy timeout and foreign keys; writers take `BEGIN IMMEDIATE` so two writers
queue on the lock instead of failing on upgrade. All datetimes are stored as UTC and come back
aware (`UTCDateTime`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import ColumnElement, Connection, DateTime, Engine, create_engine, event, func, text
from sqlalchemy.exc import DisconnectionError
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


BUSY_SECONDS = 30  # how long an SQLite writer waits for its turn before giving up


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_SECONDS}, pool_size=20
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN, so we choose DEFERRED or IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    if not immediate:

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine

    # Writers: SQLite lets one write at a time. The threads of this process queue for that on
    # a lock of their own (no CPU spent waiting); the one at the front takes SQLite's lock,
    # which only another process can be holding.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin_write(conn: Any) -> None:
        if not writer.acquire(timeout=BUSY_SECONDS):
            raise sqlite3.OperationalError("database is locked")
        try:
            _begin_immediate(conn.connection.dbapi_connection)
        except BaseException:
            writer.release()
            raise
        conn.info["writer"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end_write(conn: Any) -> None:
        if conn.info.pop("writer", False):
            writer.release()

    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    def _on_gone(_dbapi_conn: Any, record: Any, *_: Any) -> None:
        # A connection that leaves the transaction any other way never keeps the turn.
        if record.info.pop("writer", False):
            writer.release()

    return engine


def _begin_immediate(raw: Any, deadline: float = BUSY_SECONDS) -> None:
    """Takes SQLite's write lock, trying again every fraction of a millisecond while another
    writer holds it. (SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between
    tries: under many short writers that turns a sub-millisecond wait into tens.)"""
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        give_up = time.monotonic() + deadline
        pause = 0.0002
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > give_up:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.002)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")


IDLE_PING_SECONDS = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """A connection that sat in the pool for over a second is pinged before use, and replaced
    if the server has closed it (a restart, a failover, an idle timeout), so the request that
    takes it does not fail. A connection in steady use is not pinged: a round trip per
    checkout would cost the hot paths more than it saves."""

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since <= IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except engine.dialect.loaded_dbapi.Error as e:
            raise DisconnectionError(f"closed while idle: {e}") from e


# Set to 1 (the tests do) to make a write begun on the event loop raise `WriteOnEventLoop`.
REFUSE_LOOP_WRITES_ENV = "MEETBRIDGE_REFUSE_LOOP_WRITES"


class WriteOnEventLoop(RuntimeError):
    """A write began in a thread that runs an asyncio event loop (an `async def` endpoint or
    dependency). It may wait for the database's write lock (SQLite has one for the whole file;
    PostgreSQL row locks), and while it waits no other request of the process is served: a
    /healthz sent 50 ms into a 2 s lock was answered after 1.97 s. Write from a plain `def`
    endpoint, or hop to the thread pool first."""


# True while a request is served (set by the ASGI middleware, web/http.py): the guard refuses
# a write only there. A loop that runs in a thread for other reasons — Playwright's sync API
# keeps one in the test's own thread — is not the server's, and its writes stall no request.
SERVING_REQUEST: ContextVar[bool] = ContextVar("meetbridge_serving_request", default=False)


def _refuse_on_event_loop() -> None:
    if not SERVING_REQUEST.get():
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # serving, but in the thread pool (the context is copied there): fine
    raise WriteOnEventLoop("a database write on the event loop; write from a thread")


class Database:
    """Engines and sessions. `read()` for queries, `write()` for a transaction that commits;
    `connect()`, `begin()` and `single()` give Core connections for the hot paths.

    With `refuse_loop_writes` (default: the environment's `MEETBRIDGE_REFUSE_LOOP_WRITES=1`,
    read once here), `write()`, `begin()` and `single()` raise `WriteOnEventLoop` when entered
    on a thread that runs the event loop of a request being served (`SERVING_REQUEST`): the
    tests turn it on, production leaves it off."""

    def __init__(self, url: str, *, refuse_loop_writes: bool | None = None) -> None:
        if refuse_loop_writes is None:
            refuse_loop_writes = os.environ.get(REFUSE_LOOP_WRITES_ENV) == "1"
        self.refuse_loop_writes = refuse_loop_writes
        url = normalize_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            # Several processes share one server's connection slots (PostgreSQL allows 100 by
            # default): at most 15 per process, kept open (a new connection costs the server a
            # process); a busy process waits for a free one. The connection used last is
            # handed out first: its server process is the one awake. Pinged only after it sat
            # idle (`_ping_after_idle`).
            self.write_engine = create_engine(
                url,
                pool_size=15,
                max_overflow=0,
                pool_timeout=60,
                pool_recycle=3600,
                pool_use_lifo=True,
            )
            # Reads run in autocommit: no BEGIN / ROLLBACK round trips. Each statement sees
            # what is committed when it starts, as in a READ COMMITTED transaction.
            self.engine = self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
            _ping_after_idle(self.write_engine)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    # Core connections, no ORM unit of work: for the hot paths (an API request, a job's claim
    # and outcome), where the ORM's per-statement bookkeeping costs more than the statement.

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """Reads (autocommit on PostgreSQL)."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: commits when the block ends, rolls back on any exception."""
        if self.refuse_loop_writes:
            _refuse_on_event_loop()
        with self.write_engine.begin() as conn:
            yield conn

    @contextmanager
    def single(self) -> Iterator[Connection]:
        """For one statement that writes (atomic by itself, e.g. UPDATE ... RETURNING). On
        PostgreSQL it runs in autocommit: no BEGIN / COMMIT round trips. SQLite's
        transactions cost no round trip: there it is an ordinary write transaction."""
        if self.refuse_loop_writes:
            _refuse_on_event_loop()
        with self.begin() if self.is_sqlite else self.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: commits when the block ends, rolls back on any exception."""
        if self.refuse_loop_writes:
            _refuse_on_event_loop()
        with self._write() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        self.write_engine.dispose()


# Counting a set of rows' join links without reading the rows (the calendar feed's ETag).


def all_links(db: Database, column: Any) -> ColumnElement[str]:
    """The group's join links in one text, in no order (`links_sum` reads it)."""
    if db.is_sqlite:
        return func.group_concat(column, " ")
    return func.string_agg(column, " ")


def links_sum(joined: Any) -> int:
    """A checksum of the join links `all_links` gives, whatever their order: a link that
    changes moves it even when the row holding it was not stamped (the engine keeps a link
    Zoom gave on a row a person changed meanwhile). CRC-32, not `hash()`: the same in every
    process."""
    return sum(zlib.crc32(link.encode()) for link in (joined or "").split(" ") if link)
