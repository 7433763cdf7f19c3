"""SQLite writers take turns: threads of one process queue on a lock, processes on SQLite's
own lock, and nobody fails while another writes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from meetbridge.core.db import IDLE_PING_SECONDS, Database


def _table(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE n (v INTEGER)"))


def test_many_threads_write_without_errors(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    _table(db)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(25):
                with db.begin() as conn:
                    conn.execute(text("INSERT INTO n VALUES (1)"))
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM n")).scalar_one() == 400
    db.dispose()


def test_a_writer_waits_for_another_process_and_a_failed_write_frees_the_turn(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    one, other = Database(url), Database(url)  # two engines: as two processes would
    _table(one)
    took: list[float] = []

    def hold() -> None:
        with one.begin() as conn:
            conn.execute(text("INSERT INTO n VALUES (1)"))
            time.sleep(0.3)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.05)
    start = time.monotonic()
    with other.begin() as conn:
        conn.execute(text("INSERT INTO n VALUES (2)"))
    took.append(time.monotonic() - start)
    holder.join()
    assert 0.1 < took[0] < 5  # it waited for the other writer, then wrote
    # A transaction that fails gives the turn back: the next write goes through at once.
    with pytest.raises(OperationalError), one.begin() as conn:
        conn.execute(text("INSERT INTO missing VALUES (1)"))
    start = time.monotonic()
    with one.begin() as conn:
        conn.execute(text("INSERT INTO n VALUES (3)"))
    assert time.monotonic() - start < 1
    with one.connect() as conn:
        assert sorted(conn.execute(text("SELECT v FROM n")).scalars()) == [1, 2, 3]
    one.dispose()
    other.dispose()


def test_connections_the_server_closed_while_idle_are_replaced_before_use(
    pg_database: str,
) -> None:
    """What a PostgreSQL restart does to a process's pool: the server closes every connection
    in it. The next reads and writes still succeed, on new connections."""
    db = Database(pg_database)
    admin = Database(pg_database)
    try:
        with db.connect() as a, db.begin() as b:  # two connections in the pool
            pids = {c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in (a, b)}
        with admin.connect() as conn:
            for pid in pids:
                assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        time.sleep(IDLE_PING_SECONDS + 0.2)
        with db.connect() as a, db.begin() as b:
            now = {c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in (a, b)}
        assert len(now) == 2 and not now & pids
    finally:
        db.dispose()
        admin.dispose()
