"""The public booking pages over plain HTTP (no JavaScript): the type's page and its week, the
form's errors (every field at once, 422), a taken slot (409 with fresh times), the honeypot,
unknown pages (404), the confirmation (a fallback said as what it is), the manage page
(reschedule, cancel with a confirmation step, refused after the cut-off), and who may frame
which page."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from meetbridge.app import create_app
from meetbridge.booking.inputs import MeetingTypeInput, TypeMember
from meetbridge.container import Container, build_container
from tests.conftest import ORIGIN, Org, make_settings
from tests.support import SmtpServer

TODAY = dt.datetime.now(dt.UTC).date()
# A Monday one to two weeks ahead: inside the horizon, past any notice, a working day.
MONDAY = TODAY + dt.timedelta(days=7 + (7 - TODAY.weekday()))
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
PHONE = "+44 20 7946 0000"


def _type(c: Container, acme: Org, slug: str = "intro", **over: Any) -> Any:
    data = MeetingTypeInput(
        name="Intro call",
        slug=slug,
        duration=30,
        members=[TypeMember(acme.owner.id)],
        description="A first talk about your project.",
        fallback="phone",
        fallback_value=PHONE,
        show_members=True,
        **over,
    )
    view = c.meeting_types.create(acme.owner, data, ORIGIN)
    return c.meeting_types.publish(acme.owner, view.type.id, True, ORIGIN)


@pytest.fixture
def intro(container: Container, acme: Org) -> Any:
    return _type(container, acme)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match, page[:500]
    return match.group(1)


def _form(client: TestClient, start: dt.datetime, tz: str = "UTC") -> str:
    r = client.get(
        "/book/acme/intro", params={"timezone": tz, "start": start.isoformat(), "date": str(MONDAY)}
    )
    assert r.status_code == 200, r.text
    return r.text


def _book(
    client: TestClient, start: dt.datetime, email: str = "cleo@example.test", **over: str
) -> Any:
    # The check is bound to the visitor's cookie, not to a time: any form's will do.
    token = _csrf(_form(client, _at(MONDAY, 16, 30)))
    data = {
        "csrf_token": token,
        "start": start.isoformat(),
        "timezone": "UTC",
        "name": "Cleo Client",
        "email": email,
        "notes": "About the new site",
        "website": "",
        **over,
    }
    return client.post("/book/acme/intro", data=data, follow_redirects=False)


def test_the_page_shows_the_type_the_week_and_the_days_times(
    client: TestClient, intro: Any
) -> None:
    r = client.get("/book/acme/intro", params={"timezone": "Europe/Paris", "date": str(MONDAY)})
    assert r.status_code == 200
    page = r.text
    assert "<h1>Intro call</h1>" in page and "30 minutes" in page
    assert "A first talk about your project." in page and "with Owner of Acme" in page
    assert '<option value="Europe/Paris" selected>' in page
    # Every script is a file (the CSP allows no inline script), and the page has no form yet.
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert 'name="csrf_token"' not in page.split('class="tz-form"')[1].split("</form>")[0]
    first = _at(MONDAY, 9).astimezone(PARIS)
    label = f'{first:%H:%M}<span class="sr-only"> on {first:%A %d %B}, Europe/Paris time</span>'
    assert label in page
    assert page.count('class="slot"') == 16  # 09:00-17:00 by 30 minutes
    assert 'aria-current="date"' in page and 'class="day free"' in page
    assert f"{MONDAY:%A %d %B}: 16 free times" in page
    assert "Next week" in page and "Previous week</a>" in page
    weekend = client.get("/book/acme/intro", params={"date": str(MONDAY + dt.timedelta(days=5))})
    assert "No free times on this day" in weekend.text


def test_choosing_a_time_shows_the_form_with_its_hidden_trap(
    client: TestClient, intro: Any
) -> None:
    page = _form(client, _at(MONDAY, 10))
    assert 'name="csrf_token"' in page and 'aria-current="true"' in page
    trap = re.search(r'<div class="trap">(.*?)</div>', page, re.S)
    assert trap, page
    assert 'for="f-website">Leave empty</label>' in trap.group(1)
    assert 'tabindex="-1"' in trap.group(1) and 'autocomplete="off"' in trap.group(1)
    for name in ("name", "email", "notes"):
        assert f'<label for="f-{name}">' in page
    stale = client.get("/book/acme/intro", params={"start": _at(MONDAY, 3).isoformat()})
    assert "That time is not free" in stale.text and 'name="csrf_token"' not in stale.text


def test_every_bad_field_is_shown_at_once_next_to_it(
    client: TestClient, intro: Any, container: Container, acme: Org
) -> None:
    r = _book(client, _at(MONDAY, 10), email="not-an-address", name="  ", notes="x" * 2001)
    assert r.status_code == 422
    page = r.text
    for name in ("name", "email", "notes"):
        assert f'aria-invalid="true" aria-describedby="e-{name}"' in page, name
        assert f'<p class="field-error" id="e-{name}">' in page, name
    assert 'value="not-an-address"' in page  # the input is kept
    assert page.count("autofocus") == 1 and re.search(r'id="f-name"[^>]* autofocus', page)
    assert 'name="csrf_token"' in page  # the form is there to send again
    assert container.bookings.find(acme.owner) == []


def test_the_honeypot_refuses_and_writes_nothing(
    client: TestClient, intro: Any, container: Container, acme: Org
) -> None:
    r = _book(client, _at(MONDAY, 10), website="https://spam.example")
    assert r.status_code == 422
    assert "could not be sent" in r.text
    assert container.bookings.find(acme.owner) == []


def test_a_form_without_its_check_is_refused(client: TestClient, intro: Any) -> None:
    r = client.post(
        "/book/acme/intro",
        data={"start": _at(MONDAY, 10).isoformat(), "name": "X", "email": "x@example.test"},
    )
    assert r.status_code == 403 and "Nothing was booked" in r.text


def test_a_taken_time_answers_409_with_fresh_times(client: TestClient, intro: Any) -> None:
    at = _at(MONDAY, 11)
    assert _book(client, at).status_code == 303
    r = _book(client, at, email="dan@example.test")
    assert r.status_code == 409
    assert (
        'role="alert" id="taken">This time' in r.text and "The times below are free now" in r.text
    )
    assert r.text.count('class="slot"') == 15  # the day again, without the taken time
    assert f"start={html.escape(at.isoformat()).replace('+', '%2B')}" not in r.text
    assert 'value="dan@example.test"' not in r.text  # no time chosen: no form


def test_booking_confirms_truthfully_and_the_manage_page_moves_and_cancels(
    client: TestClient, intro: Any, container: Container, acme: Org
) -> None:
    r = _book(client, _at(MONDAY, 10))
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert done.status_code == 200
    assert "You are booked" in done.text and "Phone: " + PHONE in done.text
    assert "Zoom" not in done.text  # a fallback is never called Zoom
    assert f'data-booking-start="{_at(MONDAY, 10).isoformat()}"' in done.text
    manage = re.search(r'href="(/book/manage/[^"]+)"', done.text)
    assert manage
    url = manage.group(1)

    page = client.get(url, params={"timezone": "UTC", "date": str(MONDAY)})
    assert page.status_code == 200 and "Move it to another time" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    new = _at(MONDAY + dt.timedelta(days=1), 14)
    chosen = client.get(
        url, params={"timezone": "UTC", "start": new.isoformat(), "date": str(new.date())}
    )
    assert "Move to " in chosen.text
    moved = client.post(
        f"{url}/reschedule",
        data={"csrf_token": _csrf(chosen.text), "start": new.isoformat(), "timezone": "UTC"},
        follow_redirects=True,
    )
    assert moved.status_code == 200 and "Your booking is moved to" in moved.text
    [bk] = container.bookings.find(acme.owner)
    assert bk.start_at == new

    ask = client.get(url, params={"step": "cancel"})
    assert "Cancel this booking?" in ask.text
    cancelled = client.post(
        f"{url}/cancel", data={"csrf_token": _csrf(ask.text)}, follow_redirects=True
    )
    assert "This booking is cancelled" in cancelled.text
    assert "Move it to another time" not in cancelled.text
    assert container.bookings.find(acme.owner)[0].status == "cancelled"


def test_after_the_cut_off_the_manage_page_says_why(
    client: TestClient, container: Container, acme: Org
) -> None:
    _type(container, acme, "late", cutoff=7 * 24 * 60)
    b = container.bookings.bookable("acme", "late")
    now = dt.datetime.now(dt.UTC)
    first = container.bookings.slots(b, now, now + dt.timedelta(days=6))[0]
    page = client.get(
        "/book/acme/late",
        params={"start": first.start.isoformat(), "date": str(first.start.date())},
    )
    r = client.post(
        "/book/acme/late",
        data={
            "csrf_token": _csrf(page.text),
            "start": first.start.isoformat(),
            "timezone": "UTC",
            "name": "Cleo",
            "email": "cleo@example.test",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    bk = container.bookings.find(acme.owner)[0]
    url = f"/book/manage/{bk.id}/{container.bookings.manage_token(bk.id)}"
    token = _csrf(page.text)
    page = client.get(url)
    assert "You cannot change it here: changes close" in page.text
    assert "Move it to another time" not in page.text
    refused = client.post(f"{url}/cancel", data={"csrf_token": token})
    assert refused.status_code == 409 and "changes close" in refused.text


def test_unknown_pages_are_404(client: TestClient, container: Container, acme: Org) -> None:
    _type(container, acme)
    draft = container.meeting_types.create(
        acme.owner,
        MeetingTypeInput(
            name="Draft", slug="draft", duration=30, members=[TypeMember(acme.owner.id)]
        ),
        ORIGIN,
    )
    assert not draft.type.published
    for path in ("/book/nobody/intro", "/book/acme/nothing", "/book/acme/draft"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "This booking page does not exist" in r.text
    bad = client.get("/book/manage/x/y")
    assert bad.status_code == 404
    assert "frame-ancestors 'none'" in bad.headers["content-security-policy"]


def test_booking_pages_may_be_framed_and_nothing_else(client: TestClient, intro: Any) -> None:
    for path in ("/book/acme/intro", "/book/acme/intro?embed=1", "/book/acme/nothing"):
        csp = client.get(path).headers["content-security-policy"]
        assert csp.endswith("frame-ancestors *"), path
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    for path in ("/signin", "/static/embed.js"):
        assert (
            client.get(path).headers["content-security-policy"].endswith("frame-ancestors 'none'")
        )
    embedded = client.get("/book/acme/intro", params={"embed": "1", "date": str(MONDAY)}).text
    assert 'class="booking embedded"' in embedded
    assert "embed=1" in embedded.split('class="slot-list"')[1]  # the frame stays in embed mode


def test_odd_dates_and_times_are_answered_not_crashed(client: TestClient, intro: Any) -> None:
    for params in (
        {"date": "9999-12-31"},
        {"date": "0001-01-01"},
        {"date": "not-a-date", "timezone": "Not/AZone"},
        {"start": "9999-12-31T23:59:59-14:00"},
    ):
        r = client.get("/book/acme/intro", params=params)
        assert r.status_code == 200, params
    token = _csrf(_form(client, _at(MONDAY, 10)))
    data = {"csrf_token": token, "start": "9999-12-31T23:59:59-14:00", "timezone": "UTC"}
    r = client.post("/book/acme/intro", data={**data, "name": "A", "email": "a@example.test"})
    assert r.status_code in (409, 422), r.text


def test_a_sub_account_has_its_own_booking_pages(
    client: TestClient, container: Container, acme: Org
) -> None:
    _org, owner = container.orgs.create_organization(
        name="Acme Paris",
        slug="acme-paris",
        owner_email="owner@paris.acme.test",
        owner_name="Paris Owner",
        owner_password="correct-horse-battery",
        origin=ORIGIN,
        parent_id=acme.owner.org_id,
    )
    data = MeetingTypeInput(
        name="Visit",
        slug="visit",
        duration=60,
        members=[TypeMember(owner.id)],
        fallback="in_person",
        fallback_value="1 rue de la Paix, Paris",
    )
    view = container.meeting_types.create(owner, data, ORIGIN)
    container.meeting_types.publish(owner, view.type.id, True, ORIGIN)
    page = client.get("/book/acme-paris/visit", params={"date": str(MONDAY)})
    assert page.status_code == 200 and "<h1>Visit</h1>" in page.text
    assert "with Paris Owner" not in page.text  # the type does not show its members
    assert client.get("/book/acme/visit").status_code == 404  # not the parent's
    start = _at(MONDAY, 10)
    form = client.get("/book/acme-paris/visit", params={"start": start.isoformat()}).text
    r = client.post(
        "/book/acme-paris/visit",
        data={
            "csrf_token": _csrf(form),
            "start": start.isoformat(),
            "timezone": "UTC",
            "name": "Cleo",
            "email": "cleo@example.test",
        },
        follow_redirects=True,
    )
    assert "You are booked" in r.text and "In person" in r.text
    assert "In person: 1 rue de la Paix, Paris" in r.text and "Zoom" not in r.text


def test_in_a_frame_over_https_the_check_cookie_is_a_partitioned_third_party_one(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    settings = make_settings(tmp_path, database_url, smtp, base_url="https://book.example.test")
    c = build_container(settings, immediate_jobs=True)
    try:
        app = create_app(c)
        with TestClient(app, base_url="https://book.example.test") as https:
            framed = https.get("/book/acme/intro", params={"embed": "1"})
        with TestClient(app, base_url="https://book.example.test") as https:
            plain = https.get("/book/acme/intro")  # not framed: first-party, as ever
    finally:
        c.close()
    cookie = framed.headers["set-cookie"]
    assert cookie.startswith("mb_anon=") and "SameSite=none; Secure; Partitioned" in cookie
    assert "samesite=lax" not in cookie.lower()
    assert "SameSite=lax" in plain.headers["set-cookie"]
