"""Changes made in Zoom reach the meeting only when they are about it and newer than what
it holds."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from meetbridge.core.models import EmailMessage, Meeting
from meetbridge.integrations.zoom.tables import ZoomConnection
from tests.meetings.test_meetings import BODY, _api, _wait
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv


def _account(env: ZoomEnv) -> str:
    with env.c.db.read() as s:
        account = s.scalar(
            select(ZoomConnection.zoom_account_id).where(ZoomConnection.status == "connected")
        )
    assert account
    return account


def _event(env: ZoomEnv, zoom_id: Any, **fields: Any) -> dict[str, Any]:
    obj = {"id": zoom_id, **fields} if zoom_id is not None else dict(fields)
    return {"account_id": _account(env), "operator": "maria@zoom-sandbox.test", "object": obj}


def test_a_late_meeting_updated_does_not_overwrite_a_newer_change(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    smtp.inbox.wait_for("guest@example.test", 1)
    now_ms = int(time.time() * 1000)
    newer = _event(env, m["zoom_meeting_id"], topic="Newer")
    older = _event(env, m["zoom_meeting_id"], topic="Older")
    assert env.c.meetings.on_zoom_updated(newer, event_ts=now_ms + 60_000) == "done"
    # Zoom redelivers the older event (5, 20, 60 minutes later): it changes nothing.
    assert env.c.meetings.on_zoom_updated(older, event_ts=now_ms + 30_000) == "ignored"
    got = api.get(f"/meetings/{m['id']}").json()
    assert got["title"] == "Newer" and got["sequence"] == 1
    smtp.inbox.wait_for("guest@example.test", 2)
    with env.c.db.read() as s:  # the invites queued: the first, and the newer change's
        sent = s.scalars(
            select(EmailMessage.dedupe_key).where(EmailMessage.to_addr == "guest@example.test")
        ).all()
    assert sorted(sent) == [
        f"invite:{m['id']}:0:REQUEST:guest@example.test",
        f"invite:{m['id']}:1:REQUEST:guest@example.test",
    ]


def test_an_echo_older_than_our_own_edit_is_not_applied(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    before_edit = int(time.time() * 1000) - 1
    assert api.patch(f"/meetings/{m['id']}", json={"title": "Ours"}).status_code == 202
    _wait(api, m["id"], "scheduled")
    # An event Zoom made before our edit (say, for a change in Zoom a moment earlier).
    stale = _event(env, m["zoom_meeting_id"], topic="Before ours")
    assert env.c.meetings.on_zoom_updated(stale, event_ts=before_edit) == "ignored"
    assert api.get(f"/meetings/{m['id']}").json()["title"] == "Ours"


def test_an_event_without_a_meeting_id_matches_nothing(
    env: ZoomEnv, held: list[tuple[Any, ...]]
) -> None:
    # A meeting whose create has not run yet has no Zoom id (NULL in its row).
    m = _api(env).post("/meetings", json=BODY).json()
    assert env.c.meetings.on_zoom_deleted(_event(env, None)) == "ignored"
    assert env.c.meetings.on_zoom_updated(_event(env, None, topic="Hijacked")) == "ignored"
    with env.c.db.read() as s:
        row = s.get(Meeting, m["id"])
        assert row is not None and row.status == "creating" and row.title == "Kick-off"


def test_an_event_from_another_zoom_account_does_not_touch_our_meeting(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    foreign = _event(env, m["zoom_meeting_id"], topic="Theirs") | {"account_id": "otherAcct"}
    assert env.c.meetings.on_zoom_updated(foreign) == "ignored"
    assert env.c.meetings.on_zoom_deleted(foreign) == "ignored"
    assert api.get(f"/meetings/{m['id']}").json()["status"] == "scheduled"
    ours = _event(env, m["zoom_meeting_id"], topic="Renamed")
    assert env.c.meetings.on_zoom_updated(ours) == "done"
    assert api.get(f"/meetings/{m['id']}").json()["title"] == "Renamed"
