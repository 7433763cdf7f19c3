"""A meeting in progress (started, not ended) is edited from its page: the form sends only
what changed, so its start, now in the past, is not refused."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from meetbridge.core.models import Meeting
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, csrf, zoom_env


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        yield e


def _fields(html: str) -> dict[str, str]:
    edit = html.split('id="meeting-edit"')[1].split("</form>")[0]
    out = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', edit))
    out["agenda"] = re.search(r"<textarea[^>]*>([^<]*)</textarea>", edit).group(1)  # type: ignore[union-attr]
    return out


def test_a_meeting_in_progress_can_be_renamed_and_lengthened(env: ZoomEnv) -> None:
    web = env.signed_in("ann@acme.test")
    env.connect(web, "sam@zoom-sandbox.test")
    day = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    r = web.post(
        "/meetings/new",
        data={
            "csrf_token": csrf(web.get("/meetings/new").text),
            "title": "Stand-up",
            "date": day,
            "time": "09:00",
            "timezone": "Europe/Paris",
            "duration": "30",
        },
    )
    assert r.status_code == 303, r.text
    detail = r.headers["location"]
    started = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)
    with env.c.db.write() as s:  # time has passed: the meeting began ten minutes ago
        s.execute(
            update(Meeting).where(Meeting.id == detail.rsplit("/", 1)[1]).values(start_at=started)
        )

    form = _fields(web.get(detail).text)
    r = web.post(detail, data={**form, "title": "Stand-up (running long)", "duration": "60"})
    assert r.status_code == 303, r.text  # was: 422 "start: must be in the future"
    page = web.get(detail).text
    assert "Stand-up (running long)" in page and 'value="60"' in page
    with env.c.db.read() as s:
        m = s.get(Meeting, detail.rsplit("/", 1)[1])
        assert m is not None and m.start_at == started and m.duration_min == 60

    moved = {**_fields(page), "date": "2001-01-01"}  # a start moved into the past still is refused
    r = web.post(detail, data=moved)
    assert r.status_code == 422 and "past" in r.text
