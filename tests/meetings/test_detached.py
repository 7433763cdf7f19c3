"""Meetings outlive their host's Zoom connection (issue 14.3), against the live sandbox: a
disconnect (revoke → Zoom's app_deauthorized with user_data_retention false) keeps every
meeting with its Zoom id and join link, marked as having no Zoom; edits are refused with a
clear message and cancels end at once, telling the invitees and what remains in Zoom; the same
Zoom user connecting again gets its meetings back, looked up at Zoom."""

from __future__ import annotations

import time
from typing import Any

import httpx
import icalendar
import pytest
from sqlalchemy import select

from meetbridge.core.models import Meeting
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.meetings.lifecycle import WORK_TASK
from tests.meetings.test_meetings import BODY, _api, _ics, _wait
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, csrf

MARIA = "maria@zoom-sandbox.test"


def _disconnect(env: ZoomEnv, browser: httpx.Client) -> None:
    """Disconnect on the page, then let Zoom's app_deauthorized (retention false) arrive."""
    confirm = browser.get("/integrations/zoom/disconnect")
    assert "Meetings already created stay" in confirm.text
    browser.post("/integrations/zoom/disconnect", data={"csrf_token": csrf(confirm.text)})
    env.control("POST", "/webhooks/flush")
    deadline = time.monotonic() + 10
    while True:
        with env.c.db.read() as s:
            if all(c.zoom_email is None for c in s.scalars(select(ZoomConnection))):
                return  # every connection ended and its Zoom data deleted
        assert time.monotonic() < deadline, "the deauthorization did not arrive"
        time.sleep(0.1)


def _schedule(api: httpx.Client, title: str) -> dict[str, Any]:
    r = api.post("/meetings", json={**BODY, "title": title})
    assert r.status_code == 202, r.text
    return _wait(api, r.json()["id"], "scheduled")


def _cancels(smtp: SmtpServer, count: int) -> list[icalendar.Calendar]:
    mails = smtp.inbox.wait_for("guest@example.test", count)
    cals = [icalendar.Calendar.from_ical(_ics(m)) for m in mails]
    return [c for c in cals if c["METHOD"] == "CANCEL"]


def test_a_disconnect_keeps_the_meetings_and_the_same_zoom_user_gets_them_back(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    api = _api(env)
    kept, gone = _schedule(api, "Kept"), _schedule(api, "Deleted in Zoom meanwhile")
    browser = env.signed_in("ann@acme.test")
    _disconnect(env, browser)

    # The records stay meetbridge's; the Zoom data of the user goes.
    with env.c.db.read() as s:
        [conn] = s.scalars(select(ZoomConnection)).all()
        assert conn.status == "ended" and conn.access_token_enc is None
        assert conn.zoom_email is None and conn.zoom_user_id is None
    m = api.get(f"/meetings/{kept['id']}").json()
    assert m["status"] == "scheduled" and m["host_zoom"] == "not_connected"
    assert m["zoom_meeting_id"] == kept["zoom_meeting_id"] and m["join_url"] == kept["join_url"]
    page = browser.get(f"/meetings/{kept['id']}").text
    assert "host has no Zoom connection" in page and str(kept["zoom_meeting_id"]) in page

    # An edit has nowhere to go: refused, and the meeting stays as it was.
    r = api.patch(f"/meetings/{kept['id']}", json={"title": "Moved"})
    assert r.status_code == 409 and "Reconnect Zoom" in r.json()["error"]["message"], r.text
    assert api.get(f"/meetings/{kept['id']}").json()["status"] == "scheduled"
    r = browser.post(
        f"/meetings/{kept['id']}",
        data={
            "csrf_token": csrf(page),
            "title": "Moved",
            "date": BODY["start"][:10],
            "time": "09:30",
            "duration": "45",
            "timezone": "Europe/Paris",
        },
    )
    assert r.status_code == 409 and "cannot reach Zoom" in r.text

    trouble = browser.get("/troubleshooting").text
    assert "Zoom is not connected" in trouble and "Connected as" not in trouble

    # Meanwhile the host deletes one of them in Zoom (the webhook finds no connection).
    env.control("DELETE", f"/meetings/{gone['zoom_meeting_id']}")
    env.control("POST", "/webhooks/flush")

    # Another Zoom user connecting does not take the meetings.
    env.connect(browser, "sam@zoom-sandbox.test")
    assert api.get(f"/meetings/{kept['id']}").json()["host_zoom"] == "not_connected"
    _disconnect(env, browser)

    # The same Zoom user again: looked up at Zoom, attached again, the gone one ended.
    browser = env.signed_in("ann@acme.test")  # signed in to Zoom as nobody yet
    env.connect(browser, MARIA)
    m = api.get(f"/meetings/{kept['id']}").json()
    assert m["host_zoom"] == "connected" and m["status"] == "scheduled" and not m["last_error"]
    g = api.get(f"/meetings/{gone['id']}").json()
    assert g["status"] == "deleted_in_zoom"
    [cancel] = _cancels(smtp, 3)  # two REQUESTs, then the gone one's CANCEL
    assert str(cancel.walk("VEVENT")[0]["UID"]) == f"{gone['id']}@meetbridge"
    trouble = browser.get("/troubleshooting").text
    assert "Connected as maria@" in trouble and "Zoom is not connected" not in trouble

    assert api.patch(f"/meetings/{kept['id']}", json={"title": "Moved"}).status_code == 202
    _wait(api, kept["id"], "scheduled")
    [zoom] = env.control("GET", f"/meetings?host={MARIA}")
    assert zoom["id"] == kept["zoom_meeting_id"] and zoom["topic"] == "Moved"


def test_cancelling_a_meeting_whose_host_has_no_zoom_tells_invitees_and_what_remains(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    api = _api(env)
    m = _schedule(api, "Orphan")
    browser = env.signed_in("ann@acme.test")
    _disconnect(env, browser)
    r = api.delete(f"/meetings/{m['id']}")
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["status"] == "cancelled"  # at once: nothing to wait for
    assert "may still exist in Zoom" in out["last_error"]
    assert str(m["zoom_meeting_id"]) in out["last_error"]
    [cancel] = _cancels(smtp, 2)
    assert str(cancel.walk("VEVENT")[0]["UID"]) == f"{m['id']}@meetbridge"
    assert [z["id"] for z in env.control("GET", f"/meetings?host={MARIA}")] == [
        m["zoom_meeting_id"]
    ]  # still in Zoom, as the page says
    page = browser.get(f"/meetings/{m['id']}").text
    assert "Cancelled" in page and "delete it there" in page


def test_changes_on_their_way_when_the_connection_ends_do_not_wedge(
    env: ZoomEnv, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = _api(env)
    edited, cancelled = _schedule(api, "Edited"), _schedule(api, "Cancelled")
    held: list[tuple[Any, ...]] = []
    enqueue = env.c.jobs.enqueue

    def hold_meeting_work(name: str, *args: Any) -> bool:
        if name == WORK_TASK:
            held.append(args)
            return True
        return enqueue(name, *args)

    monkeypatch.setattr(env.c.jobs, "enqueue", hold_meeting_work)
    assert api.patch(f"/meetings/{edited['id']}", json={"title": "E2"}).status_code == 202
    assert api.delete(f"/meetings/{cancelled['id']}").status_code == 202
    _disconnect(env, env.signed_in("ann@acme.test"))
    for (mid,) in held:
        env.c.meetings.work(mid)
    with env.c.db.read() as s:
        e = s.get(Meeting, edited["id"])
        c = s.get(Meeting, cancelled["id"])
    assert e and e.status == "failed" and "Reconnect Zoom" in (e.last_error or "")
    assert c and c.status == "cancelled" and "may still exist in Zoom" in (c.last_error or "")
    assert _cancels(smtp, 3)  # 2 REQUESTs (the failed edit sends none), then the CANCEL
