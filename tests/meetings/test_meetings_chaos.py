"""Never lose, never duplicate: 300 meetings scheduled while Zoom (the sandbox) answers 20 % of
requests with 5xx, lets 10 % time out and loses the response of 5 % after doing the work. Once
the reconciler settles, exactly 300 meetings exist at Zoom, each linked to its record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from meetbridge.core.db import utcnow
from meetbridge.core.models import Meeting
from meetbridge.meetings.inputs import MeetingInput
from tests.conftest import ORIGIN, PASSWORD
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

HOSTS = {  # six Zoom hosts, 50 meetings each: well inside Zoom's 100 creates a day per host
    "ann@acme.test": "maria@zoom-sandbox.test",
    "bob@acme.test": "sam@zoom-sandbox.test",
    "cy@acme.test": "dana@zoom-sandbox.test",
    "di@acme.test": "priya@zoom-sandbox.test",
    "ed@acme.test": "li@zoom-sandbox.test",
    "flo@acme.test": "basil@zoom-sandbox.test",
}
TOTAL = 300
# 20 % 5xx, 10 % timeouts, 5 % lost responses on every meeting create.
CHAOS = {
    "path": "/v2/users/*/meetings",
    "method": "POST",
    "error_rate": 0.20,
    "timeout_rate": 0.10,
    "lost_response_rate": 0.05,
    "hang_seconds": 1.0,
}


def connect_hosts(env: ZoomEnv) -> None:
    """Six meetbridge members, each with their own Zoom user connected."""
    owner = env.user("owner@acme.test")
    for email in list(HOSTS)[2:]:
        env.c.accounts.create_member(
            owner,
            email=email,
            name=email.split("@")[0],
            role="member",
            password=PASSWORD,
            origin=ORIGIN,
        )
    for email, zoom_user in HOSTS.items():
        page = env.connect(env.signed_in(email), zoom_user)
        assert "Zoom is connected" in page.text, email


@pytest.mark.slow
def test_300_meetings_through_faults(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    with zoom_env(
        tmp_path, database_url, smtp, zoom_timeout=0.6, zoom_retries=2, zoom_qps_multiplier=1
    ) as env:
        connect_hosts(env)
        env.control("POST", "/faults", json={"seed": 42, "rules": [CHAOS]})
        start = utcnow() + dt.timedelta(days=3)
        hosts = [env.user(e) for e in HOSTS]
        for i in range(TOTAL):
            env.c.meetings.schedule(
                hosts[i % len(hosts)],
                MeetingInput(
                    title=f"Chaos {i:03d}",
                    start=start + dt.timedelta(minutes=30 * i),
                    timezone="UTC",
                    duration=30,
                ),
                ORIGIN,
            )
        env.control("DELETE", "/faults")  # Zoom recovers; the reconciler settles the rest
        for _ in range(30):
            with env.c.db.write() as s:  # the back-off has passed (as time would)
                s.execute(
                    update(Meeting)
                    .where(Meeting.status == "creating")
                    .values(next_attempt_at=utcnow() - dt.timedelta(minutes=1))
                )
            if env.c.meetings.reconcile()["requeued"] == 0:
                break
        with env.c.db.read() as s:
            rows = s.scalars(select(Meeting)).all()
            statuses = dict(
                s.execute(select(Meeting.status, func.count()).group_by(Meeting.status)).all()
            )
        assert statuses == {"scheduled": TOTAL}, statuses
        at_zoom = env.control("GET", "/meetings")
        assert len(at_zoom) == TOTAL, "duplicates or losses at Zoom"
        assert {m["id"] for m in at_zoom} == {r.zoom_meeting_id for r in rows}
        by_id = {m["id"]: m for m in at_zoom}
        assert all(by_id[r.zoom_meeting_id]["topic"] == r.title for r in rows)
        assert len({m["topic"] for m in at_zoom}) == TOTAL
        # The faults did bite: many meetings needed more than one attempt.
        assert sum(r.attempts > 1 for r in rows) >= 50
