"""Projects renamed, archived and deleted, over the API and in the pages: who may, what the
lists and the project picker show, what happens to the meetings, and the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from meetbridge.container import Container
from meetbridge.core.errors import Conflict, ValidationFailed
from meetbridge.core.models import Meeting
from meetbridge.meetings.inputs import MeetingInput
from tests.api.test_email_templates import member_headers
from tests.conftest import ORIGIN, Org
from tests.web.test_pages import csrf, sign_in

API = "/api/v1/projects"


def _meeting(c: Container, org: Org, project_id: str, status: str) -> str:
    with c.db.write() as s:
        m = Meeting(
            org_id=org.owner.org_id,
            host_user_id=org.owner.id,
            project_id=project_id,
            title=f"A {status} meeting",
            start_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
            duration_min=30,
            timezone="UTC",
            status=status,
        )
        s.add(m)
        s.flush()
        return m.id


def _project(client: TestClient, org: Org, name: str = "Launch") -> str:
    r = client.post(API, json={"name": name}, headers=org.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_rename_archive_restore_over_the_api_audited(client: TestClient, acme: Org) -> None:
    pid = _project(client, acme)
    _project(client, acme, "Taken")
    r = client.patch(f"{API}/{pid}", json={"name": "Taken"}, headers=acme.headers)
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "name"
    r = client.patch(f"{API}/{pid}", json={"name": "Launch 2027"}, headers=acme.headers)
    assert r.status_code == 200 and r.json()["name"] == "Launch 2027"

    r = client.patch(f"{API}/{pid}", json={"archived": True}, headers=acme.headers)
    assert r.json()["archived_at"] is not None
    assert [p["name"] for p in client.get(API, headers=acme.headers).json()] == ["Taken"]
    archived = client.get(f"{API}?archived=true", headers=acme.headers).json()
    assert [p["name"] for p in archived] == ["Launch 2027"]
    assert client.get(f"{API}/{pid}", headers=acme.headers).status_code == 200  # still readable
    client.patch(f"{API}/{pid}", json={"archived": False}, headers=acme.headers)
    assert len(client.get(API, headers=acme.headers).json()) == 2

    log = client.get("/api/v1/audit?action=project", headers=acme.headers).json()
    assert [e["action"] for e in log[:3]] == [
        "project.unarchived",
        "project.archived",
        "project.updated",
    ]
    assert log[2]["details"]["name"] == {"from": "Launch", "to": "Launch 2027"}


def test_a_member_changes_only_the_projects_they_created(
    client: TestClient, container: Container, acme: Org
) -> None:
    ann = member_headers(container, acme)
    owners = _project(client, acme)
    r = client.patch(f"{API}/{owners}", json={"name": "Mine now"}, headers=ann)
    assert r.status_code == 403
    assert client.delete(f"{API}/{owners}", headers=ann).status_code == 403
    r = client.post(API, json={"name": "Ann's"}, headers=ann)
    assert (
        client.patch(f"{API}/{r.json()['id']}", json={"archived": True}, headers=ann).status_code
        == 200
    )


def test_delete_is_refused_while_a_meeting_is_live_and_keeps_cancelled_ones(
    client: TestClient, container: Container, acme: Org
) -> None:
    pid = _project(client, acme)
    live = _meeting(container, acme, pid, "scheduled")
    gone = _meeting(container, acme, pid, "cancelled")
    r = client.delete(f"{API}/{pid}", headers=acme.headers)
    assert r.status_code == 409
    assert "1 meeting that is not cancelled" in r.json()["error"]["message"]
    with container.db.write() as s:
        s.get(Meeting, live).status = "cancelled"  # type: ignore[union-attr]
    assert client.delete(f"{API}/{pid}", headers=acme.headers).status_code == 204
    assert client.get(f"{API}/{pid}", headers=acme.headers).status_code == 404
    with container.db.read() as s:
        kept = s.get(Meeting, gone)
        assert kept is not None and kept.project_id is None  # the meetings stay, projectless
    [event] = client.get("/api/v1/audit?action=project.deleted", headers=acme.headers).json()
    assert event["details"]["name"] == "Launch" and event["details"]["cancelled_meetings_kept"] == 2


def test_the_pages_rename_archive_and_delete_with_a_confirm_box(
    client: TestClient, acme: Org
) -> None:
    pid = _project(client, acme)
    sign_in(client, "owner@acme.test")
    token = csrf(client.get(f"/projects/{pid}").text)
    r = client.post(
        f"/projects/{pid}",
        data={"csrf_token": token, "action": "save", "name": "Renamed", "description": "d"},
    )
    assert r.status_code == 200 and "Project Renamed saved." in r.text
    r = client.post(f"/projects/{pid}", data={"csrf_token": token, "action": "archive"})
    assert "archived" in r.text
    listing = client.get("/projects").text
    assert "Archived projects (1)" in listing
    assert f'value="{pid}"' not in client.get("/meetings/new").text  # not in the picker
    assert f'value="{pid}"' not in client.get("/meetings").text

    r = client.post(f"/projects/{pid}/delete", data={"csrf_token": token})
    assert r.status_code == 422 and "tick the box to confirm" in r.text
    assert client.get(f"{API}/{pid}", headers=acme.headers).status_code == 200
    r = client.post(f"/projects/{pid}/delete", data={"csrf_token": token, "confirm": "on"})
    assert r.status_code == 200 and "Project Renamed deleted." in r.text
    assert client.get(f"{API}/{pid}", headers=acme.headers).status_code == 404


def test_an_archived_project_takes_no_new_meetings(
    client: TestClient, container: Container, acme: Org
) -> None:
    pid = _project(client, acme)
    client.patch(f"{API}/{pid}", json={"archived": True}, headers=acme.headers)
    data = MeetingInput(
        title="Late",
        start=dt.datetime.now() + dt.timedelta(days=3),
        timezone="UTC",
        duration=30,
        project_id=pid,
    )
    with pytest.raises(ValidationFailed) as refused:
        container.meetings.schedule(acme.owner, data, ORIGIN)
    assert refused.value.errors[0].field == "project_id" and "archived" in refused.value.message
    client.patch(f"{API}/{pid}", json={"archived": False}, headers=acme.headers)
    with pytest.raises(Conflict):  # back: now only the missing Zoom connection stands in the way
        container.meetings.schedule(acme.owner, data, ORIGIN)
