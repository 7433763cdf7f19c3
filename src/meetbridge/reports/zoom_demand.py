"""Zoom Demand: how many Zoom meetings hold a pool host at the same time over a period, against
the pool's size, to answer "how many hosts do we need?".

Each Zoom request holds its host from start - lead to end + padding (the window the host
choice checks, stored on the request as `block_start` / `block_end`); one meeting per host at
a time, so the highest concurrency is the smallest pool that never runs out. The period is
whole days of the organisation's zone, from and to both included (default: the next 30
days), bucketed by hour (a week or less) or by day."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    cast,
    extract,
    func,
    literal,
    select,
    union_all,
)

from meetbridge.core.db import Database
from meetbridge.core.errors import FieldError, PermissionDenied, ValidationFailed
from meetbridge.core.models import User
from meetbridge.core.security import spreadsheet_cell
from meetbridge.requests.reads import LONGEST_BLOCK, pool_size
from meetbridge.requests.tables import ServiceRequest
from meetbridge.scheduling.demand import (
    MAX_HOURLY_DAYS,
    UNITS,
    Demand,
    auto_unit,
    demand_counts,
    edges,
)
from meetbridge.scheduling.timezones import BadZone, zone

MAX_DAYS = 366
DEFAULT_DAYS = 30
# Far enough for any plan, near enough that every instant of the period (and the longest
# window before it) is a datetime in every zone.
FIRST_YEAR, LAST_YEAR = 2000, 2999
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LISTED = 1000  # stretches an API reply lists (the count says how many there are)


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date  # included
    timezone: str
    unit: str  # hour | day

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class ZoomDemand:
    period: Period
    demand: Demand

    @property
    def pool(self) -> int:
        return self.demand.capacity

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(zone(self.period.timezone))

    def verdict(self) -> str:
        """The answer in words."""
        d, pool = self.demand, self.pool
        hosts = "host" if pool == 1 else "hosts"
        if d.peak == 0:
            return (
                f"No Zoom meeting holds a host in this period: the pool of {pool} {hosts} "
                "is not used."
            )
        meetings = "meeting" if d.peak == 1 else "meetings"
        head = f"Peak: {d.peak} concurrent Zoom {meetings} against a pool of {pool} {hosts}."
        if d.peak > pool:
            return (
                f"{head} You need at least {d.peak} hosts: add {d.shortfall} to the pool, or "
                f"conversions find no free host {_times(len(d.over))} in this period."
            )
        spare = pool - d.peak
        return (
            f"{head} You need at least {d.peak} {'host' if d.peak == 1 else 'hosts'}: the pool "
            f"covers the period" + (f", with {spare} to spare at the peak." if spare else ".")
        )


def _times(n: int) -> str:
    return "once" if n == 1 else f"at {n} separate times"


def period_of(
    raw_from: str | None, raw_to: str | None, raw_bucket: str | None, tz: str, now: dt.datetime
) -> Period:
    """The period the query asks for, or ValidationFailed naming every field that is wrong.
    Missing `from`: today in `tz`; missing `to`: 30 days from `from`, both included."""
    errors: list[FieldError] = []
    today = now.astimezone(zone(tz)).date()
    first = _day("from", raw_from, errors)
    last = _day("to", raw_to, errors)
    if first is None and not (raw_from or "").strip():
        first = today
    if last is None and not (raw_to or "").strip() and first is not None:
        last = min(first + dt.timedelta(days=DEFAULT_DAYS - 1), dt.date(LAST_YEAR, 12, 31))
    bucket = (raw_bucket or "").strip().lower() or None
    if bucket not in (None, "auto", *UNITS):
        errors.append(FieldError("bucket", "must be hour, day or auto"))
    if first is not None and last is not None:
        days = (last - first).days + 1
        if last < first:
            errors.append(FieldError("to", f"is before from ({first.isoformat()})"))
        elif days > MAX_DAYS:
            errors.append(
                FieldError("to", f"the period is {days} days; a report covers at most {MAX_DAYS}")
            )
        elif bucket == "hour" and days > MAX_HOURLY_DAYS:
            errors.append(
                FieldError("bucket", f"hourly buckets cover at most {MAX_HOURLY_DAYS} days")
            )
    if errors:
        raise ValidationFailed.many(errors)
    assert first is not None and last is not None
    unit = auto_unit((last - first).days + 1) if bucket in (None, "auto") else bucket
    return Period(first, last, tz, unit)


def _day(name: str, raw: str | None, errors: list[FieldError]) -> dt.date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if not DATE.match(text):
            raise ValueError(text)
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(name, "is not a date (YYYY-MM-DD)"))
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors.append(FieldError(name, f"must be in the years {FIRST_YEAR} to {LAST_YEAR}"))
        return None
    return day


def org_zone(actor: User) -> str:
    """The organisation's zone; UTC if what is stored is not one (never a 500 for it)."""
    name = actor.org.timezone or "UTC"
    try:
        zone(name)
    except BadZone:
        return "UTC"
    return name


def may_see(actor: User) -> bool:
    return actor.is_scheduler  # schedulers and admins


def report(
    db: Database,
    actor: User,
    raw_from: str | None,
    raw_to: str | None,
    raw_bucket: str | None,
    now: dt.datetime,
) -> ZoomDemand:
    if not may_see(actor):
        raise PermissionDenied("Only schedulers and admins see the Zoom Demand report.")
    period = period_of(raw_from, raw_to, raw_bucket, org_zone(actor), now)
    bounds = edges(period.first, period.last, zone(period.timezone), period.unit)
    counts, windows = held_counts(db, actor.org_id, bounds[0], bounds[-1])
    pool = pool_size(db, actor.org_id)
    return ZoomDemand(period, demand_counts(counts, windows, bounds, pool))


def _epoch(db: Database, column: Any) -> ColumnElement[int]:
    if db.is_sqlite:  # stored as text: SQLite's own clock functions read it
        return cast(func.strftime("%s", column), Integer)
    return cast(extract("epoch", column), BigInteger)


def held_counts(
    db: Database, org_id: str, start: dt.datetime, end: dt.datetime
) -> tuple[list[tuple[int, int, int]], int]:
    """The windows of `requests.reads.zoom_blocks` (the same rows: every Zoom request's held
    window overlapping [start, end)), grouped by the database: per instant (epoch seconds) how
    many open and how many close there, and how many windows there are. A year of 100,000
    requests read as `Block`s is over a second of CPU making datetimes and objects; grouped,
    it is some 14,000 rows of three integers (bench/zoom_demand.py).

    The starts and the ends are grouped each on its own stored value, from the index on
    (org_id, block_start, block_end) alone, and only the grouped instants are turned into
    epoch seconds: converting every row's two stamps first cost four times as much."""
    r = ServiceRequest
    held = (
        r.org_id == org_id,
        r.block_start.is_not(None),
        r.block_start >= start - LONGEST_BLOCK,
        r.block_start < end,
        r.block_end > start,
    )
    opens = (
        select(r.block_start.label("t"), func.count().label("o"), literal(0).label("c"))
        .where(*held)
        .group_by(r.block_start)
    )
    closes = (
        select(r.block_end.label("t"), literal(0).label("o"), func.count().label("c"))
        .where(*held)
        .group_by(r.block_end)
    )
    sides = union_all(opens, closes).subquery()
    query = select(_epoch(db, sides.c.t), func.sum(sides.c.o), func.sum(sides.c.c)).group_by(
        sides.c.t
    )
    with db.connect() as conn:
        rows = [(int(t), int(o), int(c)) for t, o, c in conn.execute(query)]
    return rows, sum(o for _, o, _ in rows)


# ---- what the faces give out -------------------------------------------------------------------


def _iso(at: dt.datetime) -> str:
    return at.isoformat()


def as_json(r: ZoomDemand) -> dict[str, Any]:
    d = r.demand
    return {
        "from": r.period.first.isoformat(),
        "to": r.period.last.isoformat(),
        "timezone": r.period.timezone,
        "bucket": r.period.unit,
        "start": _iso(d.start),
        "end": _iso(d.end),
        "pool_size": d.capacity,
        "meetings": d.windows,
        "peak": d.peak,
        "hosts_needed": d.hosts_needed,
        "shortfall": d.shortfall,
        "summary": r.verdict(),
        "peaks": [
            {"start": _iso(s.start), "end": _iso(s.end), "concurrent": s.count}
            for s in d.peaks[:LISTED]
        ],
        "peaks_total": len(d.peaks),
        "above_pool": [
            {"start": _iso(s.start), "end": _iso(s.end), "concurrent": s.count}
            for s in d.over[:LISTED]
        ],
        "above_pool_total": len(d.over),
        "buckets": [
            {
                "start": _iso(b.start),
                "end": _iso(b.end),
                "peak": b.peak,
                "minutes_above_pool": int(b.over.total_seconds() // 60),
            }
            for b in d.buckets
        ],
    }


CSV_COLUMNS = (
    "bucket_start",
    "bucket_end",
    "timezone",
    "peak_concurrent",
    "pool_size",
    "above_pool",
    "minutes_above_pool",
)


def as_csv(r: ZoomDemand) -> str:
    """One row per bucket, times in the organisation's zone."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for b in r.demand.buckets:
        row = (
            r.local(b.start).isoformat(),
            r.local(b.end).isoformat(),
            r.period.timezone,
            b.peak,
            r.pool,
            "yes" if b.peak > r.pool else "no",
            int(b.over.total_seconds() // 60),
        )
        w.writerow([spreadsheet_cell(v) for v in row])
    return buf.getvalue()


def fmt(value: dt.date, pattern: str) -> str:
    """`strftime`, with `%-d` (the day without a leading zero) on every platform."""
    return value.strftime(pattern.replace("%-d", str(value.day)))


def filename(r: ZoomDemand, ext: str) -> str:
    return f"zoom-demand-{r.period.first.isoformat()}-to-{r.period.last.isoformat()}.{ext}"
