"""The pages over HTTP: sign-in, CSRF, throttling, the Team pages, tenancy."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from meetbridge.accounts.inputs import start_date_bounds
from meetbridge.container import Container
from meetbridge.core.events import Event
from meetbridge.core.models import User, WebSession
from tests.conftest import ORIGIN, PASSWORD, Org


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, html[:400]
    return match.group(1)


def add_member(c: Container, org: Org, email: str = "ann@acme.test", name: str = "Ann") -> User:
    return c.accounts.create_member(
        org.owner, email=email, name=name, role="member", password=PASSWORD, origin=ORIGIN
    )


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    token = csrf(client.get("/signin").text)
    r = client.post(
        "/signin",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/team"


def test_pages_need_sign_in(client: TestClient) -> None:
    for path in ("/team", "/team/new", "/settings/tokens", "/audit", "/m/meetings"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin", path


def test_sign_in_team_and_sign_out(client: TestClient, container: Container, acme: Org) -> None:
    sign_in(client, "OWNER@acme.test")
    page = client.get("/team")
    assert page.status_code == 200
    assert "Owner of Acme" in page.text and "Add member" in page.text
    cookie = client.cookies.get("mb_session")
    assert cookie
    with container.db.read() as s:
        stored = s.scalars(select(WebSession.id)).all()
    assert cookie not in stored  # only the digest is kept
    r = client.post("/signout", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    with container.db.read() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
    client.cookies.set("mb_session", cookie)  # replaying the old cookie does not work
    assert client.get("/team", follow_redirects=False).status_code == 303


def test_wrong_password_does_not_say_which_part_was_wrong(client: TestClient, acme: Org) -> None:
    token = csrf(client.get("/signin").text)
    a = client.post(
        "/signin", data={"email": "owner@acme.test", "password": "wrong-one-x", "csrf_token": token}
    )
    b = client.post(
        "/signin",
        data={"email": "nobody@acme.test", "password": "wrong-one-x", "csrf_token": token},
    )
    assert a.status_code == b.status_code == 401
    assert "wrong e-mail or password" in a.text and "wrong e-mail or password" in b.text


def test_sign_in_is_throttled_after_repeated_failures(client: TestClient, acme: Org) -> None:
    token = csrf(client.get("/signin").text)
    for _ in range(5):
        r = client.post(
            "/signin",
            data={"email": "owner@acme.test", "password": "nope-nope-1", "csrf_token": token},
        )
        assert r.status_code == 401
    r = client.post(
        "/signin", data={"email": "owner@acme.test", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 429
    assert "too many failed sign-ins" in r.text


def test_forms_without_a_valid_csrf_token_are_refused(
    client: TestClient, container: Container, acme: Org
) -> None:
    r = client.post("/signin", data={"email": "owner@acme.test", "password": PASSWORD})
    assert r.status_code == 403
    sign_in(client, "owner@acme.test")
    with container.db.read() as s:
        before = s.scalar(select(func.count()).select_from(User))
    for token in (None, "0" * 64):
        data = {"email": "eve@acme.test", "name": "Eve", "role": "admin", "password": PASSWORD}
        if token:
            data["csrf_token"] = token
        r = client.post("/team/new", data=data)
        assert r.status_code == 403
        assert "did not come from meetbridge" in r.text
    with container.db.read() as s:
        assert s.scalar(select(func.count()).select_from(User)) == before


def test_admin_creates_a_member_who_signs_in(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/team/new").text)
    bad = client.post(
        "/team/new",
        data={
            "email": "kim@acme.test",
            "name": "Kim",
            "role": "member",
            "password": "123",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert "must be at least 10 characters" in bad.text
    assert 'value="kim@acme.test"' in bad.text  # the form keeps what was typed
    r = client.post(
        "/team/new",
        data={
            "email": "kim@acme.test",
            "name": "Kim",
            "role": "member",
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert r.status_code == 200 and "Kim can now sign in" in r.text
    other = TestClient(client.app)
    sign_in(other, "kim@acme.test")
    page = other.get("/team").text
    assert "Kim" in page and "(you)" in page
    assert "Add member" not in page  # members do not manage the team
    assert other.get("/audit").status_code == 403


def _start_input(html: str) -> str:
    match = re.search(r'<input type="date" name="start_date"[^>]*>', html)
    assert match, "no start date field"
    return match.group(0)


def test_the_team_pages_set_show_and_change_a_start_date(
    client: TestClient, container: Container, acme: Org
) -> None:
    onboarded: list[Event] = []
    container.events.subscribe("member.onboarded", "tests.onboarding", onboarded.append)
    today = container.clock.now().astimezone(dt.UTC).date()
    first_day = today + dt.timedelta(days=30)
    sign_in(client, "owner@acme.test")
    new_page = client.get("/team/new").text
    token = csrf(new_page)
    # The picker offers what the service accepts; the form's other limits reach the browser.
    earliest, latest = start_date_bounds(today)
    assert f'min="{earliest}" max="{latest}"' in _start_input(new_page)
    assert 'maxlength="200"' in new_page and 'minlength="10"' in new_page

    form = {
        "email": "kim@acme.test",
        "name": "Kim",
        "role": "member",
        "password": PASSWORD,
        "csrf_token": token,
    }
    bad = client.post(
        "/team/new", data={**form, "start_date": "2027-02-30", "timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 422
    assert "2027-02-30 is not a day of the calendar" in bad.text
    assert "unknown time zone" in bad.text  # said together
    assert 'value="2027-02-30"' in _start_input(bad.text)  # kept as typed
    far = (today + dt.timedelta(days=6 * 366)).isoformat()
    bad = client.post("/team/new", data={**form, "start_date": far})
    assert bad.status_code == 422 and "is more than 5 years ahead: the latest is" in bad.text
    assert onboarded == []

    r = client.post("/team/new", data={**form, "start_date": first_day.isoformat()})
    assert r.status_code == 200 and "Kim can now sign in" in r.text
    assert f'Starts <time datetime="{first_day}">{first_day}</time>' in r.text  # the team page
    [kim] = [m for m in container.accounts.list_members(acme.owner) if m.name == "Kim"]
    assert [e.subject_id for e in onboarded] == [kim.id]

    edit = client.get(f"/team/{kim.id}").text
    assert f'value="{first_day}"' in _start_input(edit)
    moved = first_day + dt.timedelta(days=7)
    r = client.post(
        f"/team/{kim.id}",
        data={
            "name": "Kim",
            "email": "kim@acme.test",
            "role": "member",
            "timezone": "UTC",
            "start_date": moved.isoformat(),
            "csrf_token": token,
        },
    )
    assert r.status_code == 200 and "Saved Kim" in r.text
    assert f">{moved}</time>" in r.text and f">{first_day}</time>" not in r.text
    assert [e.data["start_date"] for e in onboarded] == [first_day.isoformat(), moved.isoformat()]

    # A member sees colleagues' start dates, but their own form has no such field, and a
    # posted one is not taken.
    other = TestClient(client.app)
    sign_in(other, "kim@acme.test")
    assert f">{moved}</time>" in other.get("/team").text
    assert 'name="start_date"' not in other.get(f"/team/{kim.id}").text
    r = other.post(
        f"/team/{kim.id}",
        data={"name": "Kim", "start_date": "", "csrf_token": csrf(other.get("/team").text)},
    )
    assert r.status_code == 200
    assert container.accounts.get_member(acme.owner, kim.id).start_date == moved

    # Emptied by an admin: cleared, and no onboarding.
    r = client.post(
        f"/team/{kim.id}",
        data={"name": "Kim", "timezone": "UTC", "start_date": "", "csrf_token": token},
    )
    assert r.status_code == 200 and "</time>" not in r.text
    assert len(onboarded) == 2


def test_other_organisations_member_pages_are_not_found(
    client: TestClient, acme: Org, globex: Org
) -> None:
    sign_in(client, "owner@acme.test")
    r = client.get(f"/team/{globex.owner.id}")
    assert r.status_code == 404
    assert "Owner of Globex" not in r.text
    token = csrf(client.get("/team").text)
    r = client.post(f"/team/{globex.owner.id}", data={"name": "x", "csrf_token": token})
    assert r.status_code == 404
    assert "Owner of Globex" not in client.get("/team").text


def test_token_secret_is_shown_once(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/settings/tokens").text)
    r = client.post("/settings/tokens", data={"name": "laptop", "csrf_token": token})
    secret = re.search(r'id="new-token">([^<]+)<', r.text)
    assert secret
    again = client.get("/settings/tokens").text
    assert secret.group(1) not in again and "laptop" in again
    r = client.post("/settings/tokens", data={"name": "nul\x00", "csrf_token": token})
    assert r.status_code == 422 and "NUL" in r.text
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"}).status_code
        == 200
    )


def test_health_ready_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {"status": "ok", "database": "ok", "queue": "ok"}
    metrics = client.get("/metrics").text
    assert 'meetbridge_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics


def test_coming_modules_say_so_honestly(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    page = client.get("/m/workflows", follow_redirects=False)  # here now: /workflows
    assert page.status_code == 303 and page.headers["location"] == "/workflows"
    assert client.get("/m/booking").status_code == 404  # booking is here: /booking/types
    assert client.get("/m/requests").status_code == 404  # here too: /requests
    assert client.get("/m/nonsense").status_code == 404


def test_audit_paging_survives_any_number(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    for before in ("1", "2147483648", "99999999999999999999", "-3", "x"):
        assert client.get(f"/audit?before={before}").status_code == 200, before
    r = client.get("/api/v1/audit?before_id=2147483648", headers=acme.headers)
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "before_id"


def test_templates_page(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    page = client.get("/settings/templates")
    assert page.status_code == 200 and "Welcome to {{ org_name }}" in page.text
    assert "join_url" in page.text
    token = csrf(page.text)
    r = client.post(
        "/settings/templates/welcome",
        data={"csrf_token": token, "action": "save", "subject": "Hi {{ name", "body_text": "x"},
    )
    assert r.status_code == 422 and "does not render" in r.text
    r = client.post(
        "/settings/templates/welcome",
        data={
            "csrf_token": token,
            "action": "save",
            "subject": "Welcome aboard, {{ name }}",
            "body_text": "Sign in at {{ sign_in_url }}",
        },
    )
    assert r.status_code == 200 and "customised" in r.text
