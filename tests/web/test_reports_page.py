"""Reports → Scheduling → Zoom Demand over HTTP: the page with its answer, chart and tables for
a scheduler, its SVG and CSV downloads, refusals for members and for bad periods, and the same
figures from `GET /api/v1/reports/zoom-demand`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo

import pytest
from fastapi.testclient import TestClient

from meetbridge.container import Container
from meetbridge.core.models import User
from tests.conftest import ORIGIN, PASSWORD, Org
from tests.reports.support import set_org_zone, set_pool, zoom_request
from tests.web.test_pages import sign_in

NY = zoneinfo.ZoneInfo("America/New_York")
PERIOD = "from=2027-05-03&to=2027-05-04"


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, 5, day, hour, minute, tzinfo=NY)


@pytest.fixture
def busy(container: Container, acme: Org) -> Org:
    """Acme in New York with a pool of one host and two meetings at once on 3 May."""
    org_id = acme.owner.org_id
    set_org_zone(container, org_id, "America/New_York")
    set_pool(container, org_id, ["host-a@zoom.test"])
    zoom_request(container, org_id, ny(3, 9), ny(3, 10), "host-a@zoom.test")
    zoom_request(container, org_id, ny(3, 9, 30), ny(3, 10, 30), "host-b@zoom.test")
    return acme


def add(c: Container, org: Org, role: str, email: str) -> User:
    return c.accounts.create_member(
        org.owner, email=email, name=role.title(), role=role, password=PASSWORD, origin=ORIGIN
    )


def test_a_scheduler_sees_the_answer_chart_and_tables(
    client: TestClient, container: Container, busy: Org
) -> None:
    add(container, busy, "scheduler", "sam@acme.test")
    sign_in(client, "sam@acme.test")
    nav = client.get("/team").text
    assert '<a href="/reports"' in nav
    assert "Zoom Demand" in client.get("/reports").text

    page = client.get(f"/reports/zoom-demand?{PERIOD}")
    assert page.status_code == 200
    html = page.text
    assert "Peak: 2 concurrent Zoom meetings against a pool of 1 host." in html
    assert "You need at least 2 hosts: add 1 to the pool" in html
    assert 'value="2027-05-03"' in html and 'value="2027-05-04"' in html
    # The chart is in the page, with its own words, and no script draws it.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in svg and '<title id="zd-title">Zoom Demand, 3 May 2027' in svg
    assert "Concurrent Zoom meetings" in svg and "Pool: 1 host" in svg
    # The peak (09:15-10:15 held by both: 15 minutes of lead, 15 of padding) and the stretch
    # above the pool, in New York time.
    assert "Mon 3 May 2027 09:15 \u2013 Mon 3 May 2027 10:15" in html
    over = re.search(r'<table class="over">.*?</table>', html, re.S)
    assert over and over.group(0).count("<tr>") == 2  # the header and one stretch
    buckets = re.search(r'<table class="buckets">.*?</table>', html, re.S)
    assert buckets and buckets.group(0).count('<th scope="row">') == 48  # two days by hour
    assert '<tr class="over-pool"><th scope="row">Mon 3 May 2027 09:00</th><td>2</td>' in html

    svg_file = client.get(f"/reports/zoom-demand.svg?{PERIOD}")
    assert svg_file.status_code == 200
    assert svg_file.headers["content-type"].startswith("image/svg+xml")
    assert svg_file.headers["content-disposition"] == (
        'attachment; filename="zoom-demand-2027-05-03-to-2027-05-04.svg"'
    )
    assert (
        svg_file.text.startswith("<?xml") and 'xmlns="http://www.w3.org/2000/svg"' in svg_file.text
    )

    got = client.get(f"/reports/zoom-demand.csv?{PERIOD}")
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert len(rows) == 48
    nine = next(r for r in rows if r["bucket_start"] == "2027-05-03T09:00:00-04:00")
    assert (nine["peak_concurrent"], nine["pool_size"], nine["above_pool"]) == ("2", "1", "yes")
    assert nine["minutes_above_pool"] == "45"  # 09:15-10:00


def test_the_page_defaults_to_the_next_30_days(client: TestClient, busy: Org) -> None:
    sign_in(client, "owner@acme.test")
    html = client.get("/reports/zoom-demand").text
    today = dt.datetime.now(NY).date()
    assert f'name="from" value="{today.isoformat()}"' in html
    assert f'name="to" value="{(today + dt.timedelta(days=29)).isoformat()}"' in html
    assert "By day" in html and "<h2>By day</h2>" in html


def test_bad_periods_are_a_422_naming_the_field(client: TestClient, busy: Org) -> None:
    sign_in(client, "owner@acme.test")
    page = client.get("/reports/zoom-demand?from=2027-05-04&to=2027-05-03")
    assert page.status_code == 422
    assert '<span class="field-error" id="to-error">is before from (2027-05-04)</span>' in page.text
    assert 'value="2027-05-04"' in page.text  # what was asked stays in the form
    page = client.get("/reports/zoom-demand?from=2027-13-01&to=2029-01-01")
    assert page.status_code == 422
    assert (
        '<span class="field-error" id="from-error">is not a date (YYYY-MM-DD)</span>' in page.text
    )
    long = client.get("/reports/zoom-demand.csv?from=2027-01-01&to=2028-06-01")
    assert long.status_code == 422 and "a report covers at most 366" in long.text


def test_members_get_403_and_no_link(client: TestClient, container: Container, busy: Org) -> None:
    add(container, busy, "member", "mia@acme.test")
    sign_in(client, "mia@acme.test")
    assert '<a href="/reports"' not in client.get("/team").text
    for path in (
        "/reports",
        "/reports/zoom-demand",
        "/reports/zoom-demand.svg",
        "/reports/zoom-demand.csv",
    ):
        r = client.get(f"{path}?{PERIOD}")
        assert r.status_code == 403, path
        assert "Only schedulers and admins see reports." in r.text
        assert "Peak" not in r.text


def test_signed_out_goes_to_sign_in(client: TestClient, busy: Org) -> None:
    r = client.get("/reports/zoom-demand", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"


def test_the_api_gives_the_same_figures(
    client: TestClient, container: Container, busy: Org
) -> None:
    r = client.get(f"/api/v1/reports/zoom-demand?{PERIOD}&bucket=day", headers=busy.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"], body["timezone"], body["bucket"]) == (
        "2027-05-03",
        "2027-05-04",
        "America/New_York",
        "day",
    )
    assert (body["peak"], body["hosts_needed"], body["pool_size"], body["shortfall"]) == (
        2,
        2,
        1,
        1,
    )
    assert body["meetings"] == 2 and body["start"] == "2027-05-03T04:00:00+00:00"
    assert body["peaks"] == [
        {"start": "2027-05-03T13:15:00+00:00", "end": "2027-05-03T14:15:00+00:00", "concurrent": 2}
    ]
    assert body["above_pool"] == body["peaks"] and body["above_pool_total"] == 1
    assert [b["peak"] for b in body["buckets"]] == [2, 0]
    assert body["buckets"][0]["minutes_above_pool"] == 60
    assert "You need at least 2 hosts" in body["summary"]


def test_the_api_refuses_bad_periods_and_members(
    client: TestClient, container: Container, busy: Org
) -> None:
    r = client.get(
        "/api/v1/reports/zoom-demand?from=2027-05-04&to=2026-01-01&bucket=week",
        headers=busy.headers,
    )
    assert r.status_code == 422
    fields = {f["field"]: f["reason"] for f in r.json()["error"]["fields"]}
    assert fields == {"to": "is before from (2027-05-04)", "bucket": "must be hour, day or auto"}
    r = client.get(
        "/api/v1/reports/zoom-demand?from=2027-01-01&to=2028-01-05", headers=busy.headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [
        {"field": "to", "reason": "the period is 370 days; a report covers at most 366"}
    ]
    r = client.get("/api/v1/reports/zoom-demand?from=yesterday", headers=busy.headers)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "from"

    mia = add(container, busy, "member", "mia@acme.test")
    token = container.api_tokens.create_api_token(mia, name="t", origin=ORIGIN).secret
    r = client.get("/api/v1/reports/zoom-demand", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/reports/zoom-demand").status_code == 401
