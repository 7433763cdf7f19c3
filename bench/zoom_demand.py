"""Zoom Demand over a year of 100,000 Zoom requests, on SQLite (the embedded default) or
PostgreSQL.

The rows are written straight into `service_requests` as the requests service leaves them
(kind zoom, a pool host, the held window `block_start` … `block_end` = start - 15 min … end +
15 min): 100,000 requests of 30-120 minutes, on weekdays between 07:00 and 19:00 of the
organisation's zone (Europe/London), spread over 2027, on a pool of 40 hosts.

1. In process: `reports.zoom_demand.report` for the whole year (365 daily buckets), p50 / p99
   of the wall time and the CPU time of the calling thread, split into the read
   (`reports.zoom_demand.held_counts` and `requests.reads.pool_size`) and the sweep.
2. Over HTTP: `GET /api/v1/reports/zoom-demand?from=2027-01-01&to=2027-12-31` against
   `meetbridge serve --workers 1`, p50 / p99, and the web process's CPU per call.

`.venv/bin/python bench/zoom_demand.py [--backend sqlite|postgres] [--rows 100000]`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import case, create_engine, func, insert, join, literal, select, true, union_all
from sqlalchemy import text as sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PASSWORD, free_port, wait_ready

from booking import _cpu, _pct
from meetbridge.container import build_container
from meetbridge.core.audit import Origin
from meetbridge.core.db import normalize_url
from meetbridge.core.migrate import upgrade
from meetbridge.core.models import new_id
from meetbridge.core.settings import Settings
from meetbridge.reports import zoom_demand as zd
from meetbridge.requests.reads import LONGEST_BLOCK, pool_size
from meetbridge.requests.tables import RequestKind, RequestSettings, RequestStatus, ServiceRequest
from meetbridge.scheduling import demand as sweep

ORIGIN = Origin(via="bench")
TZ = "Europe/London"
POOL = 40
LEAD = PADDING = dt.timedelta(minutes=15)
NOW = dt.datetime(2026, 12, 15, tzinfo=dt.UTC)


def _database(backend: str, postgres: str, data: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{data / 'meetbridge.db'}"
    name = f"mb_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sql(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalize_url(postgres).rsplit("/", 1)[0] + f"/{name}"


def _rows(org_id: str, n: int) -> list[dict[str, object]]:
    rng = random.Random(18)
    tz = zoneinfo.ZoneInfo(TZ)
    days = [
        dt.date(2027, 1, 1) + dt.timedelta(days=k)
        for k in range(365)
        if (dt.date(2027, 1, 1) + dt.timedelta(days=k)).weekday() < 5
    ]
    hosts = [f"host-{k:02d}@zoom.test" for k in range(POOL)]
    now = dt.datetime.now(dt.UTC)
    out = []
    for _ in range(n):
        day = rng.choice(days)
        minute = rng.randrange(7 * 60, 18 * 60, 15)
        start = dt.datetime.combine(day, dt.time(), tz) + dt.timedelta(minutes=minute)
        start = start.astimezone(dt.UTC)
        end = start + dt.timedelta(minutes=rng.choice((30, 45, 60, 60, 90, 120)))
        host = rng.choice(hosts)
        out.append(
            {
                "id": new_id(),
                "org_id": org_id,
                "client": "Client",
                "requester": "",
                "service": "Interpreting",
                "location": "",
                "start_at": start,
                "end_at": end,
                "timezone": TZ,
                "notes": "",
                "status": RequestStatus.CONFIRMED.value,
                "kind": RequestKind.ZOOM.value,
                "zoom_host_id": host,
                "zoom_host_email": host,
                "block_start": start - LEAD,
                "block_end": end + PADDING,
                "choice_note": "",
                "sequence": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    return out


def held_counts_before(
    db: Any, org_id: str, start: dt.datetime, end: dt.datetime
) -> tuple[list[tuple[int, int, int]], int]:
    """`reports.zoom_demand.held_counts` as it was before 2026-12-03 (every row's two stamps
    made epoch seconds, then grouped), to measure the change in the same run."""
    r = ServiceRequest
    sides = union_all(select(literal(1).label("d")), select(literal(-1).label("d"))).subquery()
    at = case((sides.c.d == 1, zd._epoch(db, r.block_start)), else_=zd._epoch(db, r.block_end))
    events = (
        select(at.label("t"), sides.c.d.label("d"))
        .select_from(join(r, sides, true(), isouter=True))
        .where(
            r.org_id == org_id,
            r.block_start.is_not(None),
            r.block_start >= start - LONGEST_BLOCK,
            r.block_start < end,
            r.block_end > start,
        )
        .subquery()
    )
    query = select(
        events.c.t,
        func.sum(case((events.c.d == 1, 1), else_=0)),
        func.sum(case((events.c.d == -1, 1), else_=0)),
    ).group_by(events.c.t)
    with db.connect() as conn:
        rows = [(int(t), int(o), int(c)) for t, o, c in conn.execute(query)]
    return rows, sum(o for _, o, _ in rows)


def _index(c: Any, backend: str, old: bool) -> None:
    """The schema before 0018 (an index on (org_id, block_start)) or after (with block_end)."""
    drop, make = ("ix_service_requests_org_block_end", "ix_service_requests_org_block")
    cols = "org_id, block_start"
    if not old:
        drop, make, cols = make, drop, cols + ", block_end"
    with c.db.begin() as conn:
        conn.execute(sql(f"DROP INDEX {drop}"))
        conn.execute(sql(f"CREATE INDEX {make} ON service_requests ({cols})"))
        conn.execute(sql("ANALYZE service_requests" if backend == "postgres" else "ANALYZE"))


def _timed(f: Any, calls: int) -> tuple[float, float, Any]:
    walls, cpus, out = [], [], None
    for _ in range(calls):
        w0, c0 = time.perf_counter(), time.thread_time()
        out = f()
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.thread_time() - c0) * 1000)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument(
        "--postgres",
        default=os.environ.get(
            "MEETBRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test"
        ),
    )
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=21)
    args = ap.parse_args()

    data = Path(tempfile.mkdtemp(prefix="mb-demand-"))
    url = _database(args.backend, args.postgres, data)
    upgrade(url)
    settings = Settings(_env_file=None, data_dir=data, database_url=url)  # type: ignore[call-arg]
    c = build_container(settings, immediate_jobs=True)
    _org, owner = c.orgs.create_organization(
        name="Bench",
        owner_email="o@bench.test",
        owner_name="O",
        slug="bench",
        owner_password=PASSWORD,
        origin=ORIGIN,
        timezone=TZ,
    )
    token = c.api_tokens.create_api_token(owner, name="bench", origin=ORIGIN).secret
    t0 = time.perf_counter()
    rows = _rows(owner.org_id, args.rows)
    with c.db.write() as s:
        s.add(
            RequestSettings(
                org_id=owner.org_id, host_pool=[f"host-{k:02d}@zoom.test" for k in range(POOL)]
            )
        )
    with c.db.begin() as conn:
        for k in range(0, len(rows), 5000):
            conn.execute(insert(ServiceRequest), rows[k : k + 5000])
    with c.db.begin() as conn:
        conn.execute(sql("ANALYZE service_requests" if args.backend == "postgres" else "ANALYZE"))
    print(
        f"{args.backend}: {args.rows:,} Zoom requests written in {time.perf_counter() - t0:.1f} s"
    )

    # 0. The read before and after 0018 and the grouped read, in this one run.
    bounds = sweep.edges(dt.date(2027, 1, 1), dt.date(2027, 12, 31), zoneinfo.ZoneInfo(TZ), "day")
    _index(c, args.backend, old=True)
    b_wall, b_cpu, before = _timed(
        lambda: held_counts_before(c.db, owner.org_id, bounds[0], bounds[-1]), args.calls
    )
    _index(c, args.backend, old=False)
    a_wall, a_cpu, after = _timed(
        lambda: zd.held_counts(c.db, owner.org_id, bounds[0], bounds[-1]), args.calls
    )
    assert sorted(before[0]) == sorted(after[0]) and before[1] == after[1]
    print(
        f"  the read, {args.calls} calls: before (per-row epochs, index without block_end) "
        f"p50 {b_wall:.0f} ms, CPU {b_cpu:.0f} ms; after p50 {a_wall:.0f} ms, CPU {a_cpu:.0f} "
        f"ms ({b_wall / a_wall:.1f}x); the same {len(after[0]):,} instants"
    )

    # 1. In process.
    walls, cpus, reads, sweeps = [], [], [], []
    report = None
    for _ in range(args.calls):
        w0, c0 = time.perf_counter(), time.thread_time()
        report = zd.report(c.db, owner, "2027-01-01", "2027-12-31", None, NOW)
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.thread_time() - c0) * 1000)
        r0 = time.perf_counter()
        counts, windows = zd.held_counts(c.db, owner.org_id, bounds[0], bounds[-1])
        pool = pool_size(c.db, owner.org_id)
        r1 = time.perf_counter()
        sweep.demand_counts(counts, windows, bounds, pool)
        reads.append((r1 - r0) * 1000)
        sweeps.append((time.perf_counter() - r1) * 1000)
    assert report is not None
    d = report.demand
    print(
        f"  report: {d.windows:,} windows, {len(d.buckets)} day buckets, peak {d.peak} vs pool "
        f"{d.capacity}, {len(d.over):,} stretches above the pool"
    )
    print(f'  "{report.verdict()}"')
    print(
        f"  in process, {args.calls} calls: p50 {statistics.median(walls):.0f} ms, "
        f"p99 {_pct(walls, 0.99):.0f} ms; CPU p50 {statistics.median(cpus):.0f} ms "
        f"(read {statistics.median(reads):.0f} ms, sweep {statistics.median(sweeps):.0f} ms)"
    )

    # 2. Over HTTP, one web process.
    port = free_port()
    env = {
        **os.environ,
        "MEETBRIDGE_DATABASE_URL": url,
        "MEETBRIDGE_DATA_DIR": str(data),
        "MEETBRIDGE_PORT": str(port),
        "MEETBRIDGE_BASE_URL": f"http://127.0.0.1:{port}",
        "MEETBRIDGE_LOG_LEVEL": "WARNING",
    }
    log = open(data / "web.log", "w")  # noqa: SIM115
    web = subprocess.Popen(
        [sys.executable, "-m", "meetbridge", "serve", "--workers", "1"],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        headers = {"Authorization": f"Bearer {token}"}
        path = "/api/v1/reports/zoom-demand?from=2027-01-01&to=2027-12-31"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as h:
            assert h.get(path, headers=headers).status_code == 200  # warm
            times = []
            cpu0 = _cpu(web.pid)
            for _ in range(args.calls):
                t = time.perf_counter()
                r = h.get(path, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and r.json()["peak"] == d.peak
            cpu = (_cpu(web.pid) - cpu0) * 1000 / args.calls
        print(
            f"  API over HTTP, {args.calls} calls: p50 {statistics.median(times):.0f} ms, "
            f"p99 {_pct(times, 0.99):.0f} ms; web process CPU {cpu:.0f} ms per call; "
            f"reply {len(r.content) / 1024:.0f} KiB"
        )
        print(f"  target p50 <= 250 ms: {'met' if statistics.median(times) <= 250 else 'NOT met'}")
    finally:
        web.terminate()
        web.wait(timeout=20)
        log.close()
        c.close()
        if args.backend == "postgres":
            admin = create_engine(normalize_url(args.postgres), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
