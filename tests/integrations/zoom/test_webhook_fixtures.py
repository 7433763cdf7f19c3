"""Zoom's own examples of its events (fixtures/, in the shape Zoom publishes, sources in
fixtures/README.md), each sent signed to meetbridge's endpoint as Zoom would, and what a person
then sees: the meeting's new title and time with the invitees' calendars told (SEQUENCE
raised), a cancel sent, the Zoom connection ended; or, for events meetbridge does not act on,
nothing changed.

The fixtures' ids are Zoom's examples: the test points them at this test's meeting, account
and Zoom user, and stamps `event_ts` now (a fixture's 2021 time would be older than the
meeting, and rightly ignored)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from sqlalchemy import select

from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.workflows.service import ZOOM_TRIGGERS
from meetbridge_sandbox.webhooks import sign
from tests.integrations.zoom.zoom_shapes import fixtures
from tests.meetings.test_meetings import BODY, _api, _ics, _wait
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

FIXTURES = fixtures()
GUEST = "guest@example.test"


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        e.connect(e.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        yield e


def _connection(env: ZoomEnv) -> ZoomConnection:
    with env.c.db.read() as s:
        conn = s.scalar(select(ZoomConnection).where(ZoomConnection.zoom_user_id.is_not(None)))
    assert conn is not None
    return conn


def _ours(name: str, env: ZoomEnv, zoom_id: int) -> dict[str, Any]:
    body = copy.deepcopy(FIXTURES[name])
    conn = _connection(env)
    payload = body["payload"]
    if body["event"] == "endpoint.url_validation":
        return body
    payload["account_id"] = conn.zoom_account_id
    if body["event"] == "app_deauthorized":
        payload["user_id"] = conn.zoom_user_id
        payload["event_ts"] = int(time.time() * 1000)
        return body
    for key in ("object", "old_object"):
        if key in payload:  # keep Zoom's type for the id: a string in started/ended
            was = payload[key]["id"]
            payload[key]["id"] = str(zoom_id) if isinstance(was, str) else zoom_id
    body["event_ts"] = int(time.time() * 1000)
    return body


def _send(env: ZoomEnv, body: dict[str, Any]) -> httpx.Response:
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    ts = str(int(time.time()))
    secret = env.c.settings.zoom_webhook_secret.get_secret_value()
    path = "/webhooks/zoom/deauthorize" if body["event"] == "app_deauthorized" else "/webhooks/zoom"
    return httpx.post(
        f"{env.product}{path}",
        content=raw.encode(),
        headers={
            "content-type": "application/json; charset=utf-8",
            "x-zm-request-timestamp": ts,
            "x-zm-signature": sign(secret, ts, raw),
            "user-agent": "Zoom Marketplace/1.0a",
        },
        timeout=15,
    )


def _sequence(mail: Any) -> tuple[str, int]:
    cal = icalendar.Calendar.from_ical(_ics(mail))
    return str(cal["METHOD"]), int(cal.walk("VEVENT")[0]["SEQUENCE"])


def _scheduled(env: ZoomEnv, smtp: SmtpServer) -> tuple[httpx.Client, dict[str, Any]]:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    smtp.inbox.wait_for(GUEST, 1)
    return api, m


def _until(check: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := check()):
        assert time.monotonic() < deadline, "not within time"
        time.sleep(0.1)
    return got


# (fixture, what meetbridge shows afterwards)
UPDATES = [
    ("meeting.updated__topic_and_start_time", {"title": "Quarterly planning"}, True),
    ("meeting.updated__duration", {"duration_min": 90}, True),
    ("meeting.updated__settings_only", {}, False),  # nothing meetbridge keeps changed
]


@pytest.mark.parametrize(("name", "shown", "told"), UPDATES)
def test_meeting_updated(
    env: ZoomEnv, smtp: SmtpServer, name: str, shown: dict[str, Any], told: bool
) -> None:
    api, m = _scheduled(env, smtp)
    r = _send(env, _ours(name, env, m["zoom_meeting_id"]))
    assert r.status_code == 200 and r.json()["status"] == "received", r.text
    want = 1 if told else 0
    got = _until(lambda: (x := api.get(f"/meetings/{m['id']}").json())["sequence"] == want and x)
    for key, value in shown.items():
        assert got[key] == value
    obj = FIXTURES[name]["payload"]["object"]
    if "start_time" in obj:  # Zoom's UTC date string, shown in the meeting's own zone
        start = dt.datetime.fromisoformat(got["start_at"]).astimezone(dt.UTC)
        assert start == dt.datetime.fromisoformat(obj["start_time"])
        assert got["timezone"] == "Europe/Paris"
    if told:
        mails = smtp.inbox.wait_for(GUEST, 2)
        assert _sequence(mails[1]) == ("REQUEST", 1)
    else:
        time.sleep(0.5)
        assert len(smtp.inbox.to(GUEST)) == 1 and got["title"] == BODY["title"]


def test_meeting_deleted_in_zoom_cancels_it_for_the_invitees(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    api, m = _scheduled(env, smtp)
    r = _send(env, _ours("meeting.deleted__by_host", env, m["zoom_meeting_id"]))
    assert r.status_code == 200 and r.json()["status"] == "received", r.text
    _wait(api, m["id"], "deleted_in_zoom")
    mails = smtp.inbox.wait_for(GUEST, 2)
    assert _sequence(mails[1]) == ("CANCEL", 1)


OTHERS = [
    name
    for name in FIXTURES
    if name.split("__")[0]
    not in ("meeting.updated", "meeting.deleted", "app_deauthorized", "endpoint.url_validation")
]


@pytest.mark.parametrize("name", OTHERS)
def test_events_meetbridge_does_not_act_on_change_nothing(
    env: ZoomEnv, smtp: SmtpServer, name: str
) -> None:
    """meeting.created/started/ended, recording.completed, the registration events: accepted
    (Zoom sees a 200 and does not retry) and nothing the person sees changes. Those a workflow
    can start on are kept for the workflows (which here have none); the rest are dropped."""
    api, m = _scheduled(env, smtp)
    r = _send(env, _ours(name, env, m["zoom_meeting_id"]))
    kept = "received" if name.split("__")[0] in ZOOM_TRIGGERS else "ignored"
    assert r.status_code == 200 and r.json()["status"] == kept, r.text
    after = api.get(f"/meetings/{m['id']}").json()
    assert {k: after[k] for k in ("title", "start_at", "sequence", "status")} == {
        k: m[k] for k in ("title", "start_at", "sequence", "status")
    }
    assert len(smtp.inbox.to(GUEST)) == 1


@pytest.mark.parametrize("name", ["app_deauthorized__removed", "app_deauthorized__keep_data"])
def test_app_removed_in_zoom_ends_the_connection(env: ZoomEnv, smtp: SmtpServer, name: str) -> None:
    api, m = _scheduled(env, smtp)
    r = _send(env, _ours(name, env, m["zoom_meeting_id"]))
    assert r.status_code == 200 and r.json()["status"] == "received", r.text
    with env.c.db.read() as s:
        conn = _until(
            lambda: s.scalar(select(ZoomConnection).where(ZoomConnection.status == "ended"))
        )
    assert conn.end_reason == "removed_in_zoom"

    def told() -> bool:
        return any(
            "removed from your Zoom account" in str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
            for mail in smtp.inbox.to("ann@acme.test")
        )

    _until(told)
    page = env.signed_in("ann@acme.test").get("/integrations/zoom").text
    assert "meetbridge was removed from your Zoom account" in page and "Connect Zoom" in page
    if name.endswith("keep_data"):  # user_data_retention "true": Zoom's data may stay
        assert api.get(f"/meetings/{m['id']}").json()["join_url"] == m["join_url"]


def test_url_validation_challenge_is_answered(env: ZoomEnv) -> None:
    body = _ours("endpoint.url_validation__challenge", env, 0)
    r = _send(env, body)
    plain = FIXTURES["endpoint.url_validation__challenge"]["payload"]["plainToken"]
    secret = env.c.settings.zoom_webhook_secret.get_secret_value()
    mac = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
    assert r.status_code == 200 and r.json() == {"plainToken": plain, "encryptedToken": mac}
