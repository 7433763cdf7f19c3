"""The booking API for signed-in callers: meeting types (admins only, every bad field at once,
publish refused without a host or a fallback), availability, the bookings list with its
filters and CSV, changes by the member, reminders with the link, and tenant isolation."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
from sqlalchemy import select, update

from meetbridge.booking.tables import BookingNotice
from tests.booking.conftest import api_as as _api
from tests.booking.conftest import book, mail_about, make_type, next_weekday, slots_on
from tests.conftest import make_org
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv

TYPE = {
    "name": "Consultation",
    "slug": "consult",
    "duration": 45,
    "assignment": "round_robin",
    "buffer_before": 10,
    "buffer_after": 5,
    "min_notice": 120,
    "horizon_days": 30,
    "interval": 15,
    "daily_cap": 4,
    "reminders": [1440, 60],
    "cutoff": 240,
    "fallback": "link",
    "fallback_value": "https://teams.example.test/room",
}


def test_meeting_types_through_the_api(env: ZoomEnv) -> None:
    ann = env.user("ann@acme.test")
    with _api(env, "owner@acme.test") as admin, _api(env, "ann@acme.test") as member:
        body = {**TYPE, "members": [{"user_id": ann.id, "weight": 2, "priority": 2}]}
        r = admin.post("/meeting-types", json=body)
        assert r.status_code == 201, r.text
        t = r.json()
        assert t["booking_url"].endswith("/book/acme/consult") and not t["published"]
        assert t["reminders"] == [1440, 60] and t["members"][0]["weight"] == 2
        assert admin.post("/meeting-types", json=body).status_code == 409  # the slug
        r = admin.post(
            "/meeting-types",
            json={
                **TYPE,
                "slug": "x",
                "fallback": "phone",
                "fallback_value": "",
                "members": [{"user_id": "nobody"}],
            },
        )
        assert r.status_code == 422
        assert {f["field"] for f in r.json()["error"]["fields"]} == {"fallback_value", "members"}
        assert member.post("/meeting-types", json={**body, "slug": "m"}).status_code == 403
        r = admin.post(f"/meeting-types/{t['id']}/publish", json={"published": True})
        assert r.status_code == 200 and r.json()["published"]
        none = {
            **body,
            "slug": "nozoom",
            "fallback": "none",
            "fallback_value": "",
            "members": [{"user_id": env.user("bob@acme.test").id}],
        }
        t2 = admin.post("/meeting-types", json=none).json()
        r = admin.post(f"/meeting-types/{t2['id']}/publish", json={"published": True})
        assert r.status_code == 409 and "no assigned member has a working Zoom" in r.text
        assert admin.delete(f"/meeting-types/{t2['id']}").status_code == 204


def test_availability_through_the_api(env: ZoomEnv) -> None:
    ann = env.user("ann@acme.test")
    with _api(env, "ann@acme.test") as me, _api(env, "bob@acme.test") as bob:
        r = me.get(f"/members/{ann.id}/availability")
        assert r.status_code == 200 and r.json()["weekly"]["0"] == [[540, 1020]]
        assert r.json()["zoom"] == "connected"
        body = {
            "timezone": "Europe/Berlin",
            "weekly": {"0": [[480, 720], [780, 960]], "4": [[480, 720]]},
            "overrides": {"2027-01-04": [], "2027-01-05": [[600, 660]]},
            "location": "zoom",
        }
        r = me.put(f"/members/{ann.id}/availability", json=body)
        assert r.status_code == 200 and r.json()["timezone"] == "Europe/Berlin", r.text
        bad = {
            "timezone": "Nowhere",
            "weekly": {"0": [[720, 480]], "9": [[0, 60]]},
            "overrides": {"not-a-date": []},
            "location": "link",
            "location_value": "ftp://x",
        }
        r = me.put(f"/members/{ann.id}/availability", json=bad)
        assert r.status_code == 422
        fields = {f["field"] for f in r.json()["error"]["fields"]}
        assert {"timezone", "weekly.0", "weekly", "overrides", "location_value"} <= fields
        assert bob.put(f"/members/{ann.id}/availability", json=body).status_code == 403


def test_the_bookings_list_filters_csv_and_member_changes(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"])
    offered = slots_on(env, next_weekday())
    first = book(env, offered[0]["start"]).json()
    r = book(env, offered[2]["start"], email="=1+2@example.test")
    assert r.status_code == 201, r.text
    with _api(env, "owner@acme.test") as admin, _api(env, "ann@acme.test") as ann:
        rows = admin.get("/bookings").json()
        assert len(rows) == 2 and all(r["zoom_meeting_id"] for r in rows)
        assert all(r["join_url"] and not r["fallback_used"] for r in rows)
        assert rows[0]["assignment_reason"] == "one person: the type's member"
        assert len(admin.get("/bookings", params={"status": "cancelled"}).json()) == 0
        assert admin.get("/bookings", params={"attention": "true"}).json() == []
        # Times are ISO 8601, as the schema says (not a bare number of seconds); each bad one
        # is named.
        r = admin.get("/bookings", params={"from": "1700000000", "to": "-5"})
        assert r.status_code == 422 and {"from", "to"} <= set(r.text.split('"')), r.text
        r = admin.get("/bookings.csv")
        assert r.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(r.text)))
        assert len(table) == 2 and {t["join_url"] for t in table} == {x["join_url"] for x in rows}
        assert any(t["booker_email"].startswith("'=") for t in table)  # no formula runs
        r = ann.post(f"/bookings/{first['id']}/reschedule", json={"start": offered[5]["start"]})
        assert r.status_code == 200 and r.json()["start"] == offered[5]["start"], r.text
        r = ann.post(f"/bookings/{first['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert r.json()["join_url"] is None
        assert len(admin.get("/bookings", params={"status": "cancelled"}).json()) == 1
    mail_about(smtp, "client@example.test", "Cancelled")


def test_reminders_carry_the_link(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"], reminders=[1440, 60])
    offered = slots_on(env, next_weekday())
    booking = book(env, offered[0]["start"]).json()
    mail_about(smtp, "client@example.test", "Confirmed")
    start = dt.datetime.fromisoformat(booking["start"])
    with env.c.db.write() as s:
        due = s.scalars(select(BookingNotice).where(BookingNotice.kind == "reminder")).all()
        assert sorted(n.next_attempt_at for n in due) == [
            start - dt.timedelta(minutes=1440),
            start - dt.timedelta(minutes=60),
        ]
        ids = [n.id for n in due if n.minutes == 60]
        s.execute(  # the clock moves on: the hour-before reminder is due
            update(BookingNotice)
            .where(BookingNotice.id.in_(ids))
            .values(next_attempt_at=dt.datetime.now(dt.UTC))
        )
    env.c.bookings.notices.run(ids[0])
    reminder = mail_about(smtp, "client@example.test", "Reminder")[0]
    (meeting,) = env.control("GET", "/meetings")
    text = reminder.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert meeting["join_url"] in text and "starts in 60 minutes" in text


def test_another_organisation_sees_nothing(env: ZoomEnv) -> None:
    view = make_type(env, ["ann@acme.test"])
    booking = book(env, slots_on(env, next_weekday())[0]["start"]).json()
    other = make_org(env.c, "Globex", "owner@globex.test")
    with httpx.Client(base_url=f"{env.product}/api/v1", headers=other.headers, timeout=30) as api:
        assert api.get(f"/meeting-types/{view.type.id}").status_code == 404
        assert api.get(f"/bookings/{booking['id']}").status_code == 404
        assert api.post(f"/bookings/{booking['id']}/cancel").status_code == 404
        assert api.get("/bookings").json() == []
        ann = env.user("ann@acme.test")
        assert api.get(f"/members/{ann.id}/availability").status_code == 404
