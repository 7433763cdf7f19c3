"""Booking, measured end to end against real processes: the Zoom sandbox, `meetbridge serve`
and `meetbridge worker`, on SQLite (the embedded default) or PostgreSQL + Redis.

1. Slots: `GET /api/v1/public/{org}/{type}/slots` for 30 days of a round-robin type with 1, 10
   and 50 members, each with 300 busy events from their calendar (as a calendar read leaves
   them) and 09:00-17:00 weekday hours in four zones. p50 / p99 of the API over 100 calls
   each, the 50:1 ratio, and the web process's CPU per call.
2. Booking: a public booking (`POST …/bookings`, 201) until the booker's confirmation e-mail,
   carrying the meeting's join link, is in the outbox folder. p50 of that, of Zoom's own time
   on the create (the sandbox's `create_ms`), and of the overhead (the first less the second),
   with one client; then bookings/s with 8 clients.

`.venv/bin/python bench/booking.py [--backend sqlite|postgres] [--only slots|booking]`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert
from sqlalchemy import text as sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PASSWORD, _connect, _proc_table, free_port, wait_ready

from meetbridge.booking.inputs import MeetingTypeInput, TypeMember
from meetbridge.booking.tables import CalendarBusy, MemberCalendar
from meetbridge.container import build_container
from meetbridge.core.audit import Origin
from meetbridge.core.db import normalize_url
from meetbridge.core.migrate import upgrade
from meetbridge.core.settings import Settings

ORIGIN = Origin(via="bench")
ZONES = ("Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata")


def _cpu(pid: int) -> float:
    """CPU seconds of a process and its children so far."""
    table = _proc_table()
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += table.get(p, (0, "", 0.0))[2]
        todo += [q for q, (pp, _n, _c) in table.items() if pp == p]
    return total


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Stack:
    """The sandbox, the web server (one process) and a worker, on a fresh database."""

    def __init__(self, backend: str, postgres: str, data: Path) -> None:
        self.zoom_port, self.web_port = free_port(), free_port()
        self.zoom = f"http://127.0.0.1:{self.zoom_port}"
        self.product = f"http://127.0.0.1:{self.web_port}"
        self.data = data
        self.url = f"sqlite:///{data / 'meetbridge.db'}"
        extra: dict[str, str] = {}
        if backend == "postgres":
            import redis

            name = f"mb_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sql(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.url = normalize_url(postgres).rsplit("/", 1)[0] + f"/{name}"
            extra["MEETBRIDGE_REDIS_URL"] = "redis://127.0.0.1:6379/13"
            redis.Redis.from_url(extra["MEETBRIDGE_REDIS_URL"]).flushdb()
        self.env = {
            **os.environ,
            **extra,
            "MEETBRIDGE_DATABASE_URL": self.url,
            "MEETBRIDGE_DATA_DIR": str(data),
            "MEETBRIDGE_PORT": str(self.web_port),
            "MEETBRIDGE_ZOOM_API_BASE": f"{self.zoom}/v2",
            "MEETBRIDGE_ZOOM_OAUTH_BASE": self.zoom,
            "MEETBRIDGE_BASE_URL": self.product,
            "MEETBRIDGE_ZOOM_REDIRECT_URI": f"{self.product}/integrations/zoom/callback",
            "MEETBRIDGE_LOG_LEVEL": "WARNING",
            "MEETBRIDGE_BOOKING_ATTEMPTS_PER_ADDRESS": "100000",
            "MEETBRIDGE_BOOKING_LINK_WAIT_SECONDS": "60",
        }
        upgrade(self.url)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=data,
            database_url=self.url,
            redis_url=extra.get("MEETBRIDGE_REDIS_URL"),
        )
        self.c = build_container(settings, immediate_jobs=True)
        _org, self.owner = self.c.orgs.create_organization(
            name="Bench",
            owner_email="o@bench.test",
            owner_name="O",
            slug="bench",
            owner_password=PASSWORD,
            origin=ORIGIN,
        )
        self.log = open(data / "procs.log", "w")  # noqa: SIM115
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, worker: bool = True) -> None:
        def run(name: str, *cmd: str) -> None:
            self.procs[name] = subprocess.Popen(
                [sys.executable, *cmd], env=self.env, stdout=self.log, stderr=self.log
            )

        run("sandbox", "-m", "meetbridge_sandbox", "--port", str(self.zoom_port))
        run("web", "-m", "meetbridge", "serve", "--workers", "1")
        if worker:
            run("worker", "-m", "meetbridge", "worker")
        wait_ready(f"{self.zoom}/_sandbox/clock")
        wait_ready(f"{self.product}/readyz")

    def stop(self) -> None:
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            p.wait(timeout=20)
        self.c.close()
        self.log.close()

    def members(self, n: int, prefix: str, zoom: bool) -> list[str]:
        ids = []
        for i in range(n):
            email = f"{prefix}{i}@bench.test"
            user = self.c.accounts.create_member(
                self.owner,
                email=email,
                name=f"{prefix} {i}",
                role="member",
                password=PASSWORD,
                origin=ORIGIN,
            )
            with self.c.db.write() as s:
                user = s.merge(user)
                user.timezone = ZONES[i % len(ZONES)]
            if zoom:
                zoom_email = f"{prefix}{i}@zoom-bench.test"
                httpx.post(
                    f"{self.zoom}/_sandbox/accounts",
                    json={"id": f"acct-{prefix}{i}", "plan": "pro"},
                )
                httpx.post(
                    f"{self.zoom}/_sandbox/accounts/acct-{prefix}{i}/users",
                    json={"email": zoom_email, "password": "sandbox-password"},
                )
                _connect(self.product, self.zoom, email, zoom_email)
            ids.append(user.id)
        return ids

    def type(self, slug: str, members: list[str], **over: object) -> None:
        data = MeetingTypeInput(
            name=slug,
            slug=slug,
            duration=30,
            assignment="round_robin",
            members=[TypeMember(m) for m in members],
            **over,  # type: ignore[arg-type]
        )
        view = self.c.meeting_types.create(self.owner, data, ORIGIN)
        self.c.meeting_types.publish(self.owner, view.type.id, True, ORIGIN)


def _busy(stack: Stack, members: list[str], rng: random.Random) -> None:
    """300 busy events per member over the next 30 days, as a calendar read leaves them."""
    now = dt.datetime.now(dt.UTC)
    with stack.c.db.write() as s:
        for uid in members:
            cal = MemberCalendar(
                org_id=stack.owner.org_id,
                user_id=uid,
                kind="feed",
                url="https://calendar.example/feed.ics",
                status="paused",
            )
            s.add(cal)
            s.flush()
            rows = []
            for _ in range(300):
                at = now + dt.timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
                rows.append(
                    {
                        "calendar_id": cal.id,
                        "user_id": uid,
                        "start_at": at,
                        "end_at": at + dt.timedelta(minutes=rng.choice((15, 30, 60, 120))),
                    }
                )
            s.execute(insert(CalendarBusy), rows)


def bench_slots(stack: Stack) -> None:
    rng = random.Random(7)
    sizes = (1, 10, 50)
    everyone = stack.members(50, "s", zoom=False)
    _busy(stack, everyone, rng)
    for n in sizes:
        stack.type(f"rr{n}", everyone[:n], fallback="jitsi", interval=15)
    stack.start(worker=False)
    now = dt.datetime.now(dt.UTC)
    params = {
        "from": now.isoformat(),
        "to": (now + dt.timedelta(days=30)).isoformat(),
        "timezone": "Europe/Paris",
    }
    results = {}
    with httpx.Client(base_url=f"{stack.product}/api/v1/public/bench", timeout=60) as api:
        for n in sizes:
            for _ in range(5):
                api.get(f"/rr{n}/slots", params=params)
            times, cpu0 = [], _cpu(stack.procs["web"].pid)
            for _ in range(100):
                t0 = time.perf_counter()
                r = api.get(f"/rr{n}/slots", params=params)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
            cpu = (_cpu(stack.procs["web"].pid) - cpu0) * 1000 / 100
            results[n] = (_pct(times, 0.5), _pct(times, 0.99), cpu, len(r.json()))
    print("slots (30 days, round-robin, 300 busy events per member)")
    print("members  p50 ms  p99 ms  web CPU ms/call  slots")
    for n, (p50, p99, cpu, count) in results.items():
        print(f"{n:7d}  {p50:6.1f}  {p99:6.1f}  {cpu:15.1f}  {count:5d}")
    print(f"cost ratio 50:1 (p50) = {results[50][0] / results[1][0]:.2f}")


def _outbox_has(folder: Path, address: str, seen: set[str]) -> bool:
    for f in folder.glob("*.eml") if folder.exists() else []:
        if f.name in seen:
            continue
        body = f.read_bytes()
        if f"To: {address}".encode() in body and b"/j/" in body:
            seen.add(f.name)
            return True
    return False


def bench_booking(stack: Stack) -> None:
    stack.start(worker=True)
    hosts = stack.members(10, "h", zoom=True)
    stack.type("book", hosts, interval=30, horizon_days=365)
    outbox = stack.c.settings.effective_outbox_dir
    now = dt.datetime.now(dt.UTC)
    with httpx.Client(base_url=f"{stack.product}/api/v1/public/bench/book", timeout=60) as api:
        r = api.get(
            "/slots",
            params={"from": now.isoformat(), "to": (now + dt.timedelta(days=60)).isoformat()},
        )
        slots = [s["start"] for s in r.json()]
        total, posts, seen = [], [], set()
        cpu0 = {k: _cpu(p.pid) for k, p in stack.procs.items()}
        for i, start in enumerate(slots[:40]):
            email = f"one{i}@client.test"
            t0 = time.perf_counter()
            r = api.post(
                "/bookings",
                json={"start": start, "name": f"C {i}", "email": email, "timezone": "UTC"},
            )
            assert r.status_code == 201, r.text
            posts.append((time.perf_counter() - t0) * 1000)
            while not _outbox_has(outbox, email, seen):
                time.sleep(0.002)
            total.append((time.perf_counter() - t0) * 1000)
        cpu1 = {k: (_cpu(p.pid) - cpu0[k]) * 1000 / 40 for k, p in stack.procs.items()}
    zoom_ms = [
        m["create_ms"]
        for m in httpx.get(f"{stack.zoom}/_sandbox/meetings").json()
        if m.get("create_ms") is not None
    ]
    warm = total[5:]
    print("public booking → confirmation with the join link in the outbox (1 client)")
    print(
        f"p50 {statistics.median(warm):.1f} ms; Zoom's create p50 "
        f"{statistics.median(zoom_ms):.1f} ms; overhead p50 "
        f"{statistics.median(warm) - statistics.median(zoom_ms):.1f} ms; the POST's answer p50 "
        f"{statistics.median(posts[5:]):.1f} ms"
    )
    print("1 client, CPU ms per booking: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu1.items()))
    # 8 clients, each on its own slots: booked and confirmed per second.
    rest = slots[40 : 40 + 8 * 25]
    booked: list[str] = []
    lock = threading.Lock()
    cpu0 = {k: _cpu(p.pid) for k, p in stack.procs.items()}

    def client(k: int) -> None:
        with httpx.Client(base_url=f"{stack.product}/api/v1/public/bench/book", timeout=60) as api:
            for j, start in enumerate(rest[k::8]):
                email = f"many{k}-{j}@client.test"
                body = {"start": start, "name": "C", "email": email, "timezone": "UTC"}
                if api.post("/bookings", json=body).status_code == 201:
                    with lock:
                        booked.append(email)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    waiting = set(booked)
    deadline = time.monotonic() + 300
    while waiting and time.monotonic() < deadline:
        for address in list(waiting):
            if _outbox_has(outbox, address, seen):
                waiting.discard(address)
        time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    confirmed = len(booked) - len(waiting)
    cpu = {k: (_cpu(p.pid) - cpu0[k]) * 1000 / max(1, confirmed) for k, p in stack.procs.items()}
    print(
        f"8 clients: {confirmed} bookings booked and confirmed in {elapsed:.1f} s = "
        f"{confirmed / elapsed:.1f}/s"
    )
    print("CPU ms per booking: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--only", choices=("slots", "booking"))
    args = ap.parse_args()
    for part, fn in (("slots", bench_slots), ("booking", bench_booking)):
        if args.only not in (None, part):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(args.backend, args.postgres, Path(tmp))
            try:
                fn(stack)
            finally:
                stack.stop()


if __name__ == "__main__":
    main()
