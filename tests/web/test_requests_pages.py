"""The service-request pages over HTTP (signed in, with CSRF): a new request (the
organisation's time zone by default, every field error at once with what was typed kept),
the Service Requests report (filters, Type column, CSV with the same filters), a request's
details and actions (refusals with their reason), the scheduling views, the "Zoom settings
for requests" form (its bad input, all at once), who sees what, and tenancy.

Against the Zoom sandbox: the pool checked against the account at save (an unknown user
refused by name, a Basic and a deactivated user saved with a warning naming them), a
conversion on a pool host, a conflicting one on another host, every host busy named with the
window, and the host link only inside its window (fetched fresh, never in a page)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from meetbridge.container import Container
from meetbridge.core.models import AuditEvent, Meeting, Organization, User
from meetbridge.requests.inputs import Participant, RequestInput, SettingsInput
from meetbridge.requests.tables import RequestWork, ServiceRequest
from tests.conftest import ORIGIN, PASSWORD, Org
from tests.support import SmtpServer
from tests.web.test_form_fuzz import SWEEP
from tests.web.test_pages import csrf, sign_in
from tests.zoom_env import ZoomEnv, zoom_env

ACCOUNT = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")
POOL = ("dana@zoom-sandbox.test", "sam@zoom-sandbox.test")


def field_error(page: str, name: str) -> str:
    """The error shown with the field `name` of the page's form ('' if none)."""
    match = re.search(
        rf'name="{name}"[^>]*>(?:[^<]*</textarea>|(?:(?!</label>).)*?</select>)?'
        r'<span class="field-error" role="alert">([^<]*)',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else ""


def scheduler(c: Container, org: Org, email: str = "sid@acme.test") -> User:
    return c.accounts.create_member(
        org.owner,
        email=email,
        name="Sid Scheduler",
        role="scheduler",
        password=PASSWORD,
        origin=ORIGIN,
    )


def member(c: Container, org: Org, email: str = "ann@acme.test", name: str = "Ann") -> User:
    return c.accounts.create_member(
        org.owner, email=email, name=name, role="member", password=PASSWORD, origin=ORIGIN
    )


def request_form(token: str, day: dt.date, **over: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "client": "Mercy Hospital",
        "requester": "Dr. Reyes",
        "service": "Spanish interpreting",
        "start_date": day.isoformat(),
        "start_time": "10:00",
        "end_date": "",
        "end_time": "11:30",
        "timezone": "Europe/Paris",
        "location": "Ward 4, room 12",
        "notes": "Bring the consent forms.",
        "tags": "medical, Spanish",
        "providers": "ann@acme.test",
        "clients": "contact@mercy.test",
        "status": "confirmed",
    }
    form.update(over)
    return form


def _tomorrow() -> dt.date:
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def create(tc: TestClient, **over: str) -> str:
    token = csrf(tc.get("/requests/new").text)
    r = tc.post(
        "/requests/new", data=request_form(token, _tomorrow(), **over), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"].rsplit("/", 1)[1])


def test_the_pages_need_sign_in(client: TestClient) -> None:
    for path in ("/requests", "/requests/new", "/requests/schedule", "/requests.csv"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin", path


def test_a_scheduler_creates_a_request_and_the_report_lists_it(
    client: TestClient, container: Container, acme: Org
) -> None:
    with container.db.write() as s:
        org = s.get(Organization, acme.owner.org_id)
        assert org is not None
        org.timezone = "America/Chicago"
    scheduler(container, acme)
    ann = member(container, acme)
    sign_in(client, "sid@acme.test")
    assert 'href="/requests"' in client.get("/team").text  # the navigation's "Requests"
    new = client.get("/requests/new").text
    assert 'name="timezone" list="timezones" required value="America/Chicago"' in new

    rid = create(client)
    page = client.get(f"/requests/{rid}").text
    for shown in ("Mercy Hospital", "Dr. Reyes", "Spanish interpreting", "Ward 4, room 12"):
        assert shown in page
    assert "Bring the consent forms." in page and "Europe/Paris" in page
    assert "10:00 \u2013 11:30" in page and "Ann" in page and "contact@mercy.test" in page
    assert "Convert to Zoom meeting" in page and "Get Zoom Host Link" not in page
    r = container.requests.get(acme.owner, rid)
    assert r.start_at == dt.datetime.combine(_tomorrow(), dt.time(9), dt.UTC)  # Paris, winter
    assert r.status == "confirmed" and r.kind == "regular"
    view = container.requests.view(acme.owner, rid)
    assert sorted(view.tags) == ["Spanish", "medical"]
    assert [p.user_id for p in view.participants if p.role == "provider"] == [ann.id]

    other = create(client, client="Lakeside School", tags="education", providers="", status="draft")
    listing = client.get("/requests").text
    assert listing.count("data-request-id=") == 2
    assert "<th>Type</th>" in listing and ">Regular<" in listing.replace("</td>", "<")
    assert client.get("/requests?tag=medical").text.count("data-request-id=") == 1
    assert f'data-request-id="{other}"' in client.get("/requests?status=draft").text
    assert client.get("/requests?type=zoom").text.count("data-request-id=") == 0
    assert client.get(f"/requests?provider={ann.id}").text.count("data-request-id=") == 1
    later = (_tomorrow() + dt.timedelta(days=1)).isoformat()
    assert client.get(f"/requests?from={later}").text.count("data-request-id=") == 0
    day = _tomorrow().isoformat()
    assert client.get(f"/requests?from={day}&to={day}").text.count("data-request-id=") == 2
    bad = client.get("/requests?from=tomorrow&status=lost")
    assert bad.status_code == 422
    assert "a date like" in bad.text and "one of draft" in bad.text

    filtered = client.get("/requests?tag=medical").text
    assert 'href="/requests.csv?tag=medical"' in filtered
    r_csv = client.get("/requests.csv?tag=medical")
    assert r_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r_csv.text)))
    assert [(x["client"], x["type"], x["status"]) for x in rows] == [
        ("Mercy Hospital", "Regular", "confirmed")
    ]
    assert rows[0]["providers"] == "ann@acme.test"


def test_every_field_error_is_shown_at_once(
    client: TestClient, container: Container, acme: Org
) -> None:
    scheduler(container, acme)
    sign_in(client, "sid@acme.test")
    token = csrf(client.get("/requests/new").text)
    bad = request_form(
        token,
        _tomorrow(),
        client="",
        service="",
        start_date="someday",
        timezone="Mars/Olympus",
        tags="ok, <bad>",
        providers="not-an-email",
        clients="contact@mercy.test, also bad",
        status="lost",
        notes="x" * 5001,
    )
    r = client.post("/requests/new", data=bad)
    assert r.status_code == 422
    page = r.text
    assert field_error(page, "client") == "is required"
    assert field_error(page, "service") == "is required"
    assert "enter a date" in field_error(page, "start_date")
    assert "unknown time zone" in field_error(page, "timezone")
    assert "letters, digits" in field_error(page, "tags")
    assert field_error(page, "providers") and field_error(page, "clients")
    assert "must be one of" in field_error(page, "status")
    assert "at most 5000" in field_error(page, "notes")
    assert 'value="someday"' in page and "not-an-email</textarea>" in page  # kept
    # Times that parse: the end before the start is named, with the rest.
    bad.update(start_date=_tomorrow().isoformat(), end_time="09:00", timezone="UTC")
    page = client.post("/requests/new", data=bad).text
    assert field_error(page, "end_time") == "" and "must be after the start" in page
    assert field_error(page, "end_date") == "must be after the start"
    assert field_error(page, "client") == "is required"
    assert container.requests.search(acme.owner) == []  # nothing written


def test_the_detail_page_edits_and_refuses_with_the_reason(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    # The service's update takes the settings row's lock even for a regular request: without
    # a settings row an edit is refused (reported to the service's owner).
    container.requests.save_settings(acme.owner, SettingsInput(15, 15, ""), ORIGIN)
    rid = create(client, status="draft")
    page = client.get(f"/requests/{rid}").text
    token = csrf(page)
    r = client.post(f"/requests/{rid}/convert-to-zoom", data={"csrf_token": token})
    assert r.status_code == 409
    assert "a draft request cannot be converted to a Zoom meeting" in r.text
    assert 'id="action-error"' in r.text

    form = request_form(token, _tomorrow(), service="Court interpreting", status="requested")
    r = client.post(f"/requests/{rid}", data=form, follow_redirects=False)
    assert r.status_code == 303, re.findall(r"class=\"error\"[^>]*>([^<]*)", r.text)
    assert container.requests.get(acme.owner, rid).service == "Court interpreting"
    # An empty pool: the refusal says where to set it.
    r = client.post(f"/requests/{rid}/convert-to-zoom", data={"csrf_token": token})
    assert r.status_code == 409 and "Settings → Integrations → Zoom" in r.text
    # An edit with bad input: every error, at the edit form, what was typed kept.
    form.update(client="", end_time="08:00", tags="<x>")
    r = client.post(f"/requests/{rid}", data=form)
    assert r.status_code == 422
    assert field_error(r.text, "client") == "is required"
    assert field_error(r.text, "end_date") == "must be after the start"
    assert "letters, digits" in field_error(r.text, "tags")
    assert container.requests.get(acme.owner, rid).client == "Mercy Hospital"

    r = client.post(f"/requests/{rid}/cancel", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert container.requests.get(acme.owner, rid).status == "canceled"
    r = client.post(f"/requests/{rid}/convert-to-zoom", data={"csrf_token": token})
    assert r.status_code == 409 and "a canceled request cannot be converted" in r.text
    # Without the CSRF token nothing happens.
    assert client.post(f"/requests/{rid}/cancel", data={}).status_code == 403


def test_members_see_only_their_requests_and_change_none(
    client: TestClient, container: Container, acme: Org, globex: Org
) -> None:
    member(container, acme)
    member(container, acme, "bob@acme.test", "Bob")
    sign_in(client, "owner@acme.test")
    mine = create(client)  # Ann is its provider
    theirs = create(client, providers="bob@acme.test", client="Other client")
    client.cookies.clear()
    sign_in(client, "ann@acme.test")
    listing = client.get("/requests").text
    assert f'data-request-id="{mine}"' in listing and theirs not in listing
    assert "New request" not in listing
    assert client.get("/requests/new").status_code == 403
    page = client.get(f"/requests/{mine}").text
    assert "Mercy Hospital" in page and "Convert to Zoom meeting" not in page
    assert client.get(f"/requests/{theirs}").status_code == 404
    r = client.post(f"/requests/{mine}/cancel", data={"csrf_token": csrf(page)})
    assert r.status_code == 403
    assert container.requests.get(acme.owner, mine).status == "confirmed"

    client.cookies.clear()
    sign_in(client, "owner@globex.test")
    assert client.get(f"/requests/{mine}").status_code == 404
    assert client.get("/requests").text.count("data-request-id=") == 0


def test_the_schedule_shows_each_provider_by_day_and_week(
    client: TestClient, container: Container, acme: Org
) -> None:
    member(container, acme)
    member(container, acme, "bob@acme.test", "Bob")
    sign_in(client, "owner@acme.test")
    day = _tomorrow()
    a = create(client, timezone="UTC")
    b = create(
        client,
        timezone="UTC",
        providers="bob@acme.test",
        start_time="14:00",
        end_time="15:00",
        service="Tutoring",
    )
    page = client.get(f"/requests/schedule?view=day&date={day.isoformat()}").text
    lanes = re.findall(r'<tr class="lane"><th scope="row">([^<]+)</th>(.*?)</tr>', page, re.S)
    assert [name for name, _ in lanes] == ["Ann", "Bob"]
    assert f'data-request-id="{a}"' in lanes[0][1] and f'data-request-id="{b}"' in lanes[1][1]
    cells = re.findall(r"<td>(.*?)</td>", lanes[1][1], re.S)
    hours = re.findall(r"<th>(\d\d):00</th>", page)
    assert b in cells[hours.index("14")]  # Bob's box sits in the 14:00 column
    assert "Zoom meeting" not in lanes[0][1]  # regular: no Zoom icon
    week = client.get(f"/requests/schedule?view=week&date={day.isoformat()}").text
    assert week.count("data-request-id=") == 2 and day.strftime("%a %d") in week
    other = client.get(f"/requests/schedule?view=day&date={(day + dt.timedelta(days=3))}").text
    assert "No requests this day" in other
    bad = client.get("/requests/schedule?view=day&date=soon")
    assert bad.status_code == 422 and "a date like" in bad.text


def test_the_zoom_settings_form_names_every_bad_field(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    page = client.get("/integrations/zoom").text
    assert "Zoom settings for requests" in page and "one meeting at a time" in page
    token = csrf(page)
    r = client.post(
        "/integrations/zoom/requests",
        data={
            "csrf_token": token,
            "lead_minutes": "121",
            "padding_minutes": "1441",
            "host_pool": "dana@zoom-sandbox.test\nnot an email, x",
            "role_schedulers": "on",
        },
    )
    assert r.status_code == 422
    assert "0 to 120" in field_error(r.text, "lead_minutes")
    assert "0 to 1440" in field_error(r.text, "padding_minutes")
    assert "line 2" in field_error(r.text, "host_pool")
    assert "not an email, x</textarea>" in r.text
    r = client.post(
        "/integrations/zoom/requests",
        data={
            "csrf_token": token,
            "lead_minutes": "soon",
            "padding_minutes": "-5",
            "host_pool": "",
        },
    )
    assert "whole number" in field_error(r.text, "lead_minutes")
    assert "whole number" in field_error(r.text, "padding_minutes")
    # A valid pool needs the account connection to be checked against.
    r = client.post(
        "/integrations/zoom/requests",
        data={
            "csrf_token": token,
            "lead_minutes": "30",
            "padding_minutes": "15",
            "host_pool": "dana@zoom-sandbox.test",
        },
    )
    assert r.status_code == 409
    assert "connect the organisation's Zoom account first" in html.unescape(r.text)
    assert container.requests.settings_of(acme.owner.org_id).host_pool == []
    # An empty pool saves (requests stay regular until there are hosts).
    r = client.post(
        "/integrations/zoom/requests",
        data={
            "csrf_token": token,
            "lead_minutes": "30",
            "padding_minutes": "20",
            "host_pool": "",
            "role_provider": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    saved = container.requests.settings_of(acme.owner.org_id)
    assert (saved.lead_minutes, saved.padding_minutes, saved.host_link_roles) == (
        30,
        20,
        ["provider"],
    )
    assert 'name="role_provider" checked' in client.get("/integrations/zoom").text

    member(container, acme)
    client.cookies.clear()
    sign_in(client, "ann@acme.test")
    page = client.get("/integrations/zoom").text
    assert "Zoom settings for requests" not in page
    r = client.post(
        "/integrations/zoom/requests",
        data={"csrf_token": csrf(page), "lead_minutes": "0", "padding_minutes": "0"},
    )
    assert r.status_code == 403
    assert container.requests.settings_of(acme.owner.org_id).lead_minutes == 30


# ---- against the Zoom sandbox -------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        e.c.connections.save_account(e.user("owner@acme.test"), *ACCOUNT, ORIGIN)
        yield e


def _save_pool(
    browser: httpx.Client, pool: str, lead: int = 60, padding: int = 30
) -> httpx.Response:
    page = browser.get("/integrations/zoom").text
    return browser.post(
        "/integrations/zoom/requests",
        data={
            "csrf_token": csrf(page),
            "lead_minutes": str(lead),
            "padding_minutes": str(padding),
            "host_pool": pool,
            "role_schedulers": "on",
        },
    )


def _request(env: ZoomEnv, start: dt.datetime, minutes: int = 60, **over: object) -> str:
    data = RequestInput(
        client="Mercy Hospital",
        service="Interpreting",
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        timezone="UTC",
        status="confirmed",
        participants=[Participant("provider", "ann@acme.test")],
    )
    for k, v in over.items():
        setattr(data, k, v)
    return env.c.requests.create(env.user("owner@acme.test"), data, ORIGIN).id


def _at_zoom(env: ZoomEnv, email: str) -> list[dict[str, object]]:
    return list(env.control("GET", f"/meetings?host={email}"))


def test_the_pool_is_checked_against_the_account_and_warnings_name_the_host(
    env: ZoomEnv,
) -> None:
    env.control(
        "POST",
        f"/accounts/{ACCOUNT[0]}/users",
        json={"email": "gone@zoom-sandbox.test", "first_name": "Gone", "status": "inactive"},
    )
    admin = env.signed_in("owner@acme.test")
    r = _save_pool(admin, "dana@zoom-sandbox.test\nnobody@zoom-sandbox.test\nx@elsewhere.test")
    assert r.status_code == 422
    error = field_error(r.text, "host_pool")
    assert "nobody@zoom-sandbox.test" in error and "x@elsewhere.test" in error
    r = _save_pool(admin, "nobody@zoom-sandbox.test", lead=121)  # both at once
    assert "0 to 120" in field_error(r.text, "lead_minutes")
    assert "nobody@zoom-sandbox.test" in field_error(r.text, "host_pool")
    assert env.c.requests.settings_of(env.user("owner@acme.test").org_id).host_pool == []

    r = _save_pool(admin, "Dana@zoom-sandbox.test\nbasil@zoom-sandbox.test\ngone@zoom-sandbox.test")
    assert r.status_code == 303, r.text
    page = admin.get("/integrations/zoom").text
    assert "3 host(s) in the pool, 2 with a warning" in html.unescape(page)
    warnings = dict(re.findall(r'<li class="status warn" data-host="([^"]+)">(.*?)</li>', page))
    assert set(warnings) == {"basil@zoom-sandbox.test", "gone@zoom-sandbox.test"}
    assert "40 minutes" in warnings["basil@zoom-sandbox.test"]
    assert "inactive" in warnings["gone@zoom-sandbox.test"]
    assert "dana@zoom-sandbox.test\nbasil" in page  # saved, normalised, one per line
    assert "name your pool users generically" in page


def test_conversions_take_free_pool_hosts_and_the_host_link_opens_in_its_window(
    env: ZoomEnv,
) -> None:
    sid = env.c.accounts.create_member(
        env.user("owner@acme.test"),
        email="sid@acme.test",
        name="Sid",
        role="scheduler",
        password=PASSWORD,
        origin=ORIGIN,
    )
    assert sid.is_scheduler
    admin = env.signed_in("owner@acme.test")
    assert _save_pool(admin, "\n".join(POOL)).status_code == 303
    browser = env.signed_in("sid@acme.test")
    soon = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    first, second, third = (_request(env, soon) for _ in range(3))
    later = _request(env, soon + dt.timedelta(days=2))

    hosts = []
    for rid in (first, second):
        page = browser.get(f"/requests/{rid}").text
        r = browser.post(f"/requests/{rid}/convert-to-zoom", data={"csrf_token": csrf(page)})
        assert r.status_code == 303, r.text
        row = env.c.requests.get(sid, rid)
        assert row.kind == "zoom" and row.zoom_host_email in POOL
        hosts.append(row.zoom_host_email)
        [meeting] = _at_zoom(env, str(row.zoom_host_email))
        assert meeting["topic"] == "Interpreting — Mercy Hospital"
    assert sorted(hosts) == sorted(POOL)  # the overlapping one went to the other host

    page = browser.get(f"/requests/{third}").text
    r = browser.post(f"/requests/{third}/convert-to-zoom", data={"csrf_token": csrf(page)})
    assert r.status_code == 409
    said = html.unescape(re.search(r'id="action-error">([^<]*)', r.text).group(1))  # type: ignore[union-attr]
    window = (soon - dt.timedelta(minutes=60)).strftime("%Y-%m-%d %H:%M UTC")
    assert f"no host of the pool is free from {window}" in said
    assert all(h in said for h in POOL)
    assert env.c.requests.get(sid, third).kind == "regular"

    # The first one's details: the join link instead of the location; the host link is open
    # (30 minutes to the start, 60 minutes of lead) and fetched fresh, never in the page.
    page = browser.get(f"/requests/{first}").text
    row_first = env.c.requests.get(sid, first)
    view = env.c.requests.view(sid, first)
    assert view.join_url and view.join_url in page and "Ward" not in page
    assert "Get Zoom Host Link" in page and "zak=" not in page
    r = browser.post(f"/requests/{first}/host-link", data={"csrf_token": csrf(page)})
    assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
    assert r.headers["location"].startswith(env.zoom) and "/s/" in r.headers["location"]
    assert "zak=" not in browser.get(f"/requests/{first}").text
    with env.c.db.read() as s:
        fetched = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "meeting.host_link")
        ).all()
        assert [(a.actor_id, a.target_id) for a in fetched] == [(sid.id, row_first.meeting_id)]

    # In two days: the host link says when it opens, and refuses before then.
    page = browser.get(f"/requests/{later}").text
    r = browser.post(f"/requests/{later}/convert-to-zoom", data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    page = browser.get(f"/requests/{later}").text
    opens = (soon + dt.timedelta(days=2, minutes=-60)).strftime("%H:%M")
    assert 'id="host-link-opens"' in page and opens in page
    assert "Get Zoom Host Link" not in page
    r = browser.post(f"/requests/{later}/host-link", data={"csrf_token": csrf(page)})
    assert r.status_code == 409 and "the host link opens at" in r.text

    # Back to regular: the meeting is deleted in Zoom.
    row = env.c.requests.get(sid, later)
    page = browser.get(f"/requests/{later}").text
    r = browser.post(f"/requests/{later}/convert-to-regular", data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    assert all(
        m.get("start_time", "")[:10] != (soon + dt.timedelta(days=2)).date().isoformat()
        for m in _at_zoom(env, str(row.zoom_host_email))
    )
    assert "<th>Type</th>" in browser.get("/requests?type=zoom").text
    assert browser.get("/requests?type=zoom").text.count("data-request-id=") == 2
    with env.c.db.read() as s:
        assert s.get(ServiceRequest, later).kind == "regular"  # type: ignore[union-attr]

    # Who may take it is the organisation's choice: the provider only, now.
    page = admin.get("/integrations/zoom").text
    r = admin.post(
        "/integrations/zoom/requests",
        data={
            "csrf_token": csrf(page),
            "lead_minutes": "60",
            "padding_minutes": "30",
            "host_pool": "\n".join(POOL),
            "role_provider": "on",
        },
    )
    assert r.status_code == 303
    page = browser.get(f"/requests/{first}").text
    assert "does not let you take this request" in html.unescape(page)
    assert "Get Zoom Host Link" not in page
    r = browser.post(f"/requests/{first}/host-link", data={"csrf_token": csrf(page)})
    assert r.status_code == 403
    ann = env.signed_in("ann@acme.test")  # the request's provider
    page = ann.get(f"/requests/{first}").text
    assert "Get Zoom Host Link" in page and "Convert to regular request" not in page
    r = ann.post(f"/requests/{first}/host-link", data={"csrf_token": csrf(page)})
    assert r.status_code == 303 and "/s/" in r.headers["location"]


def test_hostile_values_in_every_request_field_give_no_5xx(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    rid = create(client)
    token = csrf(client.get(f"/requests/{rid}").text)
    fields = [*request_form(token, _tomorrow())]
    fields += ["lead_minutes", "padding_minutes", "host_pool", "role_client"]
    for value in [*SWEEP, "9999-12-31", "23:59", "Etc/GMT+12", "1e309", "-1", "25:61"]:
        form = {**dict.fromkeys(fields, value), "csrf_token": token}
        for path in ("/requests/new", f"/requests/{rid}", "/integrations/zoom/requests"):
            r = client.post(path, data=form, follow_redirects=False)
            assert r.status_code < 500, (path, value[:40], r.text[:300])
    far = request_form(token, dt.date(9999, 12, 31), start_time="23:59", end_time="23:59")
    far.update(end_date="9999-12-31", timezone="Etc/GMT+12")
    r = client.post("/requests/new", data=far)
    assert r.status_code == 422 and field_error(r.text, "start_date")
    for query in ("?from=9999-12-31&to=0001-01-01", "?type=%00", "?provider=" + "é" * 90):
        assert client.get(f"/requests{query}").status_code < 500
        assert client.get(f"/requests.csv{query}").status_code < 500
    for query in ("?view=week&date=9999-12-31", "?view=day&date=0001-01-01", "?date=é"):
        assert client.get(f"/requests/schedule{query}").status_code < 500, query


def test_the_details_show_failed_work_and_a_join_before_host_warning(env: ZoomEnv) -> None:
    admin = env.signed_in("owner@acme.test")
    assert _save_pool(admin, "\n".join(POOL)).status_code == 303
    owner = env.user("owner@acme.test")
    soon = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    rid = _request(env, soon)
    env.c.requests.convert_to_zoom(owner, rid, ORIGIN)
    row = env.c.requests.get(owner, rid)
    page = admin.get(f"/requests/{rid}").text
    assert "Join before host is off for requests" in page and 'id="join-before-host"' not in page
    with env.c.db.write() as s:  # turned on in Zoom's own app, say, and a change that failed
        m = s.get(Meeting, row.meeting_id)
        assert m is not None
        m.join_before_host = True
        s.add(
            RequestWork(
                request_id=rid, kind="sync", status="failed", last_error="Zoom said no (429)"
            )
        )
    page = html.unescape(admin.get(f"/requests/{rid}").text)
    assert 'id="join-before-host"' in page and "one meeting at a time" in page
    assert "Zoom said no (429)" in page
