"""The Zoom Demand report read from a real database (SQLite and PostgreSQL): the windows the
requests hold on their hosts, counted in the organisation's zone, against the pool; the period
the query asks for, and what it refuses; the CSV and the chart."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import xml.etree.ElementTree as ET
import zoneinfo

import pytest

from meetbridge.container import Container
from meetbridge.core.errors import PermissionDenied, ValidationFailed
from meetbridge.core.models import User
from meetbridge.core.security import spreadsheet_cell
from meetbridge.reports import svg
from meetbridge.reports import zoom_demand as zd
from meetbridge.requests.reads import zoom_blocks
from meetbridge.scheduling.demand import counts_of, demand
from tests.conftest import ORIGIN, PASSWORD
from tests.reports.support import regular_request, set_pool, zoom_request

UTC = dt.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOW = dt.datetime(2027, 3, 1, 9, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def paris(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, 3, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def owner(container: Container) -> User:
    _org, owner = container.orgs.create_organization(
        name="Interpreters",
        owner_email="owner@interp.test",
        owner_name="Olive Owner",
        owner_password=PASSWORD,
        origin=ORIGIN,
        timezone="Europe/Paris",
    )
    return owner


def member(c: Container, owner: User, role: str, email: str) -> User:
    return c.accounts.create_member(
        owner, email=email, name=role.title(), role=role, password=PASSWORD, origin=ORIGIN
    )


def busy_morning(c: Container, org_id: str) -> None:
    """Three meetings at once from 10:30 to 10:45 (Paris), with 15 minutes held either side."""
    zoom_request(c, org_id, paris(10, 10), paris(10, 11), "a@zoom.test")
    zoom_request(c, org_id, paris(10, 10, 30), paris(10, 11, 30), "b@zoom.test")
    zoom_request(c, org_id, paris(10, 11), paris(10, 12), "c@zoom.test")  # held from 10:45
    zoom_request(c, org_id, paris(10, 14), paris(10, 15), "a@zoom.test")


def test_the_peak_against_the_pool_in_the_org_zone(container: Container, owner: User) -> None:
    c = container
    set_pool(c, owner.org_id, ["a@zoom.test", "b@zoom.test"])
    busy_morning(c, owner.org_id)
    # Not counted: a regular request, one on another day, another organisation's.
    regular_request(c, owner.org_id, paris(10, 10), paris(10, 11))
    zoom_request(c, owner.org_id, paris(12, 10), paris(12, 11))
    _o, other = c.orgs.create_organization(
        name="Other",
        owner_email="o@other.test",
        owner_name="O",
        owner_password=PASSWORD,
        origin=ORIGIN,
    )
    zoom_request(c, other.org_id, paris(10, 10), paris(10, 11))

    r = zd.report(c.db, owner, "2027-03-10", "2027-03-10", None, NOW)
    d = r.demand
    assert r.period.unit == "hour" and r.period.timezone == "Europe/Paris"
    assert d.start == paris(10, 0) and d.end == paris(11, 0)
    assert len(d.buckets) == 24 and d.windows == 4
    # a: 09:45-11:15, b: 10:15-11:45, c: 10:45-12:15: three held 10:45-11:15.
    assert d.peak == 3 and d.capacity == 2 and d.shortfall == 1
    assert [(s.start, s.end, s.count) for s in d.peaks] == [
        (paris(10, 10, 45), paris(10, 11, 15), 3)
    ]
    assert [(s.start, s.end, s.count) for s in d.over] == [
        (paris(10, 10, 45), paris(10, 11, 15), 3)
    ]
    by_hour = {r.local(b.start).hour: b for b in d.buckets}
    assert by_hour[9].peak == 1 and by_hour[10].peak == 3 and by_hour[11].peak == 3
    assert by_hour[10].over == dt.timedelta(minutes=15) == by_hour[11].over
    assert by_hour[13].peak == 1 and by_hour[16].peak == 0  # 13:45-15:15
    assert r.verdict() == (
        "Peak: 3 concurrent Zoom meetings against a pool of 2 hosts. You need at least 3 "
        "hosts: add 1 to the pool, or conversions find no free host once in this period."
    )


def test_a_pool_that_covers_the_period(container: Container, owner: User) -> None:
    set_pool(container, owner.org_id, ["a@zoom.test", "b@zoom.test", "c@zoom.test", "d@x.test"])
    busy_morning(container, owner.org_id)
    r = zd.report(container.db, owner, "2027-03-01", "2027-03-31", None, NOW)
    assert r.period.unit == "day" and len(r.demand.buckets) == 31
    assert r.demand.over == () and r.demand.peak == 3
    assert "You need at least 3 hosts: the pool covers the period, with 1 to spare" in r.verdict()


def test_the_default_period_is_the_next_30_days(container: Container, owner: User) -> None:
    late = dt.datetime(2027, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Paris
    r = zd.report(container.db, owner, None, None, None, late)
    assert (r.period.first, r.period.last) == (dt.date(2027, 3, 2), dt.date(2027, 3, 31))
    assert r.period.days == 30 and r.period.unit == "day"
    assert r.demand.peak == 0 and "No Zoom meeting holds a host" in r.verdict()
    only_from = zd.report(container.db, owner, "2027-06-01", "", "", NOW)
    assert only_from.period.last == dt.date(2027, 6, 30)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (("2027-03-10", "2027-03-09", None), {"to": "is before from (2027-03-10)"}),
        (
            ("2027-01-01", "2028-01-02", None),
            {"to": "the period is 367 days; a report covers at most 366"},
        ),
        (
            ("10/03/2027", "2027-02-30", None),
            {
                "from": "is not a date (YYYY-MM-DD)",
                "to": "is not a date (YYYY-MM-DD)",
            },
        ),
        (("0001-01-01", None, None), {"from": "must be in the years 2000 to 2999"}),
        (("2027-03-01", "2027-03-02", "week"), {"bucket": "must be hour, day or auto"}),
        (
            ("2027-03-01", "2027-04-30", "hour"),
            {"bucket": "hourly buckets cover at most 31 days"},
        ),
    ],
)
def test_bad_periods_are_refused_naming_the_fields(
    container: Container,
    owner: User,
    query: tuple[str | None, str | None, str | None],
    expected: dict[str, str],
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        zd.report(container.db, owner, *query, NOW)
    assert {e.field: e.reason for e in caught.value.errors} == expected


def test_a_leap_year_is_the_longest_period(container: Container, owner: User) -> None:
    r = zd.report(container.db, owner, "2028-01-01", "2028-12-31", None, NOW)
    assert r.period.days == 366 and len(r.demand.buckets) == 366


def test_schedulers_and_admins_see_it_members_do_not(container: Container, owner: User) -> None:
    c = container
    scheduler = member(c, owner, "scheduler", "sched@interp.test")
    admin = member(c, owner, "admin", "admin@interp.test")
    plain = member(c, owner, "member", "plain@interp.test")
    for who in (owner, admin, scheduler):
        assert zd.report(c.db, who, "2027-03-10", "2027-03-10", None, NOW).period.days == 1
    with pytest.raises(PermissionDenied):
        zd.report(c.db, plain, "2027-03-10", "2027-03-10", None, NOW)


def test_the_csv_has_a_row_per_bucket_in_local_time(container: Container, owner: User) -> None:
    set_pool(container, owner.org_id, ["a@zoom.test", "b@zoom.test"])
    busy_morning(container, owner.org_id)
    r = zd.report(container.db, owner, "2027-03-10", "2027-03-10", None, NOW)
    rows = list(csv.reader(io.StringIO(zd.as_csv(r))))
    assert tuple(rows[0]) == zd.CSV_COLUMNS
    assert len(rows) == 25
    assert rows[11] == [
        "2027-03-10T10:00:00+01:00",
        "2027-03-10T11:00:00+01:00",
        "Europe/Paris",
        "3",
        "2",
        "yes",
        "15",
    ]
    assert zd.filename(r, "csv") == "zoom-demand-2027-03-10-to-2027-03-10.csv"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_text(text: str) -> None:
    assert spreadsheet_cell(text) == "'" + text
    assert spreadsheet_cell("2027-03-10") == "2027-03-10" and spreadsheet_cell(3) == "3"


def test_the_chart_is_svg_with_its_words(container: Container, owner: User) -> None:
    set_pool(container, owner.org_id, ["a@zoom.test", "b@zoom.test"])
    busy_morning(container, owner.org_id)
    r = zd.report(container.db, owner, "2027-03-10", "2027-03-10", None, NOW)
    root = ET.fromstring(svg.document(r).split("\n", 1)[1])  # noqa: S314  (our own output)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert (root.get("aria-labelledby"), root.get("aria-describedby")) == ("zd-title", "zd-desc")
    assert root.findtext(f"{SVG}title") == "Zoom Demand, 10 Mar 2027 (Europe/Paris), by hour"
    assert "You need at least 3 hosts" in (root.findtext(f"{SVG}desc") or "")
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "Concurrent Zoom meetings" in texts and "Pool: 2 hosts" in texts
    assert "Time (Europe/Paris), highest per hour" in texts
    bars = list(root.find(f"{SVG}g[@class='bars']") or [])
    tips = [b.findtext(f"{SVG}title") for b in bars]
    assert tips == [
        "Wed 10 Mar 2027 09:00: peak 1 concurrent",
        "Wed 10 Mar 2027 10:00: peak 3 concurrent (above the pool of 2)",
        "Wed 10 Mar 2027 11:00: peak 3 concurrent (above the pool of 2)",
        "Wed 10 Mar 2027 12:00: peak 1 concurrent",
        "Wed 10 Mar 2027 13:00: peak 1 concurrent",
        "Wed 10 Mar 2027 14:00: peak 1 concurrent",
        "Wed 10 Mar 2027 15:00: peak 1 concurrent",
    ]
    # Bars above the pool are hatched, and reach higher than the dashed pool line.
    line = next(e for e in root.iter(f"{SVG}line") if e.get("class") == "capacity")
    over = bars[1]
    assert over.get("fill") == "url(#zd-hatch)" and bars[0].get("fill") != over.get("fill")
    assert float(over.get("y") or 0) < float(line.get("y1") or 0) < float(bars[0].get("y") or 0)


def test_the_fast_read_is_the_windows_zoom_blocks_reads(container: Container, owner: User) -> None:
    """The report reads the held windows grouped by the database; they are the rows (and the
    instants) `requests.reads.zoom_blocks` gives, on this database."""
    c = container
    busy_morning(c, owner.org_id)
    zoom_request(c, owner.org_id, paris(9, 23, 50), paris(10, 0, 20))  # across midnight
    zoom_request(c, owner.org_id, paris(1, 8), paris(1, 9))  # long before
    start, end = paris(10, 0), paris(11, 0)
    counts, windows = zd.held_counts(c.db, owner.org_id, start, end)
    blocks = zoom_blocks(c.db, owner.org_id, start, end)
    assert windows == len(blocks) == 5
    assert sorted(counts) == sorted(counts_of((b.start, b.end) for b in blocks))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_report_is_the_sweep_of_every_window_on_random_requests(
    container: Container, owner: User, seed: int
) -> None:
    """On random requests (many starting and ending at the same instants, some across the
    period's edges, the clocks changing on 28 March), the report's whole result is what the
    plain sweep gives over the windows `zoom_blocks` reads, and its peak is the count at the
    busiest minute."""
    c = container
    rng = random.Random(seed)
    set_pool(c, owner.org_id, [f"h{k}@zoom.test" for k in range(2)])
    for _ in range(120):
        start = paris(rng.randrange(20, 31), rng.randrange(0, 24), rng.choice((0, 15, 30, 45)))
        zoom_request(c, owner.org_id, start, start + dt.timedelta(minutes=rng.choice((15, 45, 60))))
    got = zd.report(c.db, owner, "2027-03-22", "2027-03-28", None, NOW)
    edges = [b.start for b in got.demand.buckets] + [got.demand.end]
    blocks = zoom_blocks(c.db, owner.org_id, edges[0], edges[-1])
    assert got.demand == demand([(b.start, b.end) for b in blocks], edges, 2)
    minutes = range(0, int((edges[-1] - edges[0]).total_seconds()) // 60)
    at = [edges[0] + dt.timedelta(minutes=k) for k in minutes]
    assert got.demand.peak == max(sum(1 for b in blocks if b.start <= t < b.end) for t in at) > 2
