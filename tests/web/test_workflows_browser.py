"""Workflows clicked through in Chromium against the Zoom sandbox: an admin builds a workflow
from the onboarding template, adds a step and moves it up, saves, tests it with sample data and
sees each step inline, opens the test run's page; runs it for real before the Zoom account is
connected and reads what to do (a link to Integrations), connects it and retries from the
failed step, the run page following the run until it has succeeded. The editor also works
without JavaScript, and Zoom → Directory lists the account's users and creates one. axe-core
finds nothing serious on any page. Screenshots: docs/screenshots/workflows-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from meetbridge.workflows.tables import RunStatus
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
    # A new step, the wait, moved up to before the e-mail (each press re-renders the form).
    page.get_by_label("Add a step").select_option(label="Wait until")
    page.get_by_role("button", name="Add step").click()
    expect(page.get_by_role("status")).to_contain_text("Step 5 added (Wait until): not saved yet")
    page.locator("#s4-in-minutes").fill("1")
    page.get_by_role("button", name="Move up step 5").click()
    expect(page.get_by_role("status")).to_contain_text("moved to position 4")
    assert [x.split(" ")[-1] for x in _legends(page)] == [
        "zoom_user",
        "orientation",
        "register",
        "until",
        "tell",
    ]
    assert page.locator("#s1-in-host").input_value() == HOST  # kept while not saved
    expect(page.locator("#missing-scopes")).to_contain_text("step 1 (Create user)")
    _shot(page, "workflows-editor")
    _axe(page, axe_source, "editor")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 2.")
    editor_url = page.url

    # A bad value: said at its field, nothing saved.
    page.locator("#s1-in-duration").fill("an hour")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#problems")).to_contain_text("nothing was saved")
    expect(page.locator("label[for=s1-in-duration] .field-error")).to_contain_text(
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

    # Connected, the run goes on from its failed step (the reconnect retries it; Retry too).
    env.c.connections.save_account(env.user("owner@acme.test"), *ACCOUNT, ORIGIN)
    page.goto(run_url)
    if page.get_by_role("button", name="Retry from step 1").count():
        page.get_by_role("button", name="Retry from step 1").click()
    run_id = run_url.rsplit("/", 1)[1]
    expect(page.locator("#run-status")).to_have_text(re.compile("pending|succeeded"))
    if page.locator("#run-status").inner_text() == "pending":
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
        _shot(page, "workflows-run-pending")
    # The wait step holds it for a minute: the page refreshes itself until the end.
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=120_000)
    run, _steps = env.c.workflows.run(env.user("owner@acme.test"), run_id)
    assert run.status == RunStatus.SUCCEEDED
    [meeting] = env.control("GET", f"/meetings?host={HOST}")
    assert meeting["topic"] == "Day 1 orientation for Alex New"
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    _shot(page, "workflows-run")
    _axe(page, axe_source, "succeeded run")

    page.get_by_role("link", name="All runs").click()
    expect(page.locator("table.runs tbody tr")).to_have_count(3)
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
    page.goto(f"{env.product}/workflows")
    page.get_by_role("link", name="Zoom directory").click()
    expect(page.locator("table.directory")).to_contain_text(HOST)
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("label[for=zu-email] .field-error")).to_contain_text("not an e-mail")
    page.get_by_label("E-mail").fill("nia.newhire@zoom-sandbox.test")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Newhire")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_contain_text("nia.newhire@zoom-sandbox.test is added")
    expect(page.locator("table.directory")).to_contain_text("nia.newhire@zoom-sandbox.test")
    _shot(page, "workflows-directory")
    _axe(page, axe_source, "directory")
    context.close()
