"""Invitations are capped per meeting (however many calls add them) and per organisation a
day, with a clear 4xx that says which limit; nothing is written or sent past one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meetbridge.core.models import EmailMessage, MeetingInvitee
from tests.meetings.test_meetings import BODY, _api, _wait
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp, invitees_per_meeting=5, invitations_per_day=8) as e:
        e.connect(e.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        yield e


def _people(n: int, start: int = 0) -> list[str]:
    return [f"p{i}@example.test" for i in range(start, start + n)]


def _invitees(env: ZoomEnv) -> int:
    with env.c.db.read() as s:
        return s.scalar(select(func.count()).select_from(MeetingInvitee)) or 0


def test_a_meeting_has_at_most_so_many_people_however_they_are_added(env: ZoomEnv) -> None:
    api = _api(env)
    too_many = api.post("/meetings", json=BODY | {"invitees": _people(6)})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["fields"][0]["field"] == "invitees"
    assert "at most 5" in too_many.json()["error"]["message"]

    m = api.post("/meetings", json=BODY | {"invitees": _people(3)}).json()
    _wait(api, m["id"], "scheduled")
    r = api.post(f"/meetings/{m['id']}/invitees", json={"emails": _people(3, start=3)})
    assert r.status_code == 422, r.text
    assert "this one has 3, so 2 more at most" in r.json()["error"]["fields"][0]["reason"]
    assert _invitees(env) == 3  # nothing half-added
    ok = api.post(f"/meetings/{m['id']}/invitees", json={"emails": _people(2, start=3)})
    assert ok.status_code == 204


def test_an_organisation_invites_so_many_people_a_day(env: ZoomEnv) -> None:
    api = _api(env)
    for start in (0, 4):
        assert api.post("/meetings", json=BODY | {"invitees": _people(4, start)}).status_code == 202
    with env.c.db.read() as s:
        queued_before = s.scalar(select(func.count()).select_from(EmailMessage))
    over = api.post("/meetings", json=BODY | {"invitees": _people(1, 8)})
    assert over.status_code == 429, over.text
    assert "invited 8 people in the last 24 hours" in over.json()["error"]["message"]
    assert int(over.headers["retry-after"]) > 0
    with env.c.db.read() as s:
        assert s.scalar(select(func.count()).select_from(EmailMessage)) == queued_before
    # A meeting without invitees is not held up.
    assert api.post("/meetings", json=BODY | {"invitees": []}).status_code == 202
