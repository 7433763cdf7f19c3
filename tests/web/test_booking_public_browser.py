"""The public booking page in Chromium against the Zoom sandbox: a client books through the page
embedded on another origin (the frame grows to its page, the host page hears
`meetbridge:booking_successful`), the member's meeting is at Zoom and both inboxes hold the
invite with the join link, the client moves and cancels it from the e-mail's link, a browser
without JavaScript books too, and axe-core finds nothing serious on any of the pages.

axe-core comes from the npm registry: installed once into ~/.cache/meetbridge-tests (or
$XDG_CACHE_HOME) with `npm install`, pinned below, and read from there on later runs (offline
after the first). SQLite only: what is tested here is the pages; the HTTP tests run on both."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
import zoneinfo
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
import vobject
from playwright.sync_api import Browser, Frame, Page, expect

from meetbridge.booking.inputs import MeetingTypeInput, TypeMember
from tests.conftest import ORIGIN
from tests.support import LiveServer, SmtpServer
from tests.web.test_booking_public_pages import MONDAY
from tests.web.test_browser import _shot
from tests.zoom_env import ZoomEnv, zoom_env

pytestmark = pytest.mark.browser
AXE_VERSION = "4.14.1"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
ZOOM_USER = "sam@zoom-sandbox.test"
CLIENT = "cleo@example.test"


@pytest.fixture(scope="session")
def axe_source() -> str:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    where = cache / "meetbridge-tests" / f"axe-core-{AXE_VERSION}"
    script = where / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                *("npm", "install", "--prefix", str(where), "--no-audit", "--no-fund"),
                *("--silent", f"axe-core@{AXE_VERSION}"),
            ],
            check=True,
            timeout=300,
        )
    return script.read_text()


def _axe(target: Page | Frame, source: str, what: str) -> None:
    """No serious or critical violation on the page (or frame) as it is now."""
    if not target.evaluate("typeof window.axe === 'object'"):
        target.evaluate(source)  # a script run by the driver, not one the page's CSP governs
    found = target.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html)}))"""
    )
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{what}: {bad}"


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    if not database_url.startswith("sqlite"):
        pytest.skip("the pages do not depend on the database; the HTTP tests run on both")
    with zoom_env(tmp_path, database_url, smtp, booking_link_wait_seconds=2.0) as e:
        e.connect(e.signed_in("ann@acme.test"), ZOOM_USER)
        owner = e.c.orgs.first_owner("acme")
        assert owner is not None
        data = MeetingTypeInput(
            name="Intro call",
            slug="intro",
            duration=30,
            members=[TypeMember(e.user("ann@acme.test").id)],
            description="A first talk about your project.",
            show_members=True,
        )
        view = e.c.meeting_types.create(owner, data, ORIGIN)
        e.c.meeting_types.publish(owner, view.type.id, True, ORIGIN)
        yield e


def _host_site(page_url: str, mode: str) -> Any:
    """A customer's page on another origin (another loopback port), with the snippet."""
    product = page_url.split("/book/")[0]
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>A customer's site</title></head><body><main><h1>Talk to us</h1>
<script>window.booked = [];
document.addEventListener("meetbridge:booking_successful", (e) => window.booked.push(e.detail));
</script>
<script src="{product}/static/embed.js" data-meetbridge-book="{page_url}"
        data-mode="{mode}"></script>
</main></body></html>""".encode()

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Any) -> None:
        assert scope["type"] == "http"
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _until(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _ics(mail: EmailMessage) -> str | None:
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            return str(part.get_content())
    return None


def _mail(smtp: SmtpServer, to: str, subject: str) -> EmailMessage:
    def found() -> EmailMessage | None:
        return next(
            (m for m in smtp.inbox.to(to) if str(m["Subject"]).strip().startswith(subject)), None
        )

    mail: EmailMessage = _until(
        found, f"no {subject!r} e-mail to {to}: {[m['Subject'] for m in smtp.inbox.messages]}"
    )
    return mail


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def _zoom(env: ZoomEnv) -> list[dict[str, Any]]:
    return list(env.control("GET", f"/meetings?host={ZOOM_USER}"))


def _slot(where: Any, at: dt.datetime) -> Any:
    local = at.astimezone(PARIS)
    return where.get_by_role("link", name=f"{local:%H:%M} on {local:%A %d %B}, Europe/Paris time")


def test_book_in_a_frame_on_another_site_then_move_and_cancel_from_the_e_mail(
    browser: Browser, env: ZoomEnv, smtp: SmtpServer, database_url: str, axe_source: str
) -> None:
    start = dt.datetime.combine(MONDAY, dt.time(9), dt.UTC)  # 10:00 in Paris
    page_url = f"{env.product}/book/acme/intro?timezone=Europe/Paris&date={MONDAY}"
    violations: list[str] = []
    with LiveServer(_host_site(page_url, "inline")) as site:
        assert site.url != env.product  # another port: another origin
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: violations.append(m.text) if "Refused" in m.text else None)
        page.goto(site.url)
        iframe = page.locator("iframe.meetbridge-frame")
        frame = page.frame_locator("iframe.meetbridge-frame")
        expect(frame.get_by_role("heading", name="Intro call")).to_be_visible()
        expect(frame.get_by_text("with Ann")).to_be_visible()
        grown = _until(
            lambda: (h := iframe.evaluate("f => f.getBoundingClientRect().height")) != 640 and h,
            "the frame never took its page's height",
        )
        inner = page.frames[1]
        _axe(inner, axe_source, "booking page (framed)")

        _slot(frame, start).click()
        expect(frame.get_by_role("heading", name="Your details")).to_be_visible()
        frame.get_by_label("Your name").fill("Cleo Client")
        frame.get_by_label("E-mail").fill(CLIENT)
        frame.get_by_label("Notes").fill("About the new site")
        _shot(page, "booking-embedded-form", database_url)
        frame.get_by_role("button", name="Book 10:00").click()
        expect(frame.get_by_role("heading", name="You are booked")).to_be_visible()
        booked = _until(lambda: page.evaluate("window.booked"), "no booking_successful event")
        assert booked == [{"start": start.isoformat(), "type": "intro"}]
        inner = page.frames[1]
        body = inner.evaluate("() => Math.ceil(document.body.getBoundingClientRect().height)")
        _until(
            lambda: abs(iframe.evaluate("f => f.getBoundingClientRect().height") - body) <= 1,
            "the frame did not follow its page's height",
        )
        assert body != grown  # the confirmation is shorter than the week of times
        where = frame.locator("dd.where")
        expect(where).to_contain_text("Zoom")
        _axe(page.frames[1], axe_source, "confirmation (framed)")
        _shot(page, "booking-embedded-confirmed", database_url)
        context.close()

    # (b) The meeting is on the member's Zoom; both inboxes hold the invite with its link.
    [zoom] = _until(lambda: _zoom(env), "no meeting at the sandbox")
    assert zoom["topic"] == "Intro call with Cleo Client"
    assert zoom["start_time"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    join = zoom["join_url"]
    for to in (CLIENT, "ann@acme.test"):
        mail = _mail(smtp, to, "Confirmed: Intro call")
        assert join in _text(mail)
        ics = _ics(mail)
        assert ics, to
        [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
        assert str(event["LOCATION"]) == join and str(event["URL"]) == join
        assert join in str(event["DESCRIPTION"])
        assert event.decoded("DTSTART").astimezone(dt.UTC) == start
        other = vobject.readOne(ics).vevent  # an independent parser agrees
        assert other.location.value == join and other.url.value == join
        assert join in other.description.value
    manage = re.search(r"Reschedule or cancel: (\S+)", _text(_mail(smtp, CLIENT, "Confirmed")))
    assert manage and manage.group(1).startswith(f"{env.product}/book/manage/")
    assert "Reschedule or cancel" not in _text(_mail(smtp, "ann@acme.test", "Confirmed"))

    # (c) The client moves it, then cancels it, from the e-mail's link.
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: violations.append(m.text) if "Refused" in m.text else None)
    page.goto(manage.group(1))
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(page.locator("dd.where")).to_contain_text(join)
    later = start + dt.timedelta(days=1, hours=5)  # Tuesday 15:00 in Paris
    page.get_by_role("link", name=re.compile(r"^Tue ")).click()
    _slot(page, later).click()
    _axe(page, axe_source, "manage page")
    _shot(page, "booking-manage", database_url)
    page.get_by_role("button", name=re.compile(r"^Move to ")).click()
    expect(page.get_by_role("status")).to_contain_text("Your booking is moved to")
    expect(page.locator("dl.facts")).to_contain_text("Tuesday")
    want = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    _until(lambda: [z["start_time"] for z in _zoom(env)] == [want], "not moved at Zoom")
    moved = _mail(smtp, CLIENT, "Updated: Intro call")
    assert int(icalendar.Calendar.from_ical(_ics(moved)).walk("VEVENT")[0]["SEQUENCE"]) == 1

    page.get_by_role("link", name="Cancel this booking…").click()
    expect(page.get_by_role("heading", name="Cancel this booking?")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.get_by_role("heading", name="This booking is cancelled")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Move to"))).to_have_count(0)
    _axe(page, axe_source, "cancelled booking")
    _until(lambda: _zoom(env) == [], "still at Zoom after the cancel")
    cancelled = _mail(smtp, CLIENT, "Cancelled: Intro call")
    assert icalendar.Calendar.from_ical(_ics(cancelled))["METHOD"] == "CANCEL"
    # An old link leads to the booking as it is now.
    page.goto(manage.group(1))
    expect(page.get_by_role("heading", name="This booking is cancelled")).to_be_visible()
    context.close()
    assert violations == []


def test_popup_mode_opens_a_dialog_that_escape_closes(browser: Browser, env: ZoomEnv) -> None:
    page_url = f"{env.product}/book/acme/intro?timezone=UTC&date={MONDAY}"
    with LiveServer(_host_site(page_url, "popup")) as site:
        context = browser.new_context()
        page = context.new_page()
        page.goto(site.url)
        open_button = page.get_by_role("button", name="Book a time")
        expect(page.get_by_role("dialog")).to_have_count(0)
        open_button.click()
        dialog = page.get_by_role("dialog", name="Book a time")
        expect(dialog).to_be_visible()
        expect(page.get_by_role("button", name="Close")).to_be_focused()
        frame = page.frame_locator("iframe.meetbridge-frame")
        expect(frame.get_by_role("heading", name="Intro call")).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(open_button).to_be_focused()
        # The host page's own messages (another origin, not the frame) are not heard.
        iframe = page.locator("iframe.meetbridge-frame")
        before = iframe.evaluate("f => f.style.height")
        page.evaluate(
            """() => {
                 window.postMessage({type: "meetbridge:height", height: 5}, "*");
                 window.postMessage({type: "meetbridge:booking_successful",
                                     booking: {start: "x", type: "y"}}, "*");
               }"""
        )
        page.wait_for_timeout(300)
        assert page.evaluate("window.booked") == []
        assert iframe.evaluate("f => f.style.height") == before
        context.close()


def test_while_zoom_is_not_answering_the_page_says_the_link_follows(env: ZoomEnv) -> None:
    env.control(
        "POST", "/faults", json={"path": "/v2/users/*/meetings", "method": "POST", "error_rate": 1}
    )
    start = dt.datetime.combine(MONDAY, dt.time(15), dt.UTC)
    with httpx.Client(base_url=env.product, timeout=30) as http:
        form = http.get("/book/acme/intro", params={"start": start.isoformat()}).text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
        assert token
        r = http.post(
            "/book/acme/intro",
            data={
                "csrf_token": token.group(1),
                "start": start.isoformat(),
                "timezone": "UTC",
                "name": "Cleo Client",
                "email": CLIENT,
            },
            follow_redirects=True,
        )
    assert r.status_code == 200 and "You are booked" in r.text
    assert "Zoom: your Zoom link follows by e-mail" in r.text
    assert "/j/" not in r.text
    env.control("DELETE", "/faults")


def test_without_javascript_and_at_phone_width(
    browser: Browser, env: ZoomEnv, database_url: str, axe_source: str
) -> None:
    url = f"{env.product}/book/acme/intro?timezone=UTC&date={MONDAY}"
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1000, "height": 900}
    )
    page = context.new_page()
    page.goto(url)
    page.get_by_role("link", name=f"13:00 on {MONDAY:%A %d %B}, UTC time").click()
    page.get_by_label("Your name").fill("Nora No-Script")
    page.get_by_label("E-mail").fill("nora@example.test")
    page.get_by_role("button", name="Book 13:00").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("13:00")
    context.close()

    # With JavaScript at 390 px: the zone comes from the browser; errors are linked to fields.
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, timezone_id="America/New_York"
    )
    page = context.new_page()
    page.goto(f"{env.product}/book/acme/intro?date={MONDAY}")
    expect(page).to_have_url(re.compile(r"timezone=America%2FNew_York"))
    expect(page.get_by_label("Your time zone")).to_have_value("America/New_York")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _axe(page, axe_source, "booking page (phone)")
    _shot(page, "booking-page-phone", database_url)
    page.get_by_role("link", name=re.compile(r"^09:00 on ")).click()
    page.get_by_label("E-mail").fill("not an address")
    page.get_by_role("button", name=re.compile("^Book ")).click()
    email = page.get_by_label("E-mail")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile(r"."))
    expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _axe(page, axe_source, "form with errors")
    trap = page.get_by_label("Leave empty")  # the honeypot: there, but out of sight and reach
    expect(trap).to_have_attribute("tabindex", "-1")
    assert trap.evaluate("e => e.getBoundingClientRect().right") < 0
    _shot(page, "booking-form-errors", database_url)
    context.close()
