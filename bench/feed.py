"""The iCalendar feed of a person with 5,000 events, measured against `meetbridge serve` (one
web process) on SQLite (the embedded default) or PostgreSQL.

The person has, inside the feed's window (90 days back, a year ahead): 1,000 regular service
requests and 1,000 Zoom requests (each holding its meeting, shown once, as the request), 2,000
meetings they host and 1,000 they are invited to, a tenth of all of them cancelled. Around
them, as in an organisation with other people: 20,000 other meetings and 5,000 other requests.
Rows are written directly (what the meetings engine and the requests module would leave); no
Zoom call is involved in reading a feed.

Measured over real HTTP, one client, one call at a time:
1. `GET /feeds/<token>.ics` (200, the whole feed): p50 / p99 and the web process's CPU per
   call (from /proc), the body's size.
2. The same with `If-None-Match` of the ETag it gave (304): p50 / p99 and CPU per call.
3. In this process, the service's `read` split into its parts (reads, text), by CPU time.

`.venv/bin/python bench/feed.py [--backend sqlite|postgres] [--calls 40]`."""

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
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert
from sqlalchemy import text as sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PASSWORD, free_port, wait_ready

from booking import _cpu, _pct
from meetbridge.container import build_container
from meetbridge.core.audit import Origin
from meetbridge.core.db import normalize_url
from meetbridge.core.migrate import upgrade
from meetbridge.core.models import Meeting, MeetingInvitee
from meetbridge.core.settings import Settings
from meetbridge.requests import reads
from meetbridge.requests.feed import AHEAD, PAST, CalendarFeeds
from meetbridge.requests.tables import RequestParticipant, ServiceRequest

ORIGIN = Origin(via="bench")


def _database(backend: str, postgres: str, data: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{data / 'meetbridge.db'}"
    name = f"mb_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sql(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalize_url(postgres).rsplit("/", 1)[0] + f"/{name}"


def _fill(c: Any, org_id: str, person: Any, other: Any, rng: random.Random) -> int:
    """The person's 5,000 events and the organisation's others; returns the person's count."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    span = int((PAST + AHEAD).total_seconds() // 60) - 24 * 60

    def when() -> dt.datetime:
        return now - PAST + dt.timedelta(minutes=12 * 60 + rng.randrange(span))

    meetings: list[dict[str, Any]] = []
    invitees: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []

    def meeting(host: str, source: tuple[str, str | None] = ("own", None)) -> dict[str, Any]:
        mid = str(uuid.uuid4())
        gone = rng.random() < 0.1
        row = {
            "id": mid,
            "org_id": org_id,
            "host_user_id": host,
            "title": f"Meeting {len(meetings)}",
            "agenda": "Agenda: scope, plan, next steps",
            "start_at": when(),
            "duration_min": rng.choice((30, 45, 60)),
            "timezone": "Europe/Paris",
            "status": "cancelled" if gone else "scheduled",
            "zoom_meeting_id": 80_000_000_000 + len(meetings),
            "join_url": f"https://zoom.example/j/{80_000_000_000 + len(meetings)}?pwd=abc123",
            "sequence": rng.randrange(3),
            "source_kind": source[0],
            "source_id": source[1],
            "updated_at": now,
            "created_at": now,
            "next_attempt_at": now,
        }
        meetings.append(row)
        return row

    def request(kind: str, who: Any) -> None:
        rid = str(uuid.uuid4())
        start = when()
        held = meeting(who.id, ("request", rid))["id"] if kind == "zoom" else None
        requests.append(
            {
                "id": rid,
                "org_id": org_id,
                "client": "Clinic Nord",
                "service": "Interpreting",
                "requester": "Front desk",
                "location": "Room 4, 12 Main St" if kind == "regular" else "",
                "start_at": start,
                "end_at": start + dt.timedelta(hours=1),
                "timezone": "Europe/Paris",
                "notes": "Bring the consent forms.",
                "status": "canceled" if rng.random() < 0.1 else "confirmed",
                "kind": kind,
                "meeting_id": held,
                "sequence": rng.randrange(3),
                "created_at": now,
                "updated_at": now,
            }
        )
        people.append(
            {
                "id": str(uuid.uuid4()),
                "request_id": rid,
                "role": "provider",
                "user_id": who.id,
                "email": who.email,
            }
        )

    for _ in range(1000):
        request("regular", person)
        request("zoom", person)
    for _ in range(2000):
        meeting(person.id)
    for _ in range(1000):
        m = meeting(other.id)
        invitees.append({"id": str(uuid.uuid4()), "meeting_id": m["id"], "email": person.email})
    for _ in range(20_000):  # the organisation's others, some inviting other people
        m = meeting(other.id)
        if rng.random() < 0.5:
            email = f"guest{rng.randrange(500)}@example.test"
            invitees.append({"id": str(uuid.uuid4()), "meeting_id": m["id"], "email": email})
    for _ in range(5000):
        request("regular", other)
    with c.db.write() as s:
        for table, rows in (
            (Meeting, meetings),
            (MeetingInvitee, invitees),
            (ServiceRequest, requests),
            (RequestParticipant, people),
        ):
            for i in range(0, len(rows), 2000):
                s.execute(insert(table), rows[i : i + 2000])
    return 5000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--calls", type=int, default=40)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="mb-bench-feed-"))
    url = _database(args.backend, args.postgres, data)
    upgrade(url)
    port = free_port()
    product = f"http://127.0.0.1:{port}"
    settings = Settings(_env_file=None, data_dir=data, database_url=url, base_url=product)  # type: ignore[call-arg]
    c = build_container(settings, immediate_jobs=True)
    _org, owner = c.orgs.create_organization(
        name="Bench",
        owner_email="o@bench.test",
        owner_name="O",
        slug="bench",
        owner_password=PASSWORD,
        origin=ORIGIN,
    )
    person = c.accounts.create_member(
        owner, email="p@bench.test", name="Pat", role="member", password=PASSWORD, origin=ORIGIN
    )
    expected = _fill(c, owner.org_id, person, owner, random.Random(7))
    feeds = CalendarFeeds(c.db, c.meetings)
    token = feeds.create(person, ORIGIN).token

    env = {
        **os.environ,
        "MEETBRIDGE_DATABASE_URL": url,
        "MEETBRIDGE_DATA_DIR": str(data),
        "MEETBRIDGE_PORT": str(port),
        "MEETBRIDGE_BASE_URL": product,
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
        wait_ready(f"{product}/readyz")
        feed = f"{product}/feeds/{token}.ics"
        with httpx.Client(timeout=60) as http:
            first = http.get(feed)
            assert first.status_code == 200, first.text
            events = first.content.count(b"BEGIN:VEVENT")
            assert events == expected, events
            etag = first.headers["etag"]
            for _ in range(3):  # warm the process's caches
                http.get(feed)
            print(f"feed of {events} events, {len(first.content) / 1e6:.2f} MB, {args.backend}")
            for label, headers, status in (
                ("200 (the whole feed)", {}, 200),
                ("304 (If-None-Match, unchanged)", {"If-None-Match": etag}, 304),
            ):
                took: list[float] = []
                cpu0 = _cpu(web.pid)
                for _ in range(args.calls):
                    t = time.perf_counter()
                    r = http.get(feed, headers=headers)
                    took.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == status, r.status_code
                cpu = (_cpu(web.pid) - cpu0) * 1000 / args.calls
                print(
                    f"  {label}: p50 {statistics.median(took):.1f} ms, "
                    f"p99 {_pct(took, 0.99):.1f} ms, web CPU {cpu:.1f} ms/call "
                    f"({args.calls} calls)"
                )
    finally:
        web.terminate()
        web.wait(timeout=20)
        log.close()

    # Where the time goes, in this process (CPU time, the median of 10).
    who = feeds.owner(token)
    assert who is not None
    now = dt.datetime.now(dt.UTC)
    parts: dict[str, list[float]] = {
        "ETag (all a 304 reads)": [],
        "requests read": [],
        "meetings read": [],
        "whole read": [],
    }
    for _ in range(10):
        t = time.process_time()
        feeds._etag(who, now - PAST, now + AHEAD)
        parts["ETag (all a 304 reads)"].append(time.process_time() - t)
        t = time.process_time()
        reads.of_person(c.db, who.org_id, who.user_id, who.email, now - PAST, now + AHEAD)
        parts["requests read"].append(time.process_time() - t)
        t = time.process_time()
        c.meetings.of_person(who.org_id, who.user_id, who.email, now - PAST, now + AHEAD)
        parts["meetings read"].append(time.process_time() - t)
        t = time.process_time()
        feeds.read(token)
        parts["whole read"].append(time.process_time() - t)
    whole = statistics.median(parts["whole read"]) * 1000
    print("  in process, CPU ms (median of 10):")
    for name, values in parts.items():
        print(f"    {name}: {statistics.median(values) * 1000:.1f}")
    reads_ms = sum(statistics.median(v) * 1000 for k, v in parts.items() if k != "whole read")
    print(f"    text (the rest): {whole - reads_ms:.1f}")
    c.close()


if __name__ == "__main__":
    main()
