"""Meetings clicked through in Chromium against the sandbox: schedule → the join link → edit →
cancel; and an edit made on the sandbox's Zoom pages shows up in meetbridge (jobs inline); and
the live page with a real worker: creating → scheduled, updating → scheduled, cancelling →
cancelled, each without a reload."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import SmtpServer
from tests.web.test_browser import _shot
from tests.web.test_zoom_browser import _sign_in
from tests.web.worker import Worker
from tests.zoom_env import ZoomEnv, zoom_env

pytestmark = pytest.mark.browser
DAY = (dt.date.today() + dt.timedelta(days=14)).isoformat()


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        e.connect(e.signed_in("ann@acme.test"), "sam@zoom-sandbox.test")
        yield e


def test_schedule_edit_cancel(
    browser: Browser, env: ZoomEnv, database_url: str, smtp: SmtpServer
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    _sign_in(page, env, "ann@acme.test")
    page.get_by_role("link", name="Meetings").first.click()
    page.get_by_role("link", name="Schedule Meeting").click()
    page.get_by_label("Title").fill("Quarterly review")
    page.get_by_label("Date").fill(DAY)
    page.get_by_label("Time", exact=True).fill("14:30")
    page.get_by_label("Duration (minutes)").fill("50")
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_label("Invite by e-mail").fill("client@example.test")
    _shot(page, "meeting-new", database_url)
    page.get_by_role("button", name="Schedule").click()

    expect(page.locator("#meeting-status")).to_contain_text("Scheduled in Zoom")
    zoom_id = page.locator(".zoom-id").inner_text()
    assert zoom_id.isdigit()
    join_url = page.locator("input.join-url").input_value()
    assert join_url.startswith(f"{env.zoom}/j/{zoom_id}?pwd=")
    expect(page.locator("#meeting-status")).to_contain_text("(UTC)")  # Ann's own time zone
    _shot(page, "meeting-detail", database_url)
    assert smtp.inbox.wait_for("client@example.test")

    page.get_by_label("Title").fill("Quarterly review (longer)")
    page.get_by_label("Duration (minutes)").fill("80")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#meeting-status")).to_contain_text("Scheduled in Zoom")
    expect(page.get_by_role("heading", name="Quarterly review (longer)")).to_be_visible()
    [zoom] = env.control("GET", "/meetings?host=sam@zoom-sandbox.test")
    assert zoom["topic"] == "Quarterly review (longer)" and zoom["duration"] == 80

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Cancel meeting").click()
    expect(page.locator("#meeting-status")).to_contain_text("Cancelled")
    assert env.control("GET", "/meetings?host=sam@zoom-sandbox.test") == []
    page.goto(f"{env.product}/meetings")  # a cancelled meeting is no longer upcoming
    expect(page.locator("table.meetings")).not_to_contain_text("Quarterly review")
    page.get_by_role("link", name="Cancelled").click()
    expect(page.locator("table.meetings")).to_contain_text("Quarterly review (longer)")
    expect(page.locator("table.meetings")).to_contain_text("cancelled")
    context.close()


def _schedule(page: Page, env: ZoomEnv, title: str, time: str) -> None:
    page.goto(f"{env.product}/meetings/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Date").fill(DAY)
    page.get_by_label("Time", exact=True).fill(time)
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_role("button", name="Schedule").click()


def test_an_edit_in_zoom_shows_up(browser: Browser, env: ZoomEnv) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, env, "ann@acme.test")
    _schedule(page, env, "Sync me", "10:00")
    expect(page.locator("#meeting-status")).to_contain_text("Scheduled in Zoom")
    detail = page.url

    zoom = context.new_page()  # the host edits the meeting on Zoom's own pages
    zoom.goto(f"{env.zoom}/meetings")
    zoom.get_by_label("Email").fill("sam@zoom-sandbox.test")
    zoom.get_by_label("Password").fill("sandbox-password")
    zoom.get_by_role("button", name="Sign In").click()
    zoom.get_by_label("Topic").fill("Renamed on Zoom")
    zoom.get_by_role("button", name="Save").click()
    expect(zoom.get_by_role("status")).to_contain_text("Meeting saved")
    env.control("POST", "/webhooks/flush")

    page.goto(detail)
    expect(page.get_by_role("heading", name="Renamed on Zoom")).to_be_visible(timeout=10_000)
    context.close()


@pytest.fixture
def queued_env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    """The product with a real queue: nothing runs until the test's worker takes it."""
    with zoom_env(tmp_path, database_url, smtp, immediate_jobs=False) as e:
        yield e


def test_the_page_follows_a_real_worker_without_reload(
    browser: Browser, queued_env: ZoomEnv, database_url: str
) -> None:
    env = queued_env
    with Worker(env.c.settings) as worker:
        worker.resume()
        env.connect(env.signed_in("ann@acme.test"), "sam@zoom-sandbox.test")
        worker.pause()
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        page = context.new_page()
        _sign_in(page, env, "ann@acme.test")
        _schedule(page, env, "Live review", "09:00")
        view = page.locator("#meeting-view")
        expect(view).to_contain_text("Creating in Zoom…")
        expect(page.get_by_role("button", name="Save")).to_have_count(0)
        expect(page.locator(".flash")).to_have_count(0)  # the status says it, and stays true
        loaded = page.evaluate("performance.timeOrigin")

        worker.resume()  # Zoom creates it; the page turns without a reload
        expect(view).to_contain_text("Scheduled in Zoom", timeout=10_000)
        for name in ("Save", "Send invitation", "Cancel meeting"):
            expect(page.get_by_role("button", name=name)).to_be_enabled()
        join = page.locator("input.join-url").input_value()
        assert join.startswith(f"{env.zoom}/j/")
        expect(view).not_to_have_attribute("hx-trigger", "every 1s")  # settled: no polling
        assert page.evaluate("performance.timeOrigin") == loaded  # turned without a reload

        worker.pause()
        page.get_by_label("Title").fill("Live review (moved)")
        page.get_by_role("button", name="Save").click()
        expect(view).to_contain_text("Saving the change in Zoom…")
        loaded = page.evaluate("performance.timeOrigin")  # the form's POST loaded a page
        expect(page.locator("input.join-url")).to_have_value(join)  # the last known link
        save = page.get_by_role("button", name="Saving…")
        expect(save).to_be_disabled()
        expect(save).to_have_attribute("aria-disabled", "true")
        assert save.evaluate("b => getComputedStyle(b).cursor") == "not-allowed"
        enabled_bg = "rgb(45, 108, 223)"  # --brand
        assert save.evaluate("b => getComputedStyle(b).backgroundColor") != enabled_bg
        _shot(page, "meeting-updating", database_url)
        worker.resume()
        expect(view).to_contain_text("Scheduled in Zoom", timeout=10_000)
        expect(page.get_by_role("heading", name="Live review (moved)")).to_be_visible()
        expect(page.get_by_role("button", name="Save")).to_be_enabled()
        assert page.evaluate("performance.timeOrigin") == loaded  # turned without a reload

        worker.pause()
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="Cancel meeting").click()
        expect(view).to_contain_text("Cancelling in Zoom…")
        expect(page.get_by_role("button", name="Save")).to_have_count(0)
        worker.resume()
        expect(view).to_contain_text("Cancelled", timeout=10_000)
        expect(page.locator("input.join-url")).to_have_count(0)
        expect(page.get_by_role("button", name="Cancel meeting")).to_have_count(0)
        # The cancel form is boosted: htmx posted it and swapped the page in, no reload since.
        assert page.evaluate("performance.timeOrigin") == loaded
        context.close()
