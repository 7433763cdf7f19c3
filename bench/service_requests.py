"""Service requests on a pool of Zoom hosts, measured against the Zoom sandbox (a real
process, Pro limits) with the product's own services in this process, on SQLite (the
embedded default) or PostgreSQL + Redis.

1. Host choice: a pool of 200 licensed users of the account, 100,000 Zoom requests already
   holding windows on them over the next year; p50 / p99 of `HostChooser.choose` for 300
   random one-hour windows (everything a conversion reads before its lock: the pool, Zoom's
   listing of hosts (cached), the held windows, meetings made another way, Zoom's daily
   counts, the chosen host's meetings at Zoom (cached a minute)), and CPU ms per choice.
   Then the pure chooser alone on the same data.
2. A series: 500 weekly-and-daily occurrences over a pool of 20 hosts, Clone Zoom Settings;
   from the job's start until all 500 meetings exist at Zoom: creates per second against
   Zoom's ceiling for the account (Pro: 20 Medium calls a second, shared with the listings
   the choice reads), and the 429s the sandbox sent.

`.venv/bin/python bench/service_requests.py [--backend sqlite|postgres] [--only choice|series]`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from booking import ORIGIN, Stack, _pct
from meetbridge.container import build_container
from meetbridge.core.errors import Conflict
from meetbridge.core.models import new_id
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.client import label_for
from meetbridge.requests.inputs import RequestInput, SettingsInput
from meetbridge.requests.tables import RequestKind, RequestStatus, ServiceRequest
from meetbridge.scheduling import pool
from meetbridge.scheduling.intervals import Interval

ACCOUNT = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")


class _Counting(httpx.HTTPTransport):
    """The product's transport to Zoom, counting the 429s Zoom answered and the Medium calls
    Zoom took (the budget the series spends: its creates and the choice's listings)."""

    said_429 = 0
    medium = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if response.status_code == 429:
            _Counting.said_429 += 1
        elif label_for(request.method, request.url.path.removeprefix("/v2")) == "Medium":
            _Counting.medium += 1
        return response


def _product(stack: Stack) -> None:
    """The product's services in this process, talking to the stack's sandbox."""
    stack.c.close()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=stack.data,
        database_url=stack.url,
        redis_url=stack.env.get("MEETBRIDGE_REDIS_URL"),
        zoom_api_base=f"{stack.zoom}/v2",
        zoom_oauth_base=stack.zoom,
        log_level="WARNING",
    )
    stack.c = build_container(settings, immediate_jobs=True, zoom_transport=_Counting())
    owner = stack.c.orgs.first_owner("bench")
    assert owner is not None
    stack.owner = owner


def _cpu() -> float:
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_utime
        + resource.getrusage(resource.RUSAGE_SELF).ru_stime
    )


def _pool(stack: Stack, n: int, prefix: str) -> list[str]:
    emails = []
    for i in range(n):
        email = f"{prefix}{i}@pool.test"
        r = httpx.post(
            f"{stack.zoom}/_sandbox/accounts/{ACCOUNT[0]}/users",
            json={"email": email, "first_name": "Pool", "last_name": f"Host {i}", "type": 2},
        )
        assert r.status_code == 200, r.text
        emails.append(email)
    stack.c.connections.save_account(stack.owner, *ACCOUNT, ORIGIN)
    data = SettingsInput(15, 15, "\n".join(emails))
    _row, checks = stack.c.requests.save_settings(stack.owner, data, ORIGIN)
    assert not [c for c in checks if c.problem], checks
    return emails


def bench_choice(stack: Stack) -> None:
    stack.start(worker=False)
    _product(stack)
    emails = _pool(stack, 200, "c")
    hosts = stack.c.meetings.hosts(stack.owner)
    ids = [h.id for h in hosts if h.email in emails]
    rng = random.Random(11)
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start += dt.timedelta(days=1)
    rows, held = [], {h: [] for h in ids}
    for i in range(100_000):
        host = ids[i % len(ids)]
        at = start + dt.timedelta(minutes=30 * rng.randrange(0, 365 * 48))
        end = at + dt.timedelta(hours=1)
        block = (at - dt.timedelta(minutes=15), end + dt.timedelta(minutes=15))
        held[host].append(Interval(*block))
        rows.append(
            {
                "id": new_id(),
                "org_id": stack.owner.org_id,
                "client": "Bench",
                "requester": "",
                "service": "Interpreting",
                "location": "",
                "start_at": at,
                "end_at": end,
                "timezone": "UTC",
                "notes": "",
                "status": RequestStatus.CONFIRMED,
                "kind": RequestKind.ZOOM,
                "zoom_host_id": host,
                "zoom_host_email": "",
                "block_start": block[0],
                "block_end": block[1],
                "choice_note": "",
                "sequence": 0,
                "created_at": start,
                "updated_at": start,
            }
        )
    with stack.c.db.write() as s:
        for k in range(0, len(rows), 5000):
            s.execute(insert(ServiceRequest), rows[k : k + 5000])
    probe = ServiceRequest(id=new_id(), org_id=stack.owner.org_id)
    windows = []
    for _ in range(300):
        at = start + dt.timedelta(minutes=30 * rng.randrange(0, 365 * 48))
        windows.append((at, at + dt.timedelta(hours=1)))
    for at, end in windows[:20]:  # warm: Zoom's host listing and the first host listings
        stack.c.requests.hosting.choose(probe, at, end)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        prof = cProfile.Profile()
        for at, end in windows[:100]:  # Zoom's listings of the hosts these choose, cached
            stack.c.requests.hosting.choose(probe, at, end)
        prof.enable()
        for at, end in windows[:100]:
            stack.c.requests.hosting.choose(probe, at, end)
        prof.disable()
        order = os.environ["BENCH_PROFILE"]  # a pstats sort key (tottime, …) or 1
        known = {k.value for k in pstats.SortKey}
        pstats.Stats(prof).sort_stats(order if order in known else "cumulative").print_stats(45)
    times, cpu0, free = [], _cpu(), 0
    for at, end in windows:
        t0 = time.perf_counter()
        try:
            stack.c.requests.hosting.choose(probe, at, end)
            free += 1
        except Conflict:  # every host busy (rare): still a full choice
            free += 0
        times.append((time.perf_counter() - t0) * 1000)
    cpu = (_cpu() - cpu0) * 1000 / len(windows)
    index = pool.Busy(held)
    pure = []
    for at, end in windows:
        window = Interval(at - dt.timedelta(minutes=15), end + dt.timedelta(minutes=15))
        order = [pool.Host(h) for h in rng.sample(ids, len(ids))]
        t0 = time.perf_counter()
        pool.choose(window, order, index, {})
        pure.append((time.perf_counter() - t0) * 1000)
    print("host choice: 200 pool hosts, 100,000 held windows over a year, 300 windows")
    print(
        f"  conversion's choice  p50 {_pct(times, 0.5):6.2f} ms  p99 {_pct(times, 0.99):6.2f} ms"
        f"  CPU {cpu:.2f} ms/choice  ({free} of {len(windows)} had a free host)"
    )
    print(f"  pure chooser         p50 {_pct(pure, 0.5):6.3f} ms  p99 {_pct(pure, 0.99):6.3f} ms")


def bench_series(stack: Stack) -> None:
    stack.start(worker=False)
    _product(stack)
    emails = _pool(stack, 20, "s")
    day = dt.date.today() + dt.timedelta(days=1)
    first = dt.datetime.combine(day, dt.time(8))
    data = RequestInput(
        client="Bench",
        service="Tutoring",
        start=first,
        end=first + dt.timedelta(minutes=45),
        timezone="UTC",
        status=RequestStatus.CONFIRMED,
    )
    # 500 occurrences: daily for 500 days would pass two years; every day at 08:00 plus
    # a second series at 14:00 and a third at 18:00 keeps them within the horizon.
    series = []
    for hour, count in ((8, 250), (14, 150), (18, 100)):
        at = dt.datetime.combine(day, dt.time(hour))
        d = RequestInput(**{**data.__dict__, "start": at, "end": at + dt.timedelta(minutes=45)})
        s, _rows = stack.c.request_series.create(
            stack.owner, d, {"frequency": "daily", "count": count}, ORIGIN
        )
        series.append(s.id)
    _Counting.said_429 = _Counting.medium = 0
    t0 = time.perf_counter()
    cpu0 = _cpu()
    jobs = [stack.c.request_series.clone_zoom(stack.owner, sid, ORIGIN) for sid in series]
    elapsed = time.perf_counter() - t0
    cpu = (_cpu() - cpu0) * 1000 / 500
    placed = sum(stack.c.request_series.job(stack.owner, j.id).placed for j in jobs)
    made = sum(
        1
        for e in emails
        for m in httpx.get(f"{stack.zoom}/_sandbox/meetings", params={"host": e}).json()
        if m["topic"].startswith("Tutoring")
    )
    rate = made / elapsed
    medium = _Counting.medium / elapsed
    said_429 = _Counting.said_429
    print("series: 500 occurrences, 20 pool hosts, Pro (20 Medium calls/s for the account)")
    print(
        f"  placed {placed}, at Zoom {made} in {elapsed:.1f} s: {rate:.1f} creates/s"
        f" ({rate / 20:.2f} of the ceiling); Medium calls taken {medium:.1f}/s"
        f" ({medium / 20:.2f} of the ceiling); 429s from Zoom: {said_429};"
        f" CPU {cpu:.1f} ms/occurrence"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--only", choices=("choice", "series"))
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"backend {args.backend}")
    for name, run in (("choice", bench_choice), ("series", bench_series)):
        if args.only in (None, name):
            with tempfile.TemporaryDirectory() as data:
                stack = Stack(args.backend, args.postgres, Path(data))
                try:
                    run(stack)
                finally:
                    stack.stop()


if __name__ == "__main__":
    main()
