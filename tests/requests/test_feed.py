"""A person's iCalendar feed, read as a calendar would: over real HTTP from the live product,
parsed by two independent parsers (`icalendar`, `vobject`) and fetched by the product's own
feed reader (integrations/calendars, a real HTTP client that sends If-None-Match). Meetings
are made at the Zoom sandbox through the meetings service; service requests are written as
rows (the requests service comes separately)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
import vobject
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select, update

from meetbridge.app import create_app
from meetbridge.container import Container, build_container
from meetbridge.core.calendars import CalendarError
from meetbridge.core.clock import ManualClock
from meetbridge.core.models import AuditEvent, Meeting, MeetingInvitee, User, new_id
from meetbridge.integrations.calendars import CalendarClient
from meetbridge.meetings.inputs import MeetingChanges, MeetingInput
from meetbridge.meetings.source import Source, SourceKind
from meetbridge.requests.feed import AHEAD, PAST, CalendarFeeds, matches
from meetbridge.requests.inputs import RequestInput
from meetbridge.requests.tables import (
    CalendarFeed,
    RequestKind,
    RequestParticipant,
    RequestStatus,
    ServiceRequest,
)
from tests.calendar_servers import make_tls_files
from tests.conftest import ORIGIN, PASSWORD, Org, make_org
from tests.support import SmtpServer, free_port
from tests.zoom_env import ZoomEnv, csrf, zoom_env

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp, zoom_timeout=2.0) as e:
        e.connect(e.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        e.connect(e.signed_in("bob@acme.test"), "sam@zoom-sandbox.test")
        yield e


def _meeting(c: Container, host: User, title: str, start: dt.datetime, **kw: Any) -> Meeting:
    data = MeetingInput(
        title=title, start=start.replace(tzinfo=None), timezone="UTC", duration=45, **kw
    )
    return _settled(c, host, c.meetings.schedule(host, data, ORIGIN).id)


def _settled(c: Container, actor: User, meeting_id: str) -> Meeting:
    """The meeting once Zoom has answered (the jobs run at once in the tests)."""
    deadline = time.monotonic() + 20
    while True:
        m = c.meetings.get(actor, meeting_id)
        if m.status in ("scheduled", "cancelled", "failed"):
            return m
        assert time.monotonic() < deadline, m.status
        time.sleep(0.05)


def _request(
    c: Container,
    org_id: str,
    start: dt.datetime,
    *,
    service: str = "Interpreting",
    client: str = "Clinic",
    people: tuple[tuple[str | None, str], ...] = (),
    **kw: Any,
) -> ServiceRequest:
    values: dict[str, Any] = {
        "org_id": org_id,
        "client": client,
        "service": service,
        "start_at": start,
        "end_at": start + dt.timedelta(hours=1),
        "timezone": "UTC",
        "updated_at": NOW,
        **kw,
    }
    with c.db.write() as s:
        r = ServiceRequest(**values)
        s.add(r)
        s.flush()
        for user_id, email in people:
            s.add(
                RequestParticipant(request_id=r.id, role="provider", user_id=user_id, email=email)
            )
    return r


def _set(c: Container, request_id: str, **values: Any) -> None:
    with c.db.write() as s:
        r = s.get(ServiceRequest, request_id)
        assert r is not None
        for k, v in values.items():
            setattr(r, k, v)


def _make_feed_on_the_page(env: ZoomEnv, browser: httpx.Client) -> tuple[str, str]:
    page = browser.get("/settings/calendar-feed")
    assert page.status_code == 200 and "You have no calendar feed" in page.text
    r = browser.post("/settings/calendar-feed", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"  # the page shows the secret
    assert r.headers["referrer-policy"] == "no-referrer"
    https = re.search(r'id="feed-url" readonly value="([^"]+)"', r.text)
    webcal = re.search(r'href="(webcal://[^"]+)" id="feed-webcal"', r.text)
    assert https and webcal, r.text
    assert https.group(1).startswith(f"{env.product}/feeds/mbf_")
    assert webcal.group(1) == "webcal://" + https.group(1).split("://", 1)[1]
    # Shown once: the next visit shows that a feed exists, never its address.
    again = browser.get("/settings/calendar-feed").text
    assert https.group(1) not in again and "Replace the address" in again
    return https.group(1), webcal.group(1)


@contextmanager
def _over_https(c: Container, folder: Path) -> Iterator[tuple[str, Path]]:
    """The same product, also served over HTTPS with a certificate for `localhost` from a
    throwaway CA: webcal:// means https to a calendar (and to our reader), as it does for
    a deployment behind TLS. Yields the https origin and the CA to trust."""
    import threading

    import uvicorn

    ca, cert, key = make_tls_files(folder)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(c),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the HTTPS server did not start"
        time.sleep(0.02)
    try:
        yield f"localhost:{port}", ca
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _events(body: bytes) -> dict[str, icalendar.cal.Component]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def _vevents(body: bytes) -> dict[str, Any]:
    cal = vobject.readOne(body.decode())
    return {e.uid.value: e for e in cal.vevent_list}


def _busy(reader: CalendarClient, url: str, etag: str | None = None) -> Any:
    return reader.read_feed(url, etag, NOW - 100 * DAY, NOW + 400 * DAY, "UTC")


def test_the_feed_in_two_parsers_and_a_real_client(env: ZoomEnv, tmp_path: Path) -> None:
    with _over_https(env.c, tmp_path) as (tls_host, ca):
        _the_feed(env, tls_host, ca)


def _the_feed(env: ZoomEnv, tls_host: str, ca: Path) -> None:
    c = env.c
    ann, bob = env.user("ann@acme.test"), env.user("bob@acme.test")
    url, offered = _make_feed_on_the_page(env, env.signed_in("ann@acme.test"))
    # The address the page offers, on the HTTPS side of the same server.
    webcal = offered.replace(env.product.split("://", 1)[1], tls_host)
    assert webcal.startswith("webcal://localhost:")

    at = (NOW + 5 * DAY).replace(hour=9, minute=0, second=0)
    hosted = _meeting(c, ann, "Kick-off", at, invitees=["guest@example.test"])
    invited = _meeting(c, bob, "Bob's sync", at + DAY, invitees=["ann@acme.test"])
    not_hers = _meeting(c, bob, "Bob alone", at + DAY, invitees=["eve@example.test"])
    regular = _request(
        c,
        ann.org_id,
        at + 2 * DAY,
        location="Room 4, Main St; 2nd floor",
        status=RequestStatus.CONFIRMED,
        notes="Bring the forms.\nAsk for Dr. Ng",
        people=((ann.id, ann.email),),
    )
    # A Zoom request whose client contact she is (by e-mail only), holding its own meeting.
    zoom_req = _request(
        c,
        ann.org_id,
        at + 3 * DAY,
        service="Tutoring",
        kind=RequestKind.ZOOM,
        status=RequestStatus.REQUESTED,
        people=((None, "ann@acme.test"),),
    )
    held = _meeting(
        c, ann, "Tutoring", at + 3 * DAY, source=Source(SourceKind.REQUEST, zoom_req.id)
    )
    _set(c, zoom_req.id, meeting_id=held.id)
    canceled = _request(
        c, ann.org_id, at + 4 * DAY, status=RequestStatus.CANCELED, created_by=ann.id, sequence=2
    )
    draft = _request(c, ann.org_id, at, status=RequestStatus.DRAFT, created_by=ann.id)
    long_ago = _request(c, ann.org_id, NOW - 200 * DAY, people=((ann.id, ann.email),))
    last_month = _request(c, ann.org_id, NOW - 30 * DAY, people=((ann.id, ann.email),))

    r = httpx.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    assert r.headers["cache-control"].startswith("private")
    assert r.headers["referrer-policy"] == "no-referrer"
    etag = r.headers["etag"]
    body = r.content
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in body
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in body

    ev = _events(body)
    vev = _vevents(body)
    meeting_uid = {m.id: f"{m.id}@meetbridge" for m in (hosted, invited, not_hers, held)}
    request_uid = {
        r.id: f"request-{r.id}@meetbridge"
        for r in (regular, zoom_req, canceled, draft, long_ago, last_month)
    }
    expected = {
        meeting_uid[hosted.id],
        meeting_uid[invited.id],
        request_uid[regular.id],
        request_uid[zoom_req.id],
        request_uid[canceled.id],
        request_uid[last_month.id],
    }
    # Not another's meeting, not a draft, not before the 90 days; a request's meeting once.
    assert set(ev) == set(vev) == expected

    k = ev[meeting_uid[hosted.id]]
    assert hosted.join_url and hosted.join_url.startswith(env.zoom)
    assert str(k["LOCATION"]) == str(k["URL"]) == hosted.join_url
    assert hosted.join_url in str(k["DESCRIPTION"])
    assert str(k["STATUS"]) == "CONFIRMED" and int(k["SEQUENCE"]) == 0
    assert k.decoded("DTSTART") == at and k.decoded("DTEND") == at + dt.timedelta(minutes=45)
    assert k["DTSTART"].to_ical().endswith(b"Z")  # UTC, no floating times
    v = vev[meeting_uid[hosted.id]]
    assert v.location.value == v.url.value == hosted.join_url
    assert v.dtstart.value == at and v.summary.value == "Kick-off"

    assert str(ev[meeting_uid[invited.id]]["LOCATION"]) == invited.join_url

    zr = ev[request_uid[zoom_req.id]]
    assert held.join_url and str(zr["LOCATION"]) == str(zr["URL"]) == held.join_url
    assert str(zr["STATUS"]) == "TENTATIVE"  # requested, not yet confirmed
    assert vev[request_uid[zoom_req.id]].description.value.startswith(
        f"Join Zoom meeting: {held.join_url}"
    )

    reg = vev[request_uid[regular.id]]  # commas, semicolons and line breaks survive
    assert reg.location.value == "Room 4, Main St; 2nd floor"
    assert "Bring the forms.\nAsk for Dr. Ng" in reg.description.value
    assert "url" not in reg.contents
    assert str(ev[request_uid[regular.id]]["LOCATION"]) == "Room 4, Main St; 2nd floor"

    gone = ev[request_uid[canceled.id]]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 2

    # The product's own feed reader, over webcal:// as a subscribing calendar would.
    reader = CalendarClient(allow_private=True, tls_verify=str(ca))
    first = _busy(reader, webcal)
    assert first.etag == etag and not first.not_modified
    starts = {b.start for b in first.busy}
    assert {at, at + DAY, at + 2 * DAY, at + 3 * DAY} <= starts
    assert at + 4 * DAY not in starts  # cancelled: free time
    same = _busy(reader, webcal, etag)
    assert same.not_modified and same.busy == ()
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304

    # A change: the meeting moves; its SEQUENCE rises and the ETag changes.
    moved = at + dt.timedelta(hours=2)
    c.meetings.update(ann, hosted.id, MeetingChanges(start=moved.replace(tzinfo=None)), ORIGIN)
    _settled(c, ann, hosted.id)
    after = _busy(reader, webcal, etag)
    assert not after.not_modified and after.etag != etag
    assert moved in {b.start for b in after.busy} and at not in {b.start for b in after.busy}
    body2 = httpx.get(url).content
    k2 = _events(body2)[meeting_uid[hosted.id]]
    assert int(k2["SEQUENCE"]) > int(k["SEQUENCE"]) and k2.decoded("DTSTART") == moved
    assert int(_vevents(body2)[meeting_uid[hosted.id]].sequence.value) == int(k2["SEQUENCE"])

    # Cancelled meetings and requests stay, as CANCELLED, without a dead link.
    c.meetings.cancel(bob, invited.id, ORIGIN)
    _settled(c, bob, invited.id)
    _set(c, regular.id, status=RequestStatus.CANCELED, sequence=1, updated_at=NOW + DAY)
    body3 = httpx.get(url).content
    ev3, vev3 = _events(body3), _vevents(body3)
    for uid in (meeting_uid[invited.id], request_uid[regular.id]):
        assert str(ev3[uid]["STATUS"]) == vev3[uid].status.value == "CANCELLED"
    assert "URL" not in ev3[meeting_uid[invited.id]]
    assert invited.join_url and invited.join_url.encode() not in body3
    assert int(ev3[meeting_uid[invited.id]]["SEQUENCE"]) == invited.sequence + 1
    assert int(ev3[request_uid[regular.id]]["SEQUENCE"]) == 1
    busy3 = {b.start for b in _busy(reader, webcal).busy}
    assert at + DAY not in busy3 and at + 2 * DAY not in busy3

    # Revoked on the page: the reader gets the 404 an unknown token gets.
    browser = env.signed_in("ann@acme.test")
    page = browser.get("/settings/calendar-feed").text
    r = browser.post("/settings/calendar-feed/revoke", data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    with pytest.raises(CalendarError, match="404"):
        _busy(reader, webcal)
    revoked, unknown = httpx.get(url), httpx.get(f"{env.product}/feeds/mbf_nothing-here.ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.content == unknown.content
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_another_organisation_never_shows(env: ZoomEnv) -> None:
    """An organisation's feed holds its own rows only, even where another organisation's
    meeting or request names the same person's address."""
    c = env.c
    ann = env.user("ann@acme.test")
    _org, owner = c.orgs.create_organization(
        name="Globex",
        owner_email="owner@globex.test",
        owner_name="Gus",
        owner_password=PASSWORD,
        origin=ORIGIN,
    )
    env.connect(env.signed_in("owner@globex.test"), "priya@zoom-sandbox.test")
    at = (NOW + 3 * DAY).replace(hour=10, minute=0, second=0)
    theirs = _meeting(c, owner, "Globex board", at, invitees=["ann@acme.test"])
    their_req = _request(
        c, owner.org_id, at, people=((None, "ann@acme.test"), (owner.id, owner.email))
    )
    mine = _meeting(c, ann, "Acme weekly", at + DAY, invitees=["owner@globex.test"])
    my_req = _request(c, ann.org_id, at + DAY, people=((ann.id, ann.email), (None, owner.email)))

    feeds = CalendarFeeds(c.db, c.meetings)
    ann_url = feeds.create(ann, ORIGIN).token
    gus_url = feeds.create(owner, ORIGIN).token
    ann_body = httpx.get(f"{env.product}/feeds/{ann_url}.ics").content
    gus_body = httpx.get(f"{env.product}/feeds/{gus_url}.ics").content
    assert set(_events(ann_body)) == {f"{mine.id}@meetbridge", f"request-{my_req.id}@meetbridge"}
    assert set(_events(gus_body)) == {
        f"{theirs.id}@meetbridge",
        f"request-{their_req.id}@meetbridge",
    }
    for body, other in ((ann_body, theirs), (gus_body, mine)):
        assert other.join_url and other.join_url.encode() not in body
        assert other.title.encode() not in body


def test_the_feed_through_the_api(client: TestClient, container: Container, acme: Org) -> None:
    """Make, see, replace and revoke the feed with an API token; the secret is in the reply
    that makes it, only its digest in the database; the feed's own edge cases."""
    assert client.get("/api/v1/calendar-feed", headers=acme.headers).status_code == 404
    made = client.post("/api/v1/calendar-feed", headers=acme.headers)
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    first = made.json()
    assert first["url"].startswith("http://testserver/feeds/mbf_")
    assert first["webcal_url"] == "webcal://testserver/feeds/" + first["url"].rsplit("/", 1)[1]
    token = first["url"].rsplit("/", 1)[1].removesuffix(".ics")
    with container.db.read() as s:
        stored = s.scalars(select(CalendarFeed.token_digest)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64

    path = f"/feeds/{token}.ics"
    empty = client.get(path)
    assert empty.status_code == 200 and b"BEGIN:VCALENDAR" in empty.content
    assert b"BEGIN:VEVENT" not in empty.content
    etag = empty.headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        assert client.get(path, headers={"If-None-Match": header}).status_code == 304, header
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    seen = client.get("/api/v1/calendar-feed", headers=acme.headers).json()
    assert seen["id"] == first["id"] and seen["last_read_at"] is not None
    assert "url" not in seen

    # Text that must be escaped and folded, read back exactly by both parsers.
    notes = "Première séance; bring: pens, paper\\ink — " + "ü" * 60
    r = _request(
        container,
        acme.owner.org_id,
        NOW + DAY,
        service="Interprétation, médicale",
        notes=notes,
        created_by=acme.owner.id,
    )
    body = client.get(path).content
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    uid = f"request-{r.id}@meetbridge"
    assert str(_events(body)[uid]["SUMMARY"]) == "Interprétation, médicale · Clinic"
    assert notes in str(_events(body)[uid]["DESCRIPTION"])
    assert notes in _vevents(body)[uid].description.value
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 200  # changed

    # Replaced: the old URL answers as an unknown one; the new one works.
    second = client.post("/api/v1/calendar-feed", headers=acme.headers).json()
    new_path = "/feeds/" + second["url"].rsplit("/", 1)[1]
    assert client.get(path).status_code == 404
    assert client.get(new_path).status_code == 200
    assert client.delete("/api/v1/calendar-feed", headers=acme.headers).status_code == 204
    assert client.get(new_path).status_code == 404
    assert client.delete("/api/v1/calendar-feed", headers=acme.headers).status_code == 404
    for junk in ("nope", "mbf_", "mbf_" + "x" * 300, "%00"):
        assert client.get(f"/feeds/{junk}.ics").status_code in (400, 404), junk
    with container.db.read() as s:
        actions = [
            a for (a,) in s.execute(select(AuditEvent.action)) if a.startswith("calendar_feed.")
        ]
    assert actions.count("calendar_feed.created") == 2
    assert actions.count("calendar_feed.revoked") == 2


def test_a_deactivated_members_feed_is_gone(
    client: TestClient, container: Container, acme: Org
) -> None:
    member = container.accounts.create_member(
        acme.owner,
        email="max@acme.test",
        name="Max",
        role="member",
        password=PASSWORD,
        origin=ORIGIN,
    )
    token = CalendarFeeds(container.db, container.meetings).create(member, ORIGIN).token
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    container.accounts.deactivate_member(acme.owner, member.id, origin=ORIGIN)
    assert client.get(f"/feeds/{token}.ics").status_code == 404


def test_if_none_match_lists() -> None:
    assert matches('"a", W/"b"', '"b"') and matches("*", '"x"')
    assert not matches(None, '"a"') and not matches('"ab"', '"a"') and not matches("", '"a"')


def test_every_change_a_calendar_would_see_changes_the_etag(settings: Any) -> None:
    """The ETag is counted by the database without reading the rows; it must still change
    whenever the body does. Each change below is made as the requests service or the meetings
    engine makes it (the engine, for one, can keep a join link Zoom gave without stamping the
    row); after each, the ETag is new, the body with it differs, and an unchanged feed keeps
    its ETag and is answered 304 without a body."""
    clock = ManualClock(NOW)
    c = build_container(settings, immediate_jobs=True, clock=clock)
    try:
        org = make_org(c, "Acme", "owner@acme.test")
        owner = org.owner
        guest = c.accounts.create_member(
            owner,
            email="gus@acme.test",
            name="Gus",
            role="member",
            password=PASSWORD,
            origin=ORIGIN,
        )
        feeds = CalendarFeeds(c.db, c.meetings, clock)
        token = feeds.create(owner, ORIGIN).token
        seen: list[tuple[str, bytes]] = []

        def changed(what: str) -> None:
            got = feeds.read(token)
            assert got is not None
            again = feeds.read(token, got.etag)
            assert again is not None and again.not_modified and again.etag == got.etag, what
            if seen:
                assert got.etag != seen[-1][0], f"{what}: the ETag did not change"
                assert got.body != seen[-1][1], f"{what}: the body did not change"
            seen.append((got.etag, got.body))
            clock.advance(1)

        def unchanged(what: str) -> None:
            got = feeds.read(token, seen[-1][0])
            assert got is not None and got.not_modified, what

        def request(start: dt.datetime, **more: Any) -> RequestInput:
            end = start + dt.timedelta(hours=1)
            return RequestInput("Clinic", "Interpreting", start, end, "UTC", **more)

        def meeting(host: User, start: dt.datetime, **more: Any) -> str:
            mid = new_id()
            values = {
                "id": mid,
                "org_id": owner.org_id,
                "host_user_id": host.id,
                "title": "Review",
                "agenda": "",
                "start_at": start,
                "duration_min": 45,
                "timezone": "UTC",
                "status": "scheduled",
                "zoom_meeting_id": 81_000_000_000 + len(seen),
                "join_url": "https://zoom.example/j/1?pwd=a",
                "sequence": 0,
                "created_at": clock.now(),
                "updated_at": clock.now(),
                "next_attempt_at": clock.now(),
                **more,
            }
            with c.db.write() as s:
                s.execute(insert(Meeting).values(**values))
            return mid

        def engine_writes(mid: str, stamp: bool = True, **values: Any) -> None:
            more = {"updated_at": clock.now()} if stamp else {}
            with c.db.write() as s:
                s.execute(update(Meeting).where(Meeting.id == mid).values(**values, **more))

        changed("empty")
        r = c.requests.create(owner, request(NOW + DAY), ORIGIN)
        changed("a new request")
        c.requests.update(owner, r.id, request(NOW + 2 * DAY), ORIGIN)
        changed("the request moved")
        c.requests.update(owner, r.id, request(NOW + 2 * DAY, notes="Room 2"), ORIGIN)
        changed("its notes changed")
        c.requests.set_status(owner, r.id, RequestStatus.CANCELED, ORIGIN)
        changed("the request cancelled")
        other = c.requests.create(owner, request(NOW + 3 * DAY), ORIGIN)
        changed("another request")
        with c.db.write() as s:
            s.execute(delete(ServiceRequest).where(ServiceRequest.id == other.id))
        changed("that request deleted")

        mine = meeting(owner, NOW + 4 * DAY)
        changed("a meeting they host")
        engine_writes(mine, start_at=NOW + 5 * DAY)
        changed("the meeting moved")
        engine_writes(mine, stamp=False, join_url="https://zoom.example/j/2?pwd=b")
        changed("its join link changed, the row not stamped")
        engine_writes(mine, status="cancelled")
        changed("the meeting cancelled")
        with c.db.write() as s:
            s.execute(delete(Meeting).where(Meeting.id == mine))
        changed("the meeting deleted")
        theirs = meeting(guest, NOW + 6 * DAY)
        unchanged("someone else's meeting")
        with c.db.write() as s:
            s.add(MeetingInvitee(meeting_id=theirs, email=owner.email, name=""))
        changed("invited to it")

        # A Zoom request shows its meeting's link: a link Zoom gives later is a change.
        zr = _request(
            c,
            owner.org_id,
            NOW + 7 * DAY,
            kind=RequestKind.ZOOM,
            created_by=owner.id,
            status=RequestStatus.CONFIRMED,
            meeting_id=new_id(),
        )
        meeting(
            owner,
            NOW + 7 * DAY,
            id=zr.meeting_id,
            source_kind="request",
            source_id=zr.id,
            join_url=None,
            status="creating",
            zoom_meeting_id=None,
        )
        changed("a Zoom request, its meeting being made")
        engine_writes(zr.meeting_id or "", stamp=False, join_url="https://zoom.example/j/3")
        changed("its link from Zoom, the row not stamped")

        # At the window's edges as the clock moves: one leaves as another enters.
        _request(
            c,
            owner.org_id,
            NOW - PAST - dt.timedelta(minutes=20),
            created_by=owner.id,
            status=RequestStatus.CONFIRMED,
            end_at=NOW - PAST + dt.timedelta(minutes=30),
        )
        _request(
            c,
            owner.org_id,
            NOW + AHEAD + dt.timedelta(minutes=30),
            created_by=owner.id,
            status=RequestStatus.CONFIRMED,
        )
        changed("the first at the edge")
        clock.advance(3600)
        changed("one left the window at its start, one entered at its end")

        # A new token is a new feed: its first read is a 200 whatever the calendar held.
        before = feeds.read(token)
        assert before is not None
        token = feeds.create(owner, ORIGIN).token
        renewed = feeds.read(token, before.etag)
        assert renewed is not None and not renewed.not_modified and renewed.etag != before.etag
    finally:
        c.close()
