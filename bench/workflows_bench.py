"""Workflows, measured end to end against real processes: the Zoom sandbox, `meetbridge serve`
(one process) and `meetbridge worker` (its default 64 threads), on SQLite with the SQLite job
queue (the embedded default, as `make run` has it) or PostgreSQL + Redis. (Not named
workflows.py: bench/ is on sys.path and that would shadow meetbridge's package's name.)

1. Event → first step started: a workflow on `member.onboarded`; members created one at a
   time through the API (`POST /api/v1/members` with a start date). The latency is the first
   step's `workflow_steps.started_at` (written by the worker before the step does anything)
   less the event's `domain_events.occurred_at` (written by the web process in the member's
   transaction): the event's job, the subscriber starting the run, the run's job, its claim.
   p50 / p99.
2. Runs of a three-step workflow (create a meeting with registration; a loop adding two
   registrants; an e-mail), started with `POST /api/v1/workflows/{id}/runs`, with Zoom
   answering every API call 0 or 100 ms later (the sandbox's `latency_ms` fault rule on
   /v2/*): 30 one at a time (each run's own time, nothing queued), then 1,000 from 8 client
   threads at once. Runs/s from the first run's creation to the last one's finish (the
   database's own timestamps), the runs' own p50 / p99, and CPU ms per run of each process
   tree (web, worker, sandbox), PostgreSQL's and Redis's server processes and this process
   (the client), read from /proc (utime + stime, children's included) before and after.
   40 licensed hosts keep Zoom's 100 creates a day per host; the account's per-second limits
   are lifted (the sandbox's rate_limit_multiplier 0, the product's MEETBRIDGE_ZOOM_QPS_
   MULTIPLIER 100) so meetbridge, not Zoom's ceiling, is measured — on Pro the account's 30
   Light calls a second (two registrants a run) would hold it to 15 runs/s.

`.venv/bin/python bench/workflows_bench.py [--backend sqlite|postgres] [--only latency|runs]
[--runs 1000] [--one-by-one 30] [--samples 100]`."""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select
from sqlalchemy import text as sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PASSWORD, cpu_by_part, free_port
from service_requests import ACCOUNT, _product

from booking import ORIGIN, Stack, _pct
from meetbridge.container import build_container
from meetbridge.core.db import normalize_url
from meetbridge.core.migrate import upgrade
from meetbridge.core.models import DomainEvent, Meeting
from meetbridge.core.settings import Settings
from meetbridge.workflows.tables import RunStatus, WorkflowRun, WorkflowStep

HOSTS = 40  # licensed users of the account: 100 meeting creates a day each
CLIENTS = 8  # threads posting runs
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class WorkflowStack(Stack):
    """booking.Stack, with a Redis database of its own (`redis_db`; Stack's is 13, which the
    chaos tests also use by default): flushing it cannot touch another run's jobs."""

    def __init__(self, backend: str, postgres: str, data: Path, redis_db: int) -> None:
        self.zoom_port, self.web_port = free_port(), free_port()
        self.zoom = f"http://127.0.0.1:{self.zoom_port}"
        self.product = f"http://127.0.0.1:{self.web_port}"
        self.data = data
        self.url = f"sqlite:///{data / 'meetbridge.db'}"
        self.pg_name: str | None = None
        self.postgres = postgres
        extra: dict[str, str] = {}
        if backend == "postgres":
            import redis

            self.pg_name = f"mb_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sql(f'CREATE DATABASE "{self.pg_name}"'))
            admin.dispose()
            self.url = normalize_url(postgres).rsplit("/", 1)[0] + f"/{self.pg_name}"
            extra["MEETBRIDGE_REDIS_URL"] = f"redis://127.0.0.1:6379/{redis_db}"
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
            # Zoom's per-second limits lifted on both sides (the sandbox's below).
            "MEETBRIDGE_ZOOM_QPS_MULTIPLIER": "100",
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
        self.procs = {}

    def stop(self) -> None:
        super().stop()
        if self.pg_name is not None:
            admin = create_engine(normalize_url(self.postgres), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sql(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
            admin.dispose()


def _api(stack: Stack) -> httpx.Client:
    token = stack.c.api_tokens.create_api_token(stack.owner, name="bench", origin=ORIGIN).secret
    return httpx.Client(
        base_url=f"{stack.product}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def _connect_account(stack: Stack) -> list[str]:
    """The organisation's Zoom account connected (Server-to-Server), HOSTS licensed users on
    it, and its per-second limits off. Returns the hosts' e-mails."""
    _product(stack)
    hosts = []
    for i in range(HOSTS):
        email = f"wf-host{i}@pool.test"
        r = httpx.post(
            f"{stack.zoom}/_sandbox/accounts/{ACCOUNT[0]}/users",
            json={"email": email, "first_name": "Host", "last_name": str(i), "type": 2},
        )
        assert r.status_code == 200, r.text
        hosts.append(email)
    r = httpx.patch(
        f"{stack.zoom}/_sandbox/accounts/{ACCOUNT[0]}", json={"rate_limit_multiplier": 0}
    )
    assert r.status_code == 200, r.text
    stack.c.connections.save_account(stack.owner, *ACCOUNT, ORIGIN)
    return hosts


def _faults(stack: Stack, latency_ms: int) -> None:
    rules = [{"path": "/v2/*", "latency_ms": latency_ms}] if latency_ms else []
    r = httpx.post(f"{stack.zoom}/_sandbox/faults", json={"rules": rules})
    assert r.status_code == 200, r.text


# ---- 1. event → first step -----------------------------------------------------------------

ONBOARDED = {
    "trigger": {"kind": "member.onboarded"},
    "steps": [
        {
            "key": "welcome",
            "action": "email.send",
            "inputs": {
                "to": "{{ member.email }}",
                "subject": "Welcome, {{ member.name }}",
                "text": "You start on {{ member.start_date }}.",
            },
        }
    ],
}


def bench_latency(stack: Stack, samples: int) -> None:
    stack.start(worker=True)
    api = _api(stack)
    r = api.post("/workflows", json={"name": "Onboarding", "definition": ONBOARDED,
                                     "enabled": True})  # fmt: skip
    assert r.status_code == 201, r.text
    wf_id = r.json()["id"]
    start = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    warm = 5
    for i in range(warm + samples):
        r = api.post(
            "/members",
            json={"email": f"hire{i}@bench.test", "name": f"Hire {i}", "password": PASSWORD,
                  "start_date": start},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        while _first_steps(stack, wf_id) < i + 1:
            assert time.monotonic() < deadline, f"member {i}: no run started in 30 s"
            time.sleep(0.01)
        time.sleep(0.1)  # the run's e-mail and the rest settle before the next member
    with stack.c.db.read() as s:
        rows = s.execute(
            select(WorkflowRun.dedupe_key, WorkflowRun.created_at, WorkflowStep.started_at)
            .join(WorkflowStep, WorkflowStep.run_id == WorkflowRun.id)
            .where(WorkflowRun.workflow_id == wf_id, WorkflowStep.position == 0)
            .order_by(WorkflowRun.created_at)
        ).all()
        events = s.execute(select(DomainEvent.id, DomainEvent.occurred_at))
        occurred = {row.id: row.occurred_at for row in events}
    lat, to_run = [], []
    for key, created, started in rows[warm:]:
        event_id = key.split(":")[1]  # event:<event id>:<workflow id>
        lat.append((_ts(started) - _ts(occurred[event_id])) * 1000)
        to_run.append((_ts(created) - _ts(occurred[event_id])) * 1000)
    print(f"event → first step started, {len(lat)} members one at a time (after {warm} warm-up)")
    print(
        f"  p50 {_pct(lat, 0.5):.1f} ms  p99 {_pct(lat, 0.99):.1f} ms  (event → run written "
        f"p50 {_pct(to_run, 0.5):.1f} ms, p99 {_pct(to_run, 0.99):.1f} ms)",
        flush=True,
    )


def _first_steps(stack: Stack, wf_id: str) -> int:
    with stack.c.db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(WorkflowStep)
                .join(WorkflowRun, WorkflowStep.run_id == WorkflowRun.id)
                .where(WorkflowRun.workflow_id == wf_id, WorkflowStep.position == 0)
            )
            or 0
        )


# ---- 2. runs of a three-step workflow -------------------------------------------------------


def three_steps() -> dict[str, Any]:
    """Create a meeting (registration on, approved at once), a loop adding the run's two
    people as registrants, an e-mail to the run's organiser with both join links."""
    return {
        "trigger": {"kind": "manual"},
        "steps": [
            {
                "key": "meeting",
                "action": "zoom.create_meeting",
                "inputs": {
                    "topic": "{{ data.topic }}",
                    "start": "{{ data.start }}",
                    "timezone": "UTC",
                    "duration": 30,
                    "host": "{{ data.host }}",
                    "registration": True,
                },
            },
            {
                "key": "register",
                "action": "zoom.add_registrant",
                "for_each": "{{ data.people }}",
                "inputs": {
                    "meeting_id": "{{ steps.meeting.zoom_id }}",
                    "email": "{{ item.email }}",
                    "first_name": "{{ item.name }}",
                },
            },
            {
                "key": "tell",
                "action": "email.send",
                "inputs": {
                    "to": "{{ data.organiser }}",
                    "subject": "{{ steps.meeting.topic }}",
                    "text": "{{ steps.meeting.join_url }} — {{ steps.register.count }} "
                    # ["items"], not .items: the template language reads .items as the
                    # dict's method (the save check accepts both).
                    'registered: {{ steps.register["items"][0].join_url }} '
                    '{{ steps.register["items"][1].join_url }}',
                },
            },
        ],
    }


def run_data(tag: str, i: int, hosts: list[str], first: dt.datetime) -> dict[str, Any]:
    at = first + dt.timedelta(minutes=30 * i)
    return {
        "topic": f"{tag} {i:04d}",
        "start": at.strftime("%Y-%m-%d %H:%M"),
        "host": hosts[i % len(hosts)],
        "people": [
            {"email": f"{tag.lower()}-{i}-a@people.test", "name": f"A{i}"},
            {"email": f"{tag.lower()}-{i}-b@people.test", "name": f"B{i}"},
        ],
        "organiser": f"{tag.lower()}-{i}@organisers.test",
    }


def post_runs(product: str, token: str, wf_id: str, bodies: list[dict[str, Any]]) -> None:
    """Each body a run (`POST …/runs`, 202), from CLIENTS threads on kept-alive connections."""
    url = httpx.URL(product)
    failures: list[str] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(url.host, url.port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            for body in bodies[k::CLIENTS]:
                conn.request(
                    "POST", f"/api/v1/workflows/{wf_id}/runs", json.dumps({"data": body}), headers
                )
                r = conn.getresponse()
                answer = r.read()
                if r.status != 202:
                    failures.append(f"{r.status} {answer[:300]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]


def wait_finished(db_url: str, wf_id: str, n: int, timeout: float) -> None:
    engine = create_engine(db_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(
                    select(func.count())
                    .select_from(WorkflowRun)
                    .where(WorkflowRun.workflow_id == wf_id, WorkflowRun.status.in_(FINISHED))
                ).scalar_one()
            if done >= n:
                return
            assert time.monotonic() < deadline, f"{n - done} of {n} runs not finished"
            time.sleep(0.1)
    finally:
        engine.dispose()


def bench_runs(stack: Stack, total: int, one_by_one: int) -> None:
    stack.start(worker=True)
    hosts = _connect_account(stack)
    api = _api(stack)
    token = str(api.headers["Authorization"]).removeprefix("Bearer ")
    parts = {k: p.pid for k, p in stack.procs.items()}
    names = [*parts, "postgres", "redis", "load"]
    first = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    first += dt.timedelta(days=2)
    print(
        f"runs of create meeting → 2 registrants (a loop) → e-mail: {one_by_one} one at a time, "
        f"then {total:,} from {CLIENTS} client threads"
    )
    print(
        "| Zoom adds | runs | how | succeeded | runs/s | run p50 ms | run p99 ms | meeting "
        "step ≥ 3 s after the meeting | wall s | CPU ms per run: " + " / ".join(names) + " |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    phases = [(0, 20, "burst"), (0, one_by_one, "one"), (0, total, "burst")]
    phases += [(100, one_by_one, "one"), (100, total, "burst")]
    for phase, (latency, n, how) in enumerate(phases):
        if n == 0:
            continue
        r = api.post("/workflows", json={"name": f"Three steps {phase}",
                                         "definition": three_steps(), "enabled": True})  # fmt: skip
        assert r.status_code == 201, r.text
        wf_id = r.json()["id"]
        _faults(stack, latency)
        tag = f"P{phase}"
        bodies = [run_data(tag, i, hosts, first + dt.timedelta(days=40 * phase)) for i in range(n)]
        cpu0 = cpu_by_part(parts)
        t0 = time.perf_counter()
        if how == "burst":
            post_runs(stack.product, token, wf_id, bodies)
            wait_finished(stack.url, wf_id, n, timeout=900)
        else:
            for i, body in enumerate(bodies):
                r = api.post(f"/workflows/{wf_id}/runs", json={"data": body})
                assert r.status_code == 202, r.text
                wait_finished(stack.url, wf_id, i + 1, timeout=60)
        wall = time.perf_counter() - t0
        cpu1 = cpu_by_part(parts)
        with stack.c.db.read() as s:
            runs = s.execute(
                select(
                    WorkflowRun.status,
                    WorkflowRun.created_at,
                    WorkflowRun.finished_at,
                    WorkflowRun.last_error,
                ).where(WorkflowRun.workflow_id == wf_id)
            ).all()
            # The meeting step's end against the meeting's arrival at Zoom: a run woken by
            # `meeting.created` goes on at once; one that missed it waits for its 5 s look
            # (in a burst, also a run whose job waits in the queue).
            gaps = s.execute(
                select(WorkflowStep.finished_at, Meeting.last_synced_at)
                .join(WorkflowRun, WorkflowStep.run_id == WorkflowRun.id)
                .join(Meeting, Meeting.source_id == WorkflowStep.id)
                .where(WorkflowRun.workflow_id == wf_id, WorkflowStep.position == 0)
            ).all()
        late = sum(1 for end, made in gaps if end and made and _ts(end) - _ts(made) >= 3)
        ok = [r for r in runs if r.status == RunStatus.SUCCEEDED]
        for r in [r for r in runs if r.status != RunStatus.SUCCEEDED][:3]:
            print(f"  a run {r.status}: {r.last_error}")
        if phase == 0:
            continue  # the warm-up: tokens, the host listing, every thread's connections
        span = max(_ts(r.finished_at) for r in runs) - min(_ts(r.created_at) for r in runs)
        each = [(_ts(r.finished_at) - _ts(r.created_at)) * 1000 for r in ok]
        cpu = " / ".join(f"{(cpu1[k] - cpu0[k]) * 1000 / n:.1f}" for k in names)
        print(
            f"| {latency} ms | {n} | {'one at a time' if how == 'one' else 'at once'} | "
            f"{len(ok)} | {n / span:.1f} | {_pct(each, 0.5):.0f} | {_pct(each, 0.99):.0f} | "
            f"{late} | {wall:.1f} | {cpu} |",
            flush=True,
        )
    _faults(stack, 0)
    at_zoom = httpx.get(f"{stack.zoom}/_sandbox/meetings", timeout=60).json()
    topics = [m["topic"] for m in at_zoom if not m["topic"].startswith("P0 ")]
    registrants = sum(len(m["registrants"]) for m in at_zoom if not m["topic"].startswith("P0 "))
    print(f"at Zoom: {len(topics)} meetings ({len(set(topics))} topics), {registrants} registrants")


def _ts(value: object) -> float:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis-db", type=int, default=11)
    ap.add_argument("--only", choices=("latency", "runs"))
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--one-by-one", type=int, default=30)
    args = ap.parse_args()
    print(f"backend {args.backend}{' + Redis' if args.backend == 'postgres' else ''}")
    for part in ("latency", "runs"):
        if args.only not in (None, part):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            stack = WorkflowStack(args.backend, args.postgres, Path(tmp), args.redis_db)
            try:
                if part == "latency":
                    bench_latency(stack, args.samples)
                else:
                    bench_runs(stack, args.runs, args.one_by_one)
            finally:
                stack.stop()


if __name__ == "__main__":
    main()
