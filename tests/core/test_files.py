"""What meetbridge writes to disk is readable by its own user only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from meetbridge.container import build_container
from meetbridge.core.migrate import upgrade
from meetbridge.core.settings import Settings
from meetbridge.notify.email import Outgoing


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_data_folder_and_its_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: files would be 0644 by default
    try:
        data = tmp_path / "var"
        settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
        upgrade(settings.effective_database_url)
        c = build_container(settings)
        with c.db.write() as s:  # the -wal file appears with the first write
            s.execute(text("CREATE TABLE t (x int)"))
        c.mailer.send(Outgoing(to="x@example.test", subject="s", text="t"))
        c.jobs.ping()
        c.close()
    finally:
        os.umask(old)
    assert _mode(data) == 0o700
    assert _mode(data / "outbox") == 0o700
    [eml] = list((data / "outbox").glob("*.eml"))
    files = [data / "meetbridge.db", data / "jobs.db", eml]
    files += list(data.glob("meetbridge.db-*"))
    for path in files:
        assert _mode(path) == 0o600, path
