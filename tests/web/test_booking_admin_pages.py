"""The signed-in booking pages over HTTP: meeting types (every field, all errors at once,
publish refused then allowed, the embed snippets, delete), availability (hours, overrides,
errors, calendars), bookings (list, filters, CSV, cancel, reschedule), the Team page's booking
health, and tenancy: another organisation's ids are 404s."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from fastapi.testclient import TestClient

from meetbridge.booking.inputs import BookingInput, MeetingTypeInput, TypeMember
from meetbridge.booking.tables import Booking
from meetbridge.container import Container
from meetbridge.web.booking_admin import shown_url
from tests.conftest import ORIGIN, Org
from tests.web.test_pages import add_member, csrf, sign_in


def type_form(token: str, owner_id: str, **over: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "name": "Intro call",
        "slug": "intro-call",
        "description": "Twenty minutes to get to know each other.",
        "duration": "20",
        "interval": "30",
        "assignment": "one",
        f"member_{owner_id}": "on",
        f"weight_{owner_id}": "3",
        f"priority_{owner_id}": "high",
        "buffer_before": "5",
        "buffer_after": "10",
        "min_notice": "120",
        "horizon_days": "30",
        "daily_cap": "4",
        "reminders": "1440, 60",
        "cutoff": "240",
        "fallback": "none",
        "fallback_value": "",
        "show_members": "on",
    }
    form.update(over)
    return form


def create_type(client: TestClient, org: Org, **over: str) -> str:
    token = csrf(client.get("/booking/types/new").text)
    r = client.post(
        "/booking/types/new", data=type_form(token, org.owner.id, **over), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"].rsplit("/", 1)[1])


def field_error(page: str, name: str) -> str:
    """The error shown under the field `name` of the page's form."""
    match = re.search(
        rf'name="{name}"[^>]*>(?:[^<]*</textarea>)?<span class="field-error" role="alert">([^<]*)',
        page,
    )
    return html.unescape(match.group(1)) if match else ""


def test_an_admin_creates_a_type_with_every_field(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    type_id = create_type(client, acme)
    view = container.meeting_types.get(acme.owner, type_id)
    t = view.type
    assert (t.name, t.slug, t.duration_min, t.interval_min) == ("Intro call", "intro-call", 20, 30)
    assert t.description.startswith("Twenty minutes")
    assert (t.buffer_before_min, t.buffer_after_min, t.min_notice_min) == (5, 10, 120)
    assert (t.horizon_days, t.daily_cap, t.cutoff_min) == (30, 4, 240)
    assert t.reminders_min == [1440, 60] and t.show_members and not t.published
    [m] = view.members
    assert (m.user_id, m.weight, m.priority) == (acme.owner.id, 3, 2)

    page = client.get(f"/booking/types/{type_id}").text
    assert 'value="1440, 60"' in page and 'value="intro-call"' in page
    listing = client.get("/booking/types").text
    assert "Intro call" in listing and "20 min" in listing and "not published" in listing
    assert "http://testserver/book/acme/intro-call" in listing


def test_every_field_error_is_shown_at_once(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/booking/types/new").text)
    bad = type_form(
        token,
        acme.owner.id,
        name="",
        slug="Not A Slug",
        duration="soon",  # not a number: the page says so, with the service's reasons
        buffer_before="9999",
        horizon_days="0",
        reminders="1440, 60, 30, 10",
        fallback="phone",
        fallback_value="",
    )
    r = client.post("/booking/types/new", data=bad)
    assert r.status_code == 422
    page = r.text
    assert field_error(page, "name") == "must not be empty"
    assert "lower-case letters" in field_error(page, "slug")
    assert field_error(page, "duration") == "must be a whole number"
    assert "0 to 720" in field_error(page, "buffer_before")
    assert "1 to 365" in field_error(page, "horizon_days")
    assert "at most 3 reminders" in field_error(page, "reminders")
    assert "phone number" in field_error(page, "fallback_value")
    assert 'value="Not A Slug"' in page  # what was typed stays
    # The numbers parse: the service's own reasons, all at once, and nothing written.
    bad["duration"] = "2"
    page = client.post("/booking/types/new", data=bad).text
    assert "5 to 1440" in field_error(page, "duration") and field_error(page, "name")
    assert client.get("/booking/types").text.count("data-type-id=") == 0


def test_publish_is_refused_without_zoom_or_fallback_then_allowed(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    type_id = create_type(client, acme)
    page = client.get(f"/booking/types/{type_id}").text
    assert "No Zoom" in page  # the owner has not connected Zoom
    unassigned = type_form(csrf(page), acme.owner.id)
    del unassigned[f"member_{acme.owner.id}"]
    assert client.post(f"/booking/types/{type_id}", data=unassigned).status_code == 200
    r = client.post(
        f"/booking/types/{type_id}/publish", data={"csrf_token": csrf(page), "published": "yes"}
    )
    assert r.status_code == 422
    assert "Not published: assign at least one member before publishing" in r.text
    form = type_form(csrf(page), acme.owner.id)
    assert client.post(f"/booking/types/{type_id}", data=form).status_code == 200
    r = client.post(
        f"/booking/types/{type_id}/publish", data={"csrf_token": csrf(page), "published": "yes"}
    )
    assert r.status_code == 409
    assert "no assigned member has a working Zoom and no fallback location is set" in r.text
    assert not container.meeting_types.get(acme.owner, type_id).type.published

    form = type_form(csrf(page), acme.owner.id, fallback="phone", fallback_value="+1 555 0100")
    assert client.post(f"/booking/types/{type_id}", data=form).status_code == 200
    r = client.post(
        f"/booking/types/{type_id}/publish", data={"csrf_token": csrf(page), "published": "yes"}
    )
    assert r.status_code == 200 and "is published" in r.text
    assert container.meeting_types.get(acme.owner, type_id).type.published
    assert 'status ok">published' in client.get("/booking/types").text
    r = client.post(
        f"/booking/types/{type_id}/publish", data={"csrf_token": csrf(page), "published": "no"}
    )
    assert "is unpublished" in r.text


def test_the_embed_snippets_are_on_the_type_page(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    type_id = create_type(client, acme)
    page = client.get(f"/booking/types/{type_id}").text
    base, book = "http://testserver", "http://testserver/book/acme/intro-call"
    for mode in ("inline", "popup"):
        snippet = (
            f'<script src="{base}/static/embed.js" data-meetbridge-book="{book}" '
            f'data-mode="{mode}"></script>'
        )
        box = re.search(
            rf'<textarea id="snippet-{mode}"[^>]*readonly[^>]*>([^<]*)</textarea>', page
        )
        assert box and html.unescape(box.group(1)) == snippet
        copies = [html.unescape(v) for v in re.findall(r'data-copy="([^"]*)"', page)]
        assert snippet in copies
    frame = re.search(r'<textarea id="snippet-iframe"[^>]*>([^<]*)</textarea>', page)
    assert frame and html.unescape(frame.group(1)).startswith(f'<iframe src="{book}" ')
    assert f'href="{book}"' in page
    assert "<script>" not in page  # no inline script, for the CSP


def test_members_see_types_read_only(client: TestClient, container: Container, acme: Org) -> None:
    add_member(container, acme)
    sign_in(client, "owner@acme.test")
    type_id = create_type(client, acme)
    client.cookies.clear()
    sign_in(client, "ann@acme.test")
    listing = client.get("/booking/types").text
    assert "Intro call" in listing and "New meeting type" not in listing
    page = client.get(f"/booking/types/{type_id}").text
    assert "<fieldset disabled" in page and "Publish</button>" not in page
    assert client.get("/booking/types/new").status_code == 403
    token = csrf(page)
    r = client.post(f"/booking/types/{type_id}", data=type_form(token, acme.owner.id, name="X"))
    assert r.status_code == 403
    r = client.post(f"/booking/types/{type_id}/publish", data={"csrf_token": token})
    assert r.status_code == 403
    r = client.post(f"/booking/types/{type_id}/delete", data={"csrf_token": token, "confirm": "on"})
    assert r.status_code == 403
    assert container.meeting_types.get(acme.owner, type_id).type.name == "Intro call"


def _bookable_type(c: Container, org: Org, slug: str = "intro-call", **over: Any) -> str:
    """A published type on a phone fallback (no Zoom here), bookable at any hour."""
    data = MeetingTypeInput(
        name=over.pop("name", "Intro call"),
        slug=slug,
        duration=30,
        members=[TypeMember(org.owner.id)],
        fallback="phone",
        fallback_value="+1 555 0100",
        horizon_days=30,
        **over,
    )
    view = c.meeting_types.create(org.owner, data, ORIGIN)
    c.meeting_types.publish(org.owner, view.type.id, True, ORIGIN)
    return view.type.id


def _all_week(c: Container, org: Org) -> None:
    from meetbridge.booking.inputs import AvailabilityInput

    every = {str(d): [[0, 1440]] for d in range(7)}
    c.availability.set(org.owner, org.owner.id, AvailabilityInput("UTC", every), ORIGIN)


def _book(c: Container, org_slug: str, slug: str, name: str, nth: int = 0) -> Booking:
    b = c.bookings.bookable(org_slug, slug)
    now = c.clock.now()
    slot = c.bookings.slots(b, now + dt.timedelta(days=2), now + dt.timedelta(days=9))[nth]
    data = BookingInput(
        start=slot.start.isoformat(), name=name, email=f"{name.lower()}@client.test", timezone="UTC"
    )
    return c.bookings.book(org_slug, slug, data, ORIGIN)


def test_delete_is_refused_while_bookings_use_the_type(
    client: TestClient, container: Container, acme: Org
) -> None:
    _all_week(container, acme)
    used = _bookable_type(container, acme)
    _book(container, "acme", "intro-call", "Bea")
    sign_in(client, "owner@acme.test")
    spare = create_type(client, acme, slug="spare", name="Spare")
    token = csrf(client.get(f"/booking/types/{used}").text)
    r = client.post(f"/booking/types/{used}/delete", data={"csrf_token": token})
    assert r.status_code == 422 and "tick the box" in r.text
    r = client.post(f"/booking/types/{used}/delete", data={"csrf_token": token, "confirm": "on"})
    assert r.status_code == 409 and "1 booking(s) use this type" in r.text
    r = client.post(
        f"/booking/types/{spare}/delete",
        data={"csrf_token": token, "confirm": "on"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(f"/booking/types/{spare}").status_code == 404


def test_availability_is_saved_and_every_error_shown(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    page = client.get("/booking/availability")
    assert page.status_code == 200
    assert 'name="day_0" maxlength="300" value="09:00-17:00"' in page.text  # the default
    assert "No Zoom" in page.text
    token = csrf(page.text)
    form = {
        "csrf_token": token,
        "timezone": "Europe/Berlin",
        "day_0": "09:00-12:00, 13:00-17:00",
        "day_1": "08:30\u201316:00",
        "day_2": "",
        "day_4": "10:00-14:00",
        "overrides": "2027-03-01 10:00-12:00\n2027-03-02 off\n",
        "location": "link",
        "location_value": "https://meet.example.test/room",
    }
    r = client.post("/booking/availability/" + acme.owner.id, data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/booking/availability"
    row = container.availability.get(acme.owner, acme.owner.id)
    assert row.timezone == "Europe/Berlin"
    assert row.weekly == {"0": [[540, 720], [780, 1020]], "1": [[510, 960]], "4": [[600, 840]]}
    assert row.overrides == {"2027-03-01": [[600, 720]], "2027-03-02": []}
    assert (row.location, row.location_value) == ("link", "https://meet.example.test/room")
    page = client.get("/booking/availability").text
    assert "2027-03-02 off" in page and 'value="09:00-12:00, 13:00-17:00"' in page

    bad = {
        **form,
        "timezone": "Mars/Olympus",
        "day_0": "9 to 5",
        "day_3": "12:00-10:00",
        "overrides": "2027-02-30 10:00-12:00",
        "location": "phone",
        "location_value": "",
    }
    r = client.post("/booking/availability/" + acme.owner.id, data=bad)
    assert r.status_code == 422
    assert "unknown time zone" in field_error(r.text, "timezone")
    assert "09:00-12:00" in field_error(r.text, "day_0")
    assert "YYYY-MM-DD" in field_error(r.text, "overrides")
    assert "number or the address" in field_error(r.text, "location_value")
    # The parsable part broken too: the service's reason for it, with the rest.
    bad["day_0"] = ""
    r = client.post("/booking/availability/" + acme.owner.id, data=bad)
    assert field_error(r.text, "day_3") and field_error(r.text, "timezone")
    assert container.availability.get(acme.owner, acme.owner.id).timezone == "Europe/Berlin"


def test_admins_edit_a_members_availability_members_only_their_own(
    client: TestClient, container: Container, acme: Org
) -> None:
    ann = add_member(container, acme)
    sign_in(client, "owner@acme.test")
    page = client.get(f"/booking/availability/{ann.id}")
    assert page.status_code == 200 and "Availability of Ann" in page.text
    r = client.get(f"/booking/availability/pick?member={ann.id}", follow_redirects=False)
    assert r.headers["location"] == f"/booking/availability/{ann.id}"
    client.cookies.clear()
    sign_in(client, "ann@acme.test")
    assert client.get(f"/booking/availability/{acme.owner.id}").status_code in (403, 404)
    token = csrf(client.get("/booking/availability").text)
    r = client.post(
        f"/booking/availability/{acme.owner.id}",
        data={"csrf_token": token, "timezone": "UTC", "location": "zoom"},
    )
    assert r.status_code in (403, 404)


def test_a_feed_calendar_on_a_private_address_shows_why_it_is_not_read(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/booking/availability").text)
    base = f"/booking/availability/{acme.owner.id}/calendars"
    r = client.post(base, data={"csrf_token": token, "kind": "feed", "url": "ftp://x"})
    assert r.status_code == 422 and "must start with https://" in r.text
    r = client.post(
        base,
        data={"csrf_token": token, "kind": "caldav", "url": "https://dav.example.test/"},
    )
    assert r.status_code == 422 and "CalDAV needs the user name" in r.text
    # CalDAV is checked when it is added: the reason shows under the address, nothing saved.
    r = client.post(
        base,
        data={
            "csrf_token": token,
            "kind": "caldav",
            "url": "http://127.0.0.1:9/dav/",
            "username": "member",
            "password": "s3cret-Pass",
        },
    )
    assert r.status_code == 422 and field_error(r.text, "url")
    assert 'value="member"' in r.text and "s3cret-Pass" not in r.text
    assert container.availability.list_calendars(acme.owner, acme.owner.id) == []
    r = client.post(
        base,
        data={
            "csrf_token": token,
            "kind": "feed",
            "url": "http://127.0.0.1:9/busy.ics",
            "password": "never-shown",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    [cal] = container.availability.list_calendars(acme.owner, acme.owner.id)
    assert cal.last_error  # the refresh ran (jobs run inline here) and was refused
    page = client.get("/booking/availability").text
    assert "http://127.0.0.1:9/busy.ics" in page
    assert html.escape(cal.last_error, quote=False) in page and "cal-error" in page
    assert "never-shown" not in page
    r = client.post(f"{base}/{cal.id}/remove", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert container.availability.list_calendars(acme.owner, acme.owner.id) == []


def test_bookings_list_filters_csv_cancel_and_reschedule(
    client: TestClient, container: Container, acme: Org
) -> None:
    _all_week(container, acme)
    intro = _bookable_type(container, acme)
    other = _bookable_type(container, acme, slug="deep-dive", name="Deep dive")
    bea = _book(container, "acme", "intro-call", "Bea")
    _book(container, "acme", "deep-dive", "Cy", nth=5)
    sign_in(client, "owner@acme.test")
    page = client.get("/booking/bookings").text
    assert "Bea" in page and "Cy" in page and "fallback: phone" in page
    only = client.get(f"/booking/bookings?type={intro}").text
    assert "Bea" in only and "Cy" not in only
    assert "Cy" in client.get(f"/booking/bookings?type={other}&status=confirmed").text
    assert "Bea" not in client.get("/booking/bookings?status=cancelled").text
    later = (bea.start_at + dt.timedelta(days=40)).date().isoformat()
    assert "Bea" not in client.get(f"/booking/bookings?from={later}").text
    assert "Bea" in client.get(f"/booking/bookings?to={later}").text
    assert client.get("/booking/bookings?from=2027-02-30&to=x").status_code == 200
    assert f'href="/booking/bookings.csv?type={intro}"' in only

    csv = client.get(f"/booking/bookings.csv?type={intro}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("id,type,start") and len(lines) == 2 and "Bea" in lines[1]

    token = csrf(page)
    new = (bea.start_at + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        f"/booking/bookings/{bea.id}/reschedule",
        data={"csrf_token": token, "start": new, "timezone": "UTC"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    moved = container.bookings.get(acme.owner, bea.id)
    assert moved.start_at == bea.start_at + dt.timedelta(days=1)
    r = client.post(
        f"/booking/bookings/{bea.id}/reschedule",
        data={"csrf_token": token, "start": "soon", "timezone": "Nowhere/Land"},
    )
    assert r.status_code == 422 and "unknown time zone" in r.text and "date and time" in r.text
    r = client.post(f"/booking/bookings/{bea.id}/reassign", data={"csrf_token": token})
    assert r.status_code == 409 and "only round-robin" in r.text
    r = client.post(f"/booking/bookings/{bea.id}/cancel", data={"csrf_token": token})
    assert r.status_code == 422 and "tick the box" in r.text
    r = client.post(
        f"/booking/bookings/{bea.id}/cancel", data={"csrf_token": token, "confirm": "on"}
    )
    assert r.status_code == 200 and "cancelled; they are told" in r.text
    assert container.bookings.get(acme.owner, bea.id).status == "cancelled"
    assert "Bea" in client.get("/booking/bookings?status=cancelled").text


def test_an_admin_reassigns_a_round_robin_booking(
    client: TestClient, container: Container, acme: Org
) -> None:
    from meetbridge.booking.inputs import AvailabilityInput

    ann = add_member(container, acme)
    every = {str(d): [[0, 1440]] for d in range(7)}
    for who in (acme.owner, ann):
        container.availability.set(acme.owner, who.id, AvailabilityInput("UTC", every), ORIGIN)
    data = MeetingTypeInput(
        name="Support",
        slug="support",
        duration=30,
        assignment="round_robin",
        members=[TypeMember(acme.owner.id), TypeMember(ann.id)],
        fallback="phone",
        fallback_value="+1 555 0100",
    )
    view = container.meeting_types.create(acme.owner, data, ORIGIN)
    container.meeting_types.publish(acme.owner, view.type.id, True, ORIGIN)
    bk = _book(container, "acme", "support", "Eve")
    sign_in(client, "owner@acme.test")
    page = client.get("/booking/bookings").text
    assert f"/booking/bookings/{bk.id}/reassign" in page and bk.assignment_reason in page
    r = client.post(
        f"/booking/bookings/{bk.id}/reassign",
        data={"csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = container.bookings.get(acme.owner, bk.id)
    assert after.host_user_id != bk.host_user_id and after.start_at == bk.start_at
    # A member sees only their own bookings, and no reassign button.
    client.cookies.clear()
    sign_in(client, "ann@acme.test")
    mine = client.get("/booking/bookings").text
    assert ("Eve" in mine) == (after.host_user_id == ann.id)
    assert "/reassign" not in mine


def test_the_team_page_shows_booking_health(
    client: TestClient, container: Container, acme: Org
) -> None:
    _bookable_type(container, acme)
    sign_in(client, "owner@acme.test")
    page = client.get("/team").text
    assert "Booking:" in page and "No Zoom" in page and "affects Intro call" in page


def test_another_organisations_ids_are_404(
    client: TestClient, container: Container, acme: Org, globex: Org
) -> None:
    _all_week(container, globex)
    theirs = _bookable_type(container, globex)
    booking = _book(container, "globex", "intro-call", "Dee")
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/booking/types").text)
    assert client.get(f"/booking/types/{theirs}").status_code == 404
    for path, data in (
        (f"/booking/types/{theirs}", type_form(token, acme.owner.id)),
        (f"/booking/types/{theirs}/publish", {"csrf_token": token}),
        (f"/booking/types/{theirs}/delete", {"csrf_token": token, "confirm": "on"}),
        (f"/booking/bookings/{booking.id}/cancel", {"csrf_token": token, "confirm": "on"}),
        (f"/booking/bookings/{booking.id}/reassign", {"csrf_token": token}),
        (
            f"/booking/bookings/{booking.id}/reschedule",
            {"csrf_token": token, "start": "2030-01-01T10:00", "timezone": "UTC"},
        ),
        (f"/booking/availability/{globex.owner.id}", {"csrf_token": token, "timezone": "UTC"}),
        (
            f"/booking/availability/{globex.owner.id}/calendars",
            {"csrf_token": token, "kind": "feed", "url": "https://x.test/a.ics"},
        ),
    ):
        assert client.post(path, data=data).status_code == 404, path
    assert client.get(f"/booking/availability/{globex.owner.id}").status_code == 404
    assert "Dee" not in client.get("/booking/bookings").text
    assert "Dee" not in client.get(f"/booking/bookings.csv?member={globex.owner.id}").text
    assert container.bookings.get(globex.owner, booking.id).status == "confirmed"
    assert container.meeting_types.get(globex.owner, theirs).type.published


def test_a_calendar_address_is_shown_without_its_password() -> None:
    assert shown_url("https://ann:s3cret@dav.example.test:8443/cal/?x=1") == (
        "https://dav.example.test:8443/cal/?x=1"
    )
    assert shown_url("webcal://example.test/a.ics") == "webcal://example.test/a.ics"
