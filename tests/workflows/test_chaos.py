"""Workflow runs under chaos, in the scaled shape: a `meetbridge serve` and two `meetbridge
worker` processes on PostgreSQL + Redis. TOTAL runs of a three-step workflow (create a meeting
with registration; a loop adding two registrants; an e-mail) started through the API while
Zoom (the sandbox) answers 20 % of its API calls with 5xx, lets 10 % time out and loses the
reply of 5 % after doing the work, and a worker is killed (SIGKILL) mid-run and started again.
Then: every run succeeded, and at Zoom each run made exactly one meeting with exactly its two
registrants, and its organiser got exactly one e-mail.

The killed worker's runs are taken up again when its claims run out (the engine's lease, five
minutes) and the reconciler (every minute) finds them: that wait, not TOTAL, is most of this
test's length. Not in `make test` for its length and load: `make chaos`, which CI runs."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from meetbridge.core.models import EmailMessage
from meetbridge.workflows.tables import RunStatus, WorkflowRun, WorkflowStep
from tests.conftest import ORIGIN
from tests.support import SmtpServer, free_port
from tests.workflows.conftest import ACCOUNT
from tests.zoom_env import ZoomEnv, zoom_env

TOTAL = 1000  # runs; each makes 1 meeting, 2 registrants, 1 e-mail
HOSTS = 25  # licensed hosts: 40 creates each, inside Zoom's 100 creates a day per host
ZOOM_TIMEOUT = 1.0
# On every call to Zoom's API (creates, registrants, look-ups, listings), each kind of fault
# holding the request just over the product's timeout.
CHAOS = {
    "path": "/v2/*",
    "error_rate": 0.20,
    "timeout_rate": 0.10,
    "lost_response_rate": 0.05,
    "hang_seconds": ZOOM_TIMEOUT + 0.2,
}
# Zoom recovers when this share of the runs has finished (the rest, waiting out their
# back-off, finish on their next attempt): a run keeps going through 8 failed attempts per
# step, and 3,000 steps through a 35 % fault rate for ever would exhaust a few by chance.
RECOVER_AT = 0.9
SETTLE = 1200.0  # seconds for everything to finish after the last run is started

_REDIS = os.environ.get("MEETBRIDGE_TEST_REDIS_URL")
# A Redis database of its own (the meetings' chaos test uses 13): its workers must not take
# other tests' jobs. Where several runs share one Redis, each names its own.
REDIS_URL = os.environ.get("MEETBRIDGE_TEST_WORKFLOWS_CHAOS_REDIS_URL") or (
    _REDIS.rsplit("/", 1)[0] + "/12" if _REDIS else None
)


def definition() -> dict[str, Any]:
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
                    "text": "{{ steps.meeting.join_url }}",
                },
            },
        ],
    }


def run_data(i: int, hosts: list[str], first: dt.datetime) -> dict[str, Any]:
    return {
        "topic": f"Chaos {i:04d}",
        "start": (first + dt.timedelta(minutes=30 * i)).strftime("%Y-%m-%d %H:%M"),
        "host": hosts[i % len(hosts)],
        "people": [
            {"email": f"a{i:04d}@people.test", "name": f"A{i}"},
            {"email": f"b{i:04d}@people.test", "name": f"B{i}"},
        ],
        "organiser": f"org{i:04d}@organisers.test",
    }


def counts(env: ZoomEnv, workflow_id: str) -> Counter[str]:
    with env.c.db.read() as s:
        return Counter(
            dict(
                s.execute(
                    select(WorkflowRun.status, func.count())
                    .where(WorkflowRun.workflow_id == workflow_id)
                    .group_by(WorkflowRun.status)
                ).all()
            )
        )


def unfinished_report(env: ZoomEnv, workflow_id: str, limit: int = 5) -> str:
    """The runs that did not succeed, with their step rows (what the assertion shows)."""
    lines = []
    with env.c.db.read() as s:
        runs = s.scalars(
            select(WorkflowRun)
            .where(WorkflowRun.workflow_id == workflow_id, WorkflowRun.status != "succeeded")
            .limit(limit)
        ).all()
        for r in runs:
            lines.append(
                f"run {r.id} {r.status} step {r.step} attempts {r.attempts} kind {r.error_kind} "
                f"next {r.next_attempt_at} claimed {r.claimed_until}: {r.last_error}"
            )
            for st in s.scalars(
                select(WorkflowStep)
                .where(WorkflowStep.run_id == r.id)
                .order_by(WorkflowStep.position, WorkflowStep.item)
            ):
                lines.append(
                    f"  step {st.position}/{st.item} {st.key} {st.status} attempts {st.attempts} "
                    f"error {st.error!r} zoom {st.zoom_request_id}"
                )
    return "\n".join(lines)


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_runs_through_faults_and_a_killed_worker(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    if not database_url.startswith("postgresql") or not REDIS_URL:
        pytest.skip("the scaled shape needs PostgreSQL and MEETBRIDGE_TEST_REDIS_URL")
    web_port = free_port()
    web = f"http://127.0.0.1:{web_port}"
    with zoom_env(
        tmp_path,
        database_url,
        smtp,
        redis_url=REDIS_URL,
        zoom_timeout=ZOOM_TIMEOUT,
        zoom_retries=2,
        meetings_sweep_after_seconds=0,
    ) as env:
        env.c.jobs.huey.flush()
        owner = env.user("owner@acme.test")
        hosts = []
        for i in range(HOSTS):
            email = f"wf-chaos{i}@zoom-sandbox.test"
            env.control(
                "POST",
                f"/accounts/{ACCOUNT[0]}/users",
                json={"email": email, "first_name": "Host", "last_name": str(i), "type": 2},
            )
            hosts.append(email)
        env.c.connections.save_account(owner, *ACCOUNT, ORIGIN)
        wf = env.c.workflows.create(owner, "Chaos", definition(), ORIGIN, enabled=True)
        token = env.c.api_tokens.create_api_token(owner, name="load", origin=ORIGIN).secret
        s = env.c.settings
        child = {k: v for k, v in os.environ.items() if not k.startswith("MEETBRIDGE_")}
        child.update(
            MEETBRIDGE_DATABASE_URL=s.effective_database_url,
            MEETBRIDGE_REDIS_URL=REDIS_URL,
            MEETBRIDGE_DATA_DIR=str(s.data_dir),  # the same secret key as this process's
            MEETBRIDGE_SMTP_HOST="127.0.0.1",
            MEETBRIDGE_SMTP_PORT=str(s.smtp_port),
            MEETBRIDGE_ZOOM_API_BASE=s.zoom_api_base,
            MEETBRIDGE_ZOOM_OAUTH_BASE=s.zoom_oauth_base,
            MEETBRIDGE_ZOOM_TIMEOUT=str(ZOOM_TIMEOUT),
            MEETBRIDGE_ZOOM_RETRIES="2",
            MEETBRIDGE_LOG_LEVEL="WARNING",
            MEETBRIDGE_WORKER_THREADS="16",
            MEETBRIDGE_BASE_URL=env.product,
        )
        log = open(tmp_path / "procs.log", "w")  # noqa: SIM115
        procs = {
            "web": subprocess.Popen(
                [sys.executable, "-m", "meetbridge", "serve", "--port", str(web_port)],
                env=child,
                stdout=log,
                stderr=log,
            )
        }

        def worker() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "meetbridge", "worker"], env=child, stdout=log, stderr=log
            )

        procs["w0"], procs["w1"] = worker(), worker()
        try:
            deadline = time.monotonic() + 120  # a loaded machine imports slowly
            while True:
                try:
                    if httpx.get(f"{web}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the web process did not start"
                time.sleep(0.2)
            began = time.monotonic()
            env.control("POST", "/faults", json={"seed": 11, "rules": [CHAOS]})
            first = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
            first += dt.timedelta(days=3)
            api = httpx.Client(
                base_url=f"{web}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
            )

            def start(i: int) -> int:
                body = {"data": run_data(i, hosts, first)}
                return api.post(f"/workflows/{wf.id}/runs", json=body).status_code

            with ThreadPoolExecutor(4) as pool:
                codes = list(pool.map(start, range(TOTAL)))
            assert codes == [202] * TOTAL
            print(f"{TOTAL} runs started in {time.monotonic() - began:.0f} s")
            # Mid-run: a quarter of the runs done, the worker's threads in the middle of others.
            killed = False
            recovered = False
            deadline = time.monotonic() + SETTLE
            while True:
                c = counts(env, wf.id)
                finished = c[RunStatus.SUCCEEDED] + c[RunStatus.FAILED] + c[RunStatus.CANCELLED]
                if not killed and c[RunStatus.SUCCEEDED] >= TOTAL // 4:
                    procs["w0"].send_signal(signal.SIGKILL)  # no goodbye
                    procs["w0"].wait()
                    procs["w0"] = worker()
                    killed = True
                    print(f"killed a worker at {time.monotonic() - began:.0f} s: {dict(c)}")
                if not recovered and finished >= RECOVER_AT * TOTAL:
                    faults = env.control("GET", "/faults")
                    env.control("DELETE", "/faults")
                    recovered = True
                    print(f"Zoom recovered at {time.monotonic() - began:.0f} s: {faults}")
                if finished >= TOTAL:
                    break
                assert time.monotonic() < deadline, (
                    f"not finished in {SETTLE:.0f} s: {dict(c)}\n{unfinished_report(env, wf.id)}"
                )
                time.sleep(2)
            print(f"all finished at {time.monotonic() - began:.0f} s: {dict(c)}")
            assert killed
            # Every e-mail queued sent (its delivery is work of its own).
            while True:
                with env.c.db.read() as db:
                    unsent = db.scalar(
                        select(func.count())
                        .select_from(EmailMessage)
                        .where(
                            EmailMessage.to_addr.like("%@organisers.test"),
                            EmailMessage.status != "sent",
                        )
                    )
                if not unsent:
                    break
                assert time.monotonic() < deadline, f"{unsent} e-mails not sent"
                time.sleep(2)
            # A create Zoom took late (after the client gave up and the look-up missed it)
            # is what the meetings reconciler's sweep deletes; run it now, not minutes on.
            time.sleep(3)
            env.c.meetings.sweep_orphans(limit=TOTAL)
        finally:
            for p in procs.values():
                p.send_signal(signal.SIGINT)
            for p in procs.values():
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
            log.close()
        # Every problem at once, with the rows that show it.
        problems = []
        if c[RunStatus.SUCCEEDED] != TOTAL:
            problems.append(
                f"{TOTAL - c[RunStatus.SUCCEEDED]} runs did not succeed:\n"
                + unfinished_report(env, wf.id)
            )
        at_zoom = [m for m in env.control("GET", "/meetings") if m["topic"].startswith("Chaos ")]
        made = Counter(m["topic"] for m in at_zoom)
        topics = [f"Chaos {i:04d}" for i in range(TOTAL)]
        if missing := [t for t in topics if t not in made]:
            problems.append(f"{len(missing)} runs made no meeting at Zoom: {missing[:5]}")
        if twice := {t: n for t, n in made.items() if n != 1}:
            problems.append(f"runs made more than one meeting at Zoom: {twice}")
        for m in at_zoom:
            i = int(m["topic"].split()[1])
            want = [f"a{i:04d}@people.test", f"b{i:04d}@people.test"]
            got = sorted(r["email"] for r in m["registrants"])
            if got != want:
                problems.append(f"{m['topic']} (Zoom {m['id']}) has registrants {got}")
        mail = Counter(
            str(msg["To"]) for msg in smtp.inbox.messages if "@organisers.test" in str(msg["To"])
        )
        organisers = [f"org{i:04d}@organisers.test" for i in range(TOTAL)]
        if unmailed := [a for a in organisers if a not in mail]:
            problems.append(f"{len(unmailed)} organisers got no e-mail: {unmailed[:5]}")
        if doubled := {a: n for a, n in mail.items() if n != 1}:
            problems.append(f"organisers got more than one e-mail: {doubled}")
        assert not problems, "\n".join(problems)
