"""Workflows clicked through in Chromium against the Zoom sandbox: an admin builds a workflow
from the onboarding template, adds a step and moves it up, saves, tests it with sample data and
sees each step inline, opens the test run's page; runs it for real before the Zoom account is
connected and reads what to do (a link to Integrations), connects it and retries from the
failed step, the run page following the run until it has succeeded. The editor also works
without JavaScript, and Zoom → Directory lists the account's users and creates one. And issue
#19's "Done when" end to end with a real queue: admin OAuth, the onboarding workflow switched
on, a member added with a start date, the run followed step by step on its page, what it made
at Zoom and the new hire's e-mail; the app removed at Zoom, the next run's re-connect advice,
and re-connecting retrying it from its failed step. axe-core finds nothing serious on any page.
Screenshots: docs/screenshots/workflows-*.png."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from meetbridge.workflows.tables import RunStatus, WorkflowRun
from meetbridge_sandbox.config import DEMO_USER_PASSWORD
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.web.test_booking_public_browser import _axe, axe_source  # noqa: F401 (a fixture)
from tests.web.test_browser import SHOTS
from tests.web.test_zoom_browser import _sign_in
from tests.zoom_env import ZoomEnv, zoom_env

pytestmark = pytest.mark.browser
ACCOUNT = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")
HOST = "dana@zoom-sandbox.test"  # a licensed user of the sandbox's account
PHONE = 390


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    if not database_url.startswith("sqlite"):
        pytest.skip("the pages do not depend on the database; the HTTP tests run on both")
    with zoom_env(tmp_path, database_url, smtp) as e:
        yield e


def _shot(page: Page, name: str, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _legends(page: Page) -> list[str]:
    return [
        re.sub(r"\s+", " ", t).strip()
        for t in page.locator("fieldset.wf-step legend").all_inner_texts()
    ]


def test_build_from_the_template_test_run_and_retry(
    browser: Browser,
    env: ZoomEnv,
    smtp: SmtpServer,
    axe_source: str,  # noqa: F811
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.get_by_role("navigation").get_by_role("link", name="Workflows").click()
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()
    expect(page.locator("#not-connected")).to_contain_text("not connected")
    _axe(page, axe_source, "workflows (empty)")
    _shot(page, "workflows-empty")

    page.get_by_role("button", name="Use this template “Onboarding → Day-1 orientation”").click()
    expect(page.get_by_role("status")).to_contain_text("made from the template")
    assert _legends(page) == [
        "Step 1: Create user zoom_user",
        "Step 2: Create meeting orientation",
        "Step 3: Add meeting registrant register",
        "Step 4: Send an e-mail tell",
    ]
    # The orientation's host: a licensed user of the Zoom account.
    page.locator("#s1-in-host").fill(HOST)
    # A new step, an e-mail to the owner, moved up to just after the Zoom user is made (each
    # press re-renders the form from what was posted).
    page.get_by_label("Add a step").select_option(label="Send an e-mail")
    page.get_by_role("button", name="Add step").click()
    expect(page.get_by_role("status")).to_contain_text("Step 5 added (Send an e-mail)")
    page.locator("#s4-in-to").fill("{{ owner.email }}")
    page.locator("#s4-in-subject").fill("New hire: {{ member.name }}")
    page.locator("#s4-in-text").fill("Zoom user {{ steps.zoom_user.email }} is ready.")
    for position in (5, 4, 3):
        page.get_by_role("button", name=f"Move up step {position}").click()
        expect(page.get_by_role("status")).to_contain_text(f"moved to position {position - 1}")
    assert [x.split(" ")[-1] for x in _legends(page)] == [
        "zoom_user",
        "send",
        "orientation",
        "register",
        "tell",
    ]
    assert page.locator("#s1-in-subject").input_value() == "New hire: {{ member.name }}"
    assert page.locator("#s2-in-host").input_value() == HOST  # kept while not saved
    expect(page.locator("#missing-scopes")).to_contain_text("step 1 (Create user)")
    _shot(page, "workflows-editor")
    _axe(page, axe_source, "editor")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 2.")
    editor_url = page.url

    # A bad value: said at its field, nothing saved.
    page.locator("#s2-in-duration").fill("an hour")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#problems")).to_contain_text("nothing was saved")
    expect(page.locator("label[for=s2-in-duration] .field-error")).to_contain_text(
        "must be a whole number"
    )
    _shot(page, "workflows-editor-errors")
    _axe(page, axe_source, "editor with errors")
    page.goto(editor_url)

    # The test with sample data: every step inline, nothing done.
    sample = page.locator("#sample")
    sample.fill(sample.input_value().replace("Alex New", "Nia Newhire"))
    page.get_by_role("button", name="Test with sample data").click()
    expect(page.get_by_role("status")).to_contain_text("Tested with the sample data.")
    result = page.locator("#test-result")
    expect(result.locator("ol.wf-results > li")).to_have_count(5)
    expect(result).to_contain_text("Day 1 orientation for Nia Newhire")
    expect(result.locator(".badge", has_text="succeeded")).to_have_count(6)
    result.scroll_into_view_if_needed()
    _shot(page, "workflows-test")
    _axe(page, axe_source, "editor with a test run")
    assert env.control("GET", f"/meetings?host={HOST}") == []  # a test touches nothing

    page.get_by_role("link", name="This test run on its own page").click()
    expect(page.get_by_role("heading", name=re.compile("Run of Onboarding"))).to_be_visible()
    expect(page.locator("#run-steps ol > li")).to_have_count(5)
    _shot(page, "workflows-run-test")
    _axe(page, axe_source, "test run")

    # For real, before the Zoom account is connected: the run fails at step 1 and says why.
    page.goto(editor_url)
    page.get_by_role("button", name="Run now").click()
    advice = page.locator("#advice")
    expect(advice).to_contain_text("Authentication failure")
    expect(advice.get_by_role("link", name=re.compile("Integrations → Zoom"))).to_have_attribute(
        "href", "/integrations/zoom#account-zoom"
    )
    _shot(page, "workflows-run-failed")
    _axe(page, axe_source, "failed run")
    run_url = page.url

    # Connected, the run goes on from its failed step (connecting retries it; so does Retry).
    env.c.connections.save_account(env.user("owner@acme.test"), *ACCOUNT, ORIGIN)
    page.goto(run_url)
    retry = page.get_by_role("button", name="Retry from step 1")
    if retry.count():
        retry.click()
    run_id = run_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while (
        status := (page.locator("#run-status").text_content() or "").strip()
    ) != "succeeded":  # it refreshes
        assert status == "pending" and time.monotonic() < deadline, page.locator(
            "main"
        ).inner_text()
        env.c.workflows.engine.reconcile()  # this test's worker: due runs go on
        time.sleep(0.5)
    run, _steps = env.c.workflows.run(env.user("owner@acme.test"), run_id)
    assert run.status == RunStatus.SUCCEEDED
    [meeting] = env.control("GET", f"/meetings?host={HOST}")
    assert meeting["topic"] == "Day 1 orientation for Alex New"
    expect(page.locator("#run-view")).not_to_have_attribute("hx-trigger", "every 2s")
    expect(page.locator("#run-step-0")).to_contain_text("Zoom request ID")
    mail = [m for m in smtp.inbox.to("owner@acme.test") if "New hire" in str(m["Subject"])]
    assert [str(m["Subject"]) for m in mail] == ["New hire: Alex New"]
    _shot(page, "workflows-run")
    _axe(page, axe_source, "succeeded run")

    page.get_by_role("link", name="All runs").click()
    expect(page.locator("table.runs tbody tr")).to_have_count(2)  # the test and the run
    _shot(page, "workflows-runs")
    _axe(page, axe_source, "runs")
    context.close()


def test_the_editor_without_javascript_and_at_phone_width(
    browser: Browser,
    env: ZoomEnv,
    axe_source: str,  # noqa: F811
) -> None:
    context = browser.new_context(
        viewport={"width": 1000, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.goto(f"{env.product}/workflows/new")
    page.get_by_label("Name", exact=True).fill("Monday digest")
    page.get_by_label("What starts it").select_option("schedule")
    page.get_by_role("button", name="Apply", exact=True).click()  # pressed by hand without JS
    page.get_by_label(re.compile("^Cron")).fill("0 9 * * 1")
    page.get_by_label("Add a step").select_option(label="Send an e-mail")
    page.get_by_role("button", name="Add step").click()
    expect(page.locator("#wf-name")).to_have_value("Monday digest")  # kept, not saved
    page.locator("#s0-in-to").fill("{{ owner.email }}")
    page.locator("#s0-in-subject").fill("The week ahead")
    page.locator("#s0-in-text").fill("Good morning, it is {{ schedule.local_date }}.")
    page.locator("#s0-in-subject").press("Enter")  # Enter in a field saves (not "Move up")
    expect(page.get_by_role("status")).to_contain_text("Saved as version 1.")
    expect(page.locator("#trigger-cron-words")).to_contain_text("every Monday at 09:00")
    page.get_by_role("button", name="Save and switch on").click()
    expect(page.get_by_role("status")).to_contain_text("switched on")
    expect(page.locator("#wf-status")).to_contain_text("next run")
    editor = page.url
    context.close()

    context = browser.new_context(viewport={"width": PHONE, "height": 844})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.goto(editor)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    _shot(page, f"workflows-editor-{PHONE}")
    _axe(page, axe_source, "editor (phone)")
    page.goto(f"{env.product}/workflows")
    expect(page.locator("table.workflows tbody tr")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    _shot(page, f"workflows-{PHONE}")
    _axe(page, axe_source, "workflows (phone)")
    context.close()


def test_the_directory_lists_and_creates_zoom_users(
    browser: Browser,
    env: ZoomEnv,
    axe_source: str,  # noqa: F811
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.goto(f"{env.product}/zoom/directory")
    expect(page.locator("#not-connected")).to_contain_text("Integrations → Zoom")
    _axe(page, axe_source, "directory (not connected)")
    env.c.connections.save_account(env.user("owner@acme.test"), *ACCOUNT, ORIGIN)
    page.goto(f"{env.product}/integrations/zoom")
    page.get_by_role("link", name="The account's users (Zoom directory)").click()
    expect(page.locator("table.directory")).to_contain_text(HOST)
    page.locator("#zu-email").fill("not-an-address")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("label[for=zu-email] .field-error")).to_contain_text("not an e-mail")
    page.locator("#zu-email").fill("nia.newhire@zoom-sandbox.test")
    page.locator("#zu-first_name").fill("Nia")
    page.locator("#zu-last_name").fill("Newhire")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_contain_text("nia.newhire@zoom-sandbox.test is added")
    expect(page.locator("table.directory")).to_contain_text("nia.newhire@zoom-sandbox.test")
    _shot(page, "workflows-directory")
    _axe(page, axe_source, "directory")
    context.close()


@pytest.fixture
def queued(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    """The product with a real queue: nothing runs in the background until the test's worker
    (`_work`) takes the jobs, so a run's page is seen between its steps."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the pages do not depend on the database; the HTTP tests run on both")
    with zoom_env(tmp_path, database_url, smtp, immediate_jobs=False) as e:
        yield e


def _work(env: ZoomEnv, done: Callable[[], bool], timeout: float = 30) -> None:
    """The worker, in this thread: takes the queue's jobs one at a time (and those scheduled
    for later once due), as `meetbridge worker` does, until `done()`."""
    huey = env.c.jobs.huey
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the work did not get there"
        for task in huey.read_schedule():
            huey.enqueue(task)
        job = huey.dequeue()  # waits a moment for one
        if job is not None:
            huey.execute(job)


def _run_for(env: ZoomEnv, workflow_id: str, email: str) -> WorkflowRun | None:
    runs = env.c.workflows.runs(env.user("owner@acme.test"), workflow_id)
    return next((r for r in runs if r.data["member"]["email"] == email), None)


def _step_statuses(env: ZoomEnv, run_id: str) -> list[str]:
    _run, steps = env.c.workflows.run(env.user("owner@acme.test"), run_id)
    return [str(st.status) for st in steps if st.item == -1]


def _add_member(page: Page, name: str, email: str, start: str) -> None:
    """Team → Add member, with a start date (which onboards them)."""
    page.get_by_role("navigation").get_by_role("link", name="Team").click()
    page.get_by_role("link", name="Add member").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Start date (optional)").fill(start)
    page.get_by_label("First password (at least 10 characters)").fill("a-Long-enough-passw0rd!")
    page.get_by_role("button", name="Create login").click()
    expect(page.get_by_role("status")).to_contain_text(f"{name} can now sign in as {email}")
    expect(page.locator(".member", has_text=name)).to_contain_text(f"Starts {start}")


def _open_last_run(page: Page) -> None:
    """Workflows → the onboarding workflow's last run."""
    page.get_by_role("navigation").get_by_role("link", name="Workflows").click()
    row = page.locator("table.workflows tbody tr", has_text="Onboarding")
    row.locator("td.when a").click()
    expect(page.get_by_role("heading", name=re.compile("Run of Onboarding"))).to_be_visible()


def _connect_admin_oauth(page: Page) -> None:
    """Integrations → Zoom → Connect with Zoom (admin OAuth), then Allow at Zoom (signing in to
    Zoom as its owner first if need be)."""
    page.get_by_role("navigation").locator("summary", has_text="Settings").click()
    page.get_by_role("link", name="Integrations → Zoom").click()
    page.get_by_role("button", name="Connect with Zoom (admin OAuth)").click()
    if page.get_by_role("button", name="Sign In").count():
        page.get_by_label("Email").fill(HOST)
        page.get_by_label("Password").fill(DEMO_USER_PASSWORD)
        page.get_by_role("button", name="Sign In").click()
    expect(page.locator("ul.scopes")).to_contain_text("user:write:user:admin")
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"The Zoom account {ACCOUNT[0]} is connected through admin OAuth, authorized by {HOST}."
    )


def test_done_onboarding_over_admin_oauth_step_by_step_and_retried_after_reconnecting(
    browser: Browser,
    queued: ZoomEnv,
    smtp: SmtpServer,
    axe_source: str,  # noqa: F811
) -> None:
    """Issue #19's "Done when" for Workflows, clicked through: admin OAuth; the onboarding
    workflow made from its template and switched on; a member added with a start date runs it,
    its page following it step by step; the user, the meeting and the registrant at Zoom and
    the new hire's e-mail. Then the app removed at Zoom: the next run says to re-connect, and
    re-connecting goes on from its failed step."""
    env = queued
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    _connect_admin_oauth(page)
    expect(page.locator("#account-zoom-facts")).to_contain_text("Admin OAuth")

    page.get_by_role("navigation").get_by_role("link", name="Workflows").click()
    expect(page.locator("#not-connected")).to_have_count(0)
    page.get_by_role("button", name="Use this template “Onboarding → Day-1 orientation”").click()
    expect(page.get_by_role("status")).to_contain_text("made from the template")
    assert [x.split(" ")[-1] for x in _legends(page)] == [
        "zoom_user",
        "orientation",
        "register",
        "tell",
    ]
    page.locator("#s1-in-host").fill(HOST)  # the orientations' host, a licensed Zoom user
    page.get_by_role("button", name="Save and switch on").click()
    expect(page.get_by_role("status")).to_contain_text("switched on")
    expect(page.locator("#missing-scopes")).to_have_count(0)  # admin OAuth grants them all
    workflow_id = page.url.rsplit("/", 1)[1]

    # A new hire: the event starts a run; the worker does its first step and asks Zoom for the
    # meeting, which the run then waits for.
    _add_member(page, "Nia Newhire", "nia@acme.test", start)
    first: list[WorkflowRun] = []

    def waits_for_the_meeting() -> bool:
        run = _run_for(env, workflow_id, "nia@acme.test")
        first[:] = [run] if run else []
        return run is not None and _step_statuses(env, run.id) == ["succeeded", "waiting"]

    _work(env, waits_for_the_meeting)
    _open_last_run(page)
    expect(page.locator("#run-status")).to_have_text("pending")
    expect(page.locator("#run-facts").get_by_role("status")).to_contain_text(
        "at step 2 of 4: Zoom is making the meeting — this page follows it"
    )
    expect(page.locator("#run-step-0 .badge")).to_have_text("succeeded")
    expect(page.locator("#run-step-1 .badge")).to_have_text("waiting")
    expect(page.locator("#run-step-1")).to_contain_text("Zoom is making the meeting")
    for i in (2, 3):
        expect(page.locator(f"#run-step-{i} .badge")).to_have_text("to come")
    _shot(page, "workflows-done-live")
    _axe(page, axe_source, "run at work")

    # The rest of the run, seen on the same page (it refreshes itself while the run is at work).
    _work(env, lambda: _step_statuses(env, first[0].id) == ["succeeded"] * 4)
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=10_000)
    for i, (key, shown) in enumerate(
        [
            ("zoom_user", '"email": "nia@acme.test"'),
            ("orientation", '"topic": "Day 1 orientation for Nia Newhire"'),
            ("register", '"join_url": '),
            ("tell", '"subject": "Your Day 1 orientation on Zoom"'),
        ]
    ):
        step = page.locator(f"#run-step-{i}")
        expect(step.locator("code").first).to_have_text(key)
        expect(step.locator(".badge")).to_have_text("succeeded")
        expect(step.locator(".wf-io > div").nth(1)).to_contain_text(shown)
    for i in (0, 2):  # the steps that called Zoom themselves
        expect(page.locator(f"#run-step-{i}")).to_contain_text("Zoom request ID")
    expect(page.locator("#run-view")).not_to_have_attribute("hx-trigger", "every 2s")  # done
    _shot(page, "workflows-done-run")
    _axe(page, axe_source, "onboarding run")

    # At Zoom: the user, the meeting on its host with the new hire registered; and the e-mail.
    def zoom_users(email: str) -> list[dict[str, Any]]:
        return [u for u in env.control("GET", "")["users"] if u["email"] == email]

    def orientations() -> list[dict[str, Any]]:
        meetings = env.control("GET", f"/meetings?host={HOST}")
        return [m for m in meetings if m["topic"].startswith("Day 1 orientation")]

    [zoom_user] = zoom_users("nia@acme.test")
    assert (zoom_user["first_name"], zoom_user["last_name"]) == ("Nia", "Newhire")
    [meeting] = orientations()
    assert meeting["topic"] == "Day 1 orientation for Nia Newhire"
    assert meeting["start_time"] == f"{start}T09:00:00Z"  # the member's zone: the org's, UTC
    assert [r["email"] for r in meeting["registrants"]] == ["nia@acme.test"]

    def told(email: str) -> list[Any]:
        return [m for m in smtp.inbox.to(email) if "orientation" in str(m["Subject"])]

    _work(env, lambda: bool(told("nia@acme.test")))
    [mail] = told("nia@acme.test")
    assert meeting["registrants"][0]["join_url"] in mail.get_body(("plain",)).get_content()

    # Broken: the Zoom account's owner removes meetbridge's admin app in Zoom.
    page.goto(f"{env.zoom}/marketplace/user/installed")
    page.locator("tr", has_text="meetbridge").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("The app was removed")
    page.goto(f"{env.product}/team")
    _add_member(page, "Omar Second", "omar@acme.test", start)

    def failed() -> bool:
        run = _run_for(env, workflow_id, "omar@acme.test")
        return run is not None and run.status == RunStatus.FAILED

    _work(env, failed)
    _open_last_run(page)
    expect(page.locator("#run-status")).to_have_text("failed")
    advice = page.locator("#advice")
    expect(advice.get_by_role("heading")).to_contain_text("Token refresh failure")
    expect(advice).to_contain_text(
        "Re-authenticate: connect Zoom again in Settings → Integrations → Zoom. meetbridge "
        "retries this run from the failed step when you do."
    )
    expect(advice.get_by_role("button", name="Retry from step 1")).to_be_visible()
    expect(page.locator("#run-step-0 .badge")).to_have_text("failed")
    for i in (1, 2, 3):
        expect(page.locator(f"#run-step-{i} .badge")).to_have_text("not reached")
    _shot(page, "workflows-done-broken")
    _axe(page, axe_source, "run broken by the removed app")
    run_url = page.url

    # Re-connected through Integrations (still signed in to Zoom: Allow is enough); the run
    # goes on from its failed step.
    advice.get_by_role("link", name="Open Settings → Integrations → Zoom").click()
    expect(page.locator("#account-zoom")).to_contain_text("Needs reconnecting")
    _connect_admin_oauth(page)
    page.goto(run_url)
    expect(page.locator("#run-status")).to_have_text("pending")
    expect(page.locator("#advice")).to_have_count(0)
    again = _run_for(env, workflow_id, "omar@acme.test")
    assert again is not None
    _work(env, lambda: _step_statuses(env, again.id) == ["succeeded"] * 4)
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=10_000)
    for i in range(4):
        expect(page.locator(f"#run-step-{i} .badge")).to_have_text("succeeded")
    # Done again from step 1 (its failed attempt and this one), each step once.
    expect(page.locator("#run-step-0")).to_contain_text("2 attempts")
    for i in (2, 3):
        expect(page.locator(f"#run-step-{i}")).to_contain_text("1 attempt ·")
    _shot(page, "workflows-done-retried")
    _axe(page, axe_source, "retried run")
    assert len(zoom_users("omar@acme.test")) == 1
    assert [m["topic"] for m in orientations()] == [
        "Day 1 orientation for Nia Newhire",
        "Day 1 orientation for Omar Second",
    ]
    _work(env, lambda: bool(told("omar@acme.test")))
    context.close()
