"""Retention: finished rows older than the period go; work still due and recent rows stay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from meetbridge.container import build_container
from meetbridge.core.clock import ManualClock
from meetbridge.core.db import utcnow
from meetbridge.core.models import EmailMessage, LoginAttempt
from tests.conftest import make_settings
from tests.support import SmtpServer


def _mail(key: str, status: str, created: dt.datetime) -> EmailMessage:
    return EmailMessage(
        dedupe_key=key,
        to_addr="x@example.test",
        subject="s",
        body_text="b",
        status=status,
        created_at=created,
        next_attempt_at=created,
    )


def test_old_finished_rows_are_pruned_and_pending_work_is_kept(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    clock = ManualClock(utcnow() + dt.timedelta(days=100))
    c = build_container(make_settings(tmp_path, database_url, smtp, retention_days=90), clock=clock)
    old, recent = utcnow(), utcnow() + dt.timedelta(days=50)
    with c.db.write() as s:
        s.add_all(
            [
                _mail("old-sent", "sent", old),
                _mail("old-failed", "failed", old),
                _mail("old-pending", "pending", old),  # still work: never pruned
                _mail("recent-sent", "sent", recent),
                LoginAttempt(email="a@x.test", ip="1.2.3.4", success=False, created_at=old),
                LoginAttempt(email="a@x.test", ip="1.2.3.4", success=True, created_at=recent),
            ]
        )
    counts = c.retention.prune(batch=1)  # batches of one: the loop is exercised
    assert counts["email_messages"] == 2 and counts["login_attempts"] == 1
    with c.db.read() as s:
        left = set(s.scalars(select(EmailMessage.dedupe_key)).all())
        assert left == {"old-pending", "recent-sent"}
        assert len(s.scalars(select(LoginAttempt.id)).all()) == 1
    again = c.retention.prune()
    assert {"email_messages", "login_attempts", "workflow_runs"} <= again.keys()
    assert set(again.values()) == {0}
    c.close()
