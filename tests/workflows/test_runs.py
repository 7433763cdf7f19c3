"""Workflow runs end to end against the live sandbox (both databases): what a workflow does at
Zoom happens once, each step's outcome is recorded, failures say what to do, and a failed run
goes on from its failed step."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from sqlalchemy import event

from meetbridge.core.clock import ManualClock
from meetbridge.core.db import utcnow
from meetbridge.core.retention import Retention
from meetbridge.core.work import Retry
from meetbridge.workflows.tables import RunStatus, StepStatus, Workflow
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.workflows.conftest import (
    ACCOUNT,
    HOST,
    api,
    meetings_at_zoom,
    member_data,
    onboarding,
    owner,
    steps_of,
    wait_run,
    zoom_users,
)
from tests.zoom_env import ZoomEnv


def quick_retries(env: ZoomEnv) -> None:
    env.c.workflows.engine.work.retry = Retry(base=0.05, cap=0.2, max_attempts=6)


def test_onboarding_makes_the_user_meeting_registrant_and_mail_once(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    c = env.c
    wf = c.workflows.create(owner(env), "Onboarding", onboarding(), ORIGIN, enabled=True)
    run = c.workflows.run_now(owner(env), wf.id, member_data(), ORIGIN)
    run = wait_run(env, run.id)
    assert run.status == RunStatus.SUCCEEDED, run.last_error
    steps = steps_of(env, run.id)
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED] * 4
    # Zoom's request ids of the calls a step made itself (the meeting is the engine's).
    assert steps[0].zoom_request_id and steps[2].zoom_request_id
    # At Zoom: one user, one meeting on the host, with the new hire registered once.
    assert len(zoom_users(env, "new.hire@acme.test")) == 1
    [m] = [m for m in meetings_at_zoom(env) if m["topic"].startswith("Day 1 orientation")]
    assert [r["email"] for r in m["registrants"]] == ["new.hire@acme.test"]
    assert m["start_time"].endswith("09:00:00Z")  # 09:00 in London in winter is 09:00 UTC
    # In meetbridge: the meeting shows on Meetings, owned by the run's step.
    mine = c.meetings.list_by_source_ids(owner(env).org_id, "workflow", [steps[1].id])
    assert len(mine) == 1 and mine[0].zoom_meeting_id == m["id"]
    # The e-mail carries the registrant's own join link.
    [mail] = smtp.inbox.wait_for("new.hire@acme.test")
    assert m["registrants"][0]["join_url"] in mail.get_body(("plain",)).get_content()
    # Run again from scratch: the user exists already (found, not made twice).
    again = wait_run(env, c.workflows.run_now(owner(env), wf.id, member_data(), ORIGIN).id)
    assert again.status == RunStatus.SUCCEEDED
    assert steps_of(env, again.id)[0].output["existed"] is True
    assert len(zoom_users(env, "new.hire@acme.test")) == 1


def runs_of(env: ZoomEnv, workflow_id: str) -> list[Any]:
    return env.c.workflows.runs(owner(env), workflow_id)


def test_a_member_onboarded_starts_the_workflow(env: ZoomEnv, smtp: SmtpServer) -> None:
    c = env.c
    wf = c.workflows.create(owner(env), "Onboarding", onboarding(), ORIGIN, enabled=True)
    start = member_data()["member"]["start_date"]
    c.accounts.create_member(
        owner(env),
        email="nia@acme.test",
        name="Nia Newhire",
        role="member",
        password="a-Long-enough-passw0rd!",
        origin=ORIGIN,
        start_date=start,
    )
    [run] = runs_of(env, wf.id)
    run = wait_run(env, run.id)
    assert run.status == RunStatus.SUCCEEDED, run.last_error
    assert run.data["member"]["email"] == "nia@acme.test"
    assert run.data["member"]["start_date"] == start
    assert len(zoom_users(env, "nia@acme.test")) == 1
    smtp.inbox.wait_for("nia@acme.test")  # the welcome and the orientation
    # The event redelivered: no second run.
    assert len(runs_of(env, wf.id)) == 1


def test_dry_run_touches_nothing(env: ZoomEnv, smtp: SmtpServer) -> None:
    c = env.c
    wf = c.workflows.create(owner(env), "Onboarding", onboarding(), ORIGIN)
    before = len(meetings_at_zoom(env))
    run = c.workflows.run_now(owner(env), wf.id, None, ORIGIN, dry_run=True)
    assert run.status == RunStatus.SUCCEEDED and run.dry_run
    steps = steps_of(env, run.id)
    assert [s.key for s in steps] == ["zoom_user", "orientation", "register", "tell"]
    assert steps[1].inputs["topic"] == "Day 1 orientation for Alex New"  # the trigger's sample
    assert len(meetings_at_zoom(env)) == before
    assert zoom_users(env, "alex.new@example.com") == []
    time.sleep(0.3)
    assert smtp.inbox.to("alex.new@example.com") == []


def test_rate_limits_and_5xx_wait_and_retry_and_a_lost_answer_is_looked_up(env: ZoomEnv) -> None:
    c = env.c
    quick_retries(env)
    env.control(
        "POST",
        "/faults",
        json={
            "rules": [
                {"path": "/v2/meetings/*/registrants", "method": "POST", "burst_429": 2},
                {"path": "/v2/users", "method": "POST", "burst_error": 2, "error_status": 503},
                {"path": "/v2/meetings/*/registrants", "method": "POST",
                 "lost_response_rate": 1.0, "hang_seconds": 3},
            ]
        },
    )  # fmt: skip
    wf = c.workflows.create(owner(env), "Onboarding", onboarding(), ORIGIN, enabled=True)
    run = c.workflows.run_now(owner(env), wf.id, member_data("lost@acme.test"), ORIGIN)
    # The registrant's answer is lost for as long as the fault holds: the step looks it up.
    run = wait_run(env, run.id, timeout=60)
    env.control("DELETE", "/faults")
    assert run.status == RunStatus.SUCCEEDED, run.last_error
    [m] = [m for m in meetings_at_zoom(env) if m["topic"].startswith("Day 1")]
    assert [r["email"] for r in m["registrants"]] == ["lost@acme.test"]
    assert len(zoom_users(env, "lost@acme.test")) == 1
    # The two 503s on the create were retried (each time the user was looked up first).
    assert steps_of(env, run.id)[0].attempts == 3


def test_a_missing_scope_fails_the_run_with_advice_and_reconnecting_retries_it(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    c = env.c
    wf = c.workflows.create(owner(env), "Onboarding", onboarding(), ORIGIN, enabled=True)
    # The account's app loses its meeting scopes at Zoom (an admin edited the app).
    narrow = {"scopes": ["user:read:admin", "user:write:admin"]}
    env.control("PATCH", f"/apps/{ACCOUNT[1]}", json=narrow)
    env.control("POST", "/tokens/revoke", json={"client_id": ACCOUNT[1]})
    run = wait_run(env, c.workflows.run_now(owner(env), wf.id, member_data(), ORIGIN).id)
    assert run.status == RunStatus.FAILED
    assert run.error_kind == "scope" and run.step == 1  # the user step is done
    [mail] = smtp.inbox.wait_for("owner@acme.test")
    text = mail.get_body(("plain",)).get_content()
    assert "lacks a permission (scope)" in text and f"/workflows/{wf.id}/runs/{run.id}" in text
    # Re-connect with the scopes back: the run goes on from the failed step by itself.
    env.control("PATCH", f"/apps/{ACCOUNT[1]}", json={"scopes": ["meeting:write:admin",
                "meeting:read:admin", "user:read:admin", "user:write:admin"]})  # fmt: skip
    c.connections.save_account(owner(env), *ACCOUNT, ORIGIN)
    run = wait_run(env, run.id)
    assert run.status == RunStatus.SUCCEEDED, run.last_error
    steps = steps_of(env, run.id)
    assert steps[0].attempts == 1  # not done again
    assert len(zoom_users(env, "new.hire@acme.test")) == 1


def test_a_loop_of_ten_thousand_is_refused_before_anything(env: ZoomEnv) -> None:
    c = env.c
    definition = {
        "trigger": {"kind": "manual"},
        "steps": [
            {
                "key": "add",
                "action": "zoom.add_registrant",
                "for_each": "data.hires",
                "inputs": {"meeting_id": "123", "email": "{{ item.email }}",
                           "first_name": "{{ item.name }}"},
            }
        ],
    }  # fmt: skip
    wf = c.workflows.create(owner(env), "Many", definition, ORIGIN, enabled=True)
    hires = [{"email": f"h{i}@acme.test", "name": f"H{i}"} for i in range(10_000)]
    run = wait_run(env, c.workflows.run_now(owner(env), wf.id, {"hires": hires}, ORIGIN).id)
    assert run.status == RunStatus.FAILED
    assert "10,000 items" in (run.last_error or "") and "Nothing of it was done" in run.last_error
    assert steps_of(env, run.id) == []


def test_a_loop_adds_each_item_once(env: ZoomEnv, smtp: SmtpServer) -> None:
    c = env.c
    definition = {
        "trigger": {"kind": "manual"},
        "steps": [
            {
                "key": "townhall",
                "action": "zoom.create_meeting",
                "inputs": {"topic": "Town hall", "start": "2030-01-07 15:00",
                           "timezone": "UTC", "host": HOST, "registration": True},
            },
            {
                "key": "add",
                "action": "zoom.add_registrant",
                "for_each": "{{ data.hires }}",
                "inputs": {"meeting_id": "{{ steps.townhall.zoom_id }}",
                           "email": "{{ item.email }}", "first_name": "{{ item.name }}"},
            },
            {
                "key": "tell",
                "action": "email.send",
                "inputs": {"to": "{{ data.hires[0].email }}", "subject": "Town hall",
                           "text": "{{ steps.add.count }} added; yours: "
                                   "{{ steps.add.results[0].join_url }}"},
            },
        ],
    }  # fmt: skip
    wf = c.workflows.create(owner(env), "Town hall", definition, ORIGIN, enabled=True)
    hires = [{"email": f"h{i}@acme.test", "name": f"H{i}"} for i in range(5)]
    run = wait_run(env, c.workflows.run_now(owner(env), wf.id, {"hires": hires}, ORIGIN).id)
    assert run.status == RunStatus.SUCCEEDED, run.last_error
    [m] = [m for m in meetings_at_zoom(env) if m["topic"] == "Town hall"]
    assert sorted(r["email"] for r in m["registrants"]) == sorted(h["email"] for h in hires)
    whole = next(s for s in steps_of(env, run.id) if s.key == "add" and s.item == -1)
    assert whole.output["count"] == 5
    # A later step reads the loop's results by position.
    [mail] = smtp.inbox.wait_for("h0@acme.test")
    first = next(s for s in steps_of(env, run.id) if s.key == "add" and s.item == 0)
    assert first.output["join_url"].startswith(env.zoom)
    assert (
        mail.get_body(("plain",)).get_content().strip()
        == f"5 added; yours: {first.output['join_url']}"
    )


def _signed(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    stamp = str(ts if ts is not None else int(time.time()))
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Meetbridge-Timestamp": stamp, "X-Meetbridge-Signature": f"v1={mac}",
            "Content-Type": "application/json"}  # fmt: skip


def test_inbound_webhook_is_signed_and_taken_once(env: ZoomEnv) -> None:
    import httpx

    c = env.c
    definition = {
        "trigger": {"kind": "webhook"},
        "steps": [
            {"key": "tell", "action": "email.send",
             "inputs": {"to": "{{ body.employee.email }}", "subject": "Welcome",
                        "text": "Hello {{ body.employee.name }}"}},
        ],
    }  # fmt: skip
    wf = c.workflows.create(owner(env), "HR", definition, ORIGIN, enabled=True)
    secret = c.workflows.hook_secret(owner(env), wf.id)
    url = f"{env.product}/webhooks/workflows/{wf.id}"
    body = json.dumps({"employee": {"email": "hr.hire@acme.test", "name": "Hal"}}).encode()
    bad = httpx.post(url, content=body, headers=_signed("wrong", body))
    assert bad.status_code == 401 and "signature" in bad.text
    stale = httpx.post(url, content=body, headers=_signed(secret, body, int(time.time()) - 600))
    assert stale.status_code == 401 and "5 minutes" in stale.text
    headers = _signed(secret, body)
    ok = httpx.post(url, content=body, headers=headers)
    assert ok.status_code == 202, ok.text
    replay = httpx.post(url, content=body, headers=headers)
    assert replay.status_code == 409 and "replay" in replay.text
    run = wait_run(env, ok.json()["run_id"])
    assert run.status == RunStatus.SUCCEEDED
    assert len(runs_of(env, wf.id)) == 1


def test_a_schedule_fires_once_per_time(env: ZoomEnv) -> None:
    c = env.c
    definition = {
        "trigger": {"kind": "schedule", "cron": "0 9 * * 1"},
        "steps": [{"key": "w", "action": "wait.until", "inputs": {"minutes": 0}}],
    }
    wf = c.workflows.create(owner(env), "Mondays", definition, ORIGIN, enabled=True)
    assert wf.next_fire_at is not None and wf.next_fire_at > c.clock.now()
    with c.db.write() as s:
        row = s.get(Workflow, wf.id)
        assert row is not None
        row.next_fire_at = c.clock.now().replace(microsecond=0)
    assert c.workflows.fire_schedules() == 1
    assert c.workflows.fire_schedules() == 0
    [run] = runs_of(env, wf.id)
    assert run.data["schedule"]["local_time"] in {"09:00", run.data["schedule"]["local_time"]}
    assert wait_run(env, run.id).status == RunStatus.SUCCEEDED


def test_a_run_keeps_the_version_it_started_with(env: ZoomEnv) -> None:
    c = env.c
    definition = {
        "trigger": {"kind": "manual"},
        "steps": [{"key": "w", "action": "wait.until", "inputs": {"minutes": 60}}],
    }
    wf = c.workflows.create(owner(env), "Versions", definition, ORIGIN, enabled=True)
    run = c.workflows.run_now(owner(env), wf.id, {}, ORIGIN)
    wait_run(env, run.id, timeout=0.5)  # it waits an hour
    definition["steps"][0]["inputs"]["minutes"] = 0
    c.workflows.update(owner(env), wf.id, "Versions", definition, ORIGIN, enabled=True)
    got, _ = c.workflows.run(owner(env), run.id)
    assert got.version == 1 and got.status == RunStatus.PENDING
    assert [v.version for v in c.workflows.versions(owner(env), wf.id)] == [2, 1]


def test_other_organisations_and_members_see_nothing(env: ZoomEnv) -> None:
    c = env.c
    wf = c.workflows.create(owner(env), "Onboarding", onboarding(), ORIGIN)
    member = api(env, "ann@acme.test")
    assert member.get("/workflows").status_code == 403
    _org, other = c.orgs.create_organization(
        name="Globex", slug="globex", owner_email="o@globex.test", owner_name="O",
        owner_password="a-Long-enough-passw0rd!", origin=ORIGIN,
    )  # fmt: skip
    token = c.api_tokens.create_api_token(other, name="t", origin=ORIGIN).secret
    import httpx

    theirs = httpx.Client(base_url=f"{env.product}/api/v1",
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert theirs.get(f"/workflows/{wf.id}").status_code == 404
    assert theirs.get("/workflows").json() == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"steps": [{"key": "a", "action": "email.send",
                     "inputs": {"to": "x@y.test", "subject": "{{ member.nmae }}", "text": "t"}}]},
         "steps[0].inputs.subject", "unknown field member.nmae"),
        ({"steps": [{"key": "a", "action": "email.send",
                     "inputs": {"to": "x@y.test", "subject": "{{ steps.b.subject }}", "text": "t"}},
                    {"key": "b", "action": "email.send",
                     "inputs": {"to": "x@y.test", "subject": "s", "text": "t"}}]},
         "steps[0].inputs.subject", "cycle"),
        ({"steps": [{"key": "a", "action": "zoom.call_api",
                     "inputs": {"method": "GET", "path": "/v1/users"}}]},
         "steps[0].inputs.path", "/v2"),
        ({"steps": [{"key": "a", "action": "zoom.call_api",
                     "inputs": {"method": "GET", "path": "/v2/no/such/thing"}}]},
         "steps[0].inputs.path", "no path"),
        ({"trigger": {"kind": "schedule", "cron": "* * * * * *"}},
         "trigger.cron", "second"),
    ],
)  # fmt: skip
def test_bad_definitions_are_refused_at_save_with_the_reason(
    env: ZoomEnv, change: dict[str, Any], field: str, words: str
) -> None:
    definition = {**onboarding(), **change}
    r = api(env).post("/workflows", json={"name": "Bad", "definition": definition})
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["reason"] for e in r.json()["error"]["fields"]}
    assert field in errors and words in errors[field], errors
    assert api(env).get("/workflows").json() == []


def test_a_workflow_that_would_trigger_itself_is_refused(env: ZoomEnv) -> None:
    definition = {
        "trigger": {"kind": "meeting.scheduled"},
        "steps": [{"key": "again", "action": "zoom.create_meeting",
                   "inputs": {"topic": "Again", "start": "2030-01-07 15:00", "host": HOST}}],
    }  # fmt: skip
    r = api(env).post("/workflows", json={"name": "Loop", "definition": definition,
                                          "enabled": True})  # fmt: skip
    assert r.status_code == 422
    errors = {e["field"]: e["reason"] for e in r.json()["error"]["fields"]}
    assert "would start itself" in errors["trigger.kind"]


def test_a_zoom_event_starts_the_workflows_of_the_account(env: ZoomEnv, smtp: SmtpServer) -> None:
    c = env.c
    # The account's app sends its events to meetbridge (as a Zoom admin sets it up).
    env.control(
        "PATCH",
        f"/apps/{ACCOUNT[1]}",
        json={"webhook_url": f"{env.product}/webhooks/zoom", "events": ["meeting.ended"]},
    )
    ended = {
        "trigger": {"kind": "zoom:meeting.ended"},
        "steps": [
            {"key": "tell", "action": "email.send",
             "inputs": {"to": "owner@acme.test", "subject": "{{ meeting.topic }} has ended",
                        "text": "It ran from {{ meeting.start_time }} to {{ meeting.end_time }}."}},
        ],
    }  # fmt: skip
    wf = c.workflows.create(owner(env), "Ended", ended, ORIGIN, enabled=True)
    make = {
        "trigger": {"kind": "manual"},
        "steps": [{"key": "m", "action": "zoom.create_meeting",
                   "inputs": {"topic": "Quarterly review", "start": "2030-01-07 15:00",
                              "timezone": "UTC", "host": HOST}}],
    }  # fmt: skip
    maker = c.workflows.create(owner(env), "Make", make, ORIGIN, enabled=True)
    made = wait_run(env, c.workflows.run_now(owner(env), maker.id, {}, ORIGIN).id)
    zoom_id = steps_of(env, made.id)[0].output["zoom_id"]
    env.control("POST", f"/meetings/{zoom_id}/start", json={})
    env.control("POST", f"/meetings/{zoom_id}/end", json={})
    env.control("POST", "/webhooks/flush")
    [mail] = [
        m for m in smtp.inbox.wait_for("owner@acme.test", count=1, timeout=20)
        if "has ended" in str(m["Subject"])
    ]  # fmt: skip
    assert str(mail["Subject"]) == "Quarterly review has ended"
    [run] = runs_of(env, wf.id)
    assert (
        run.trigger == "zoom:meeting.ended" and run.data["meeting"]["topic"] == "Quarterly review"
    )


def test_over_admin_oauth_a_removed_app_fails_the_run_and_reconnecting_retries_it(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    import re

    from tests.integrations.zoom.test_admin_oauth import ADMIN_APP, admin_connect

    c = env.c
    browser = env.signed_in("owner@acme.test")
    admin_connect(env, browser, "dana@zoom-sandbox.test")  # replaces Server-to-Server
    wf = c.workflows.create(owner(env), "Onboarding", onboarding(), ORIGIN, enabled=True)
    ok = wait_run(
        env, c.workflows.run_now(owner(env), wf.id, member_data("a@acme.test"), ORIGIN).id
    )
    assert ok.status == RunStatus.SUCCEEDED, ok.last_error
    # Dana removes the app in Zoom: the next run fails on its first Zoom step.
    apps = browser.get(f"{env.zoom}/marketplace/user/installed")
    token = re.search(r"name='csrf' value='([^']+)'", apps.text)
    assert token
    browser.post(f"{env.zoom}/marketplace/user/installed",
                 data={"csrf": token.group(1), "client_id": ADMIN_APP})  # fmt: skip
    smtp.inbox.clear()
    run = wait_run(
        env, c.workflows.run_now(owner(env), wf.id, member_data("b@acme.test"), ORIGIN).id
    )
    assert run.status == RunStatus.FAILED and run.step == 0
    assert run.error_kind == "refresh", (run.error_kind, run.last_error)
    [mail] = smtp.inbox.wait_for("owner@acme.test")
    assert "Token refresh failure" in mail.get_body(("plain",)).get_content()
    # Connecting again retries the run from its failed step.
    admin_connect(env, browser, "dana@zoom-sandbox.test")
    run = wait_run(env, run.id)
    assert run.status == RunStatus.SUCCEEDED, run.last_error
    assert len(zoom_users(env, "b@acme.test")) == 1


def test_finished_runs_are_pruned_with_their_steps_and_waiting_runs_are_kept(env: ZoomEnv) -> None:
    c = env.c
    quick = {
        "trigger": {"kind": "manual"},
        "steps": [{"key": "w", "action": "wait.until", "inputs": {"minutes": 0}}],
    }
    slow = {
        "trigger": {"kind": "manual"},
        "steps": [{"key": "w", "action": "wait.until", "inputs": {"minutes": 60}}],
    }
    done = c.workflows.run_now(
        owner(env),
        c.workflows.create(owner(env), "Quick", quick, ORIGIN, enabled=True).id,
        {},
        ORIGIN,
    )
    waiting = c.workflows.run_now(
        owner(env),
        c.workflows.create(owner(env), "Slow", slow, ORIGIN, enabled=True).id,
        {},
        ORIGIN,
    )
    assert wait_run(env, done.id).status == RunStatus.SUCCEEDED
    assert wait_run(env, waiting.id, timeout=0.5).status == RunStatus.PENDING
    r = c.retention
    later = ManualClock(utcnow() + dt.timedelta(days=r.days + 1))
    assert Retention(c.db, later, r.days, r.rules).prune()["workflow_runs"] == 1
    assert steps_of(env, done.id) == [] and len(steps_of(env, waiting.id)) == 1
    assert c.workflows.run(owner(env), waiting.id)[0].status == RunStatus.PENDING


def test_the_workflows_list_shows_each_one_s_version_and_last_run_in_a_few_queries(
    env: ZoomEnv,
) -> None:
    c = env.c
    waits = {
        "trigger": {"kind": "manual"},
        "steps": [{"key": "w", "action": "wait.until", "inputs": {"minutes": 60}}],
    }

    def listed() -> tuple[list[Any], int]:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(c.db.engine, "before_cursor_execute", count)
        try:
            return c.workflows.all(owner(env)), len(seen)
        finally:
            event.remove(c.db.engine, "before_cursor_execute", count)

    first = c.workflows.create(owner(env), "A first", waits, ORIGIN, enabled=True)
    older = c.workflows.run_now(owner(env), first.id, {}, ORIGIN)
    newer = c.workflows.run_now(owner(env), first.id, {}, ORIGIN)
    waits["steps"][0]["inputs"]["minutes"] = 30
    c.workflows.update(owner(env), first.id, "A first", waits, ORIGIN, enabled=True)
    _, few = listed()
    for i in range(10):
        c.workflows.create(owner(env), f"B {i}", waits, ORIGIN)
    rows, many = listed()
    assert many == few  # not a query or two more per workflow
    top = rows[0]
    assert top.workflow.name == "A first" and top.runs == 2 and top.failed == 0
    assert top.definition["steps"][0]["inputs"]["minutes"] == 30  # its current version
    assert top.last_run is not None and top.last_run.id in (older.id, newer.id)
    assert top.last_run.created_at == max(older.created_at, newer.created_at)
    assert all(r.last_run is None and r.runs == 0 for r in rows[1:])
