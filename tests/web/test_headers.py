"""Security headers on real HTTP responses (uvicorn, not the test transport): CSP with
frame-ancestors 'none', nosniff, Referrer-Policy, HSTS only for an https BASE_URL, no-store where
a secret is shown; and the pages run under that CSP in Chromium without a violation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage

from meetbridge.accounts.demo import DEMO_SLUG, ensure_demo
from meetbridge.app import create_app
from meetbridge.container import Container, build_container
from meetbridge.web import headers
from tests.conftest import ORIGIN, PASSWORD, Org, make_settings
from tests.support import LiveServer, SmtpServer


def _get_all(container: Container, acme: Org) -> dict[str, httpx.Response]:
    with LiveServer(create_app(container)) as server, httpx.Client(base_url=server.url) as http:
        api = {"headers": acme.headers}
        return {
            "signin": http.get("/signin"),
            "static": http.get("/static/style.css"),
            "missing": http.get("/no-such-page"),
            "api": http.get("/api/v1/me", **api),  # type: ignore[arg-type]
            "api-401": http.get("/api/v1/me"),
            "too-big": http.post("/api/v1/tokens", content=b" " * (2 << 20), **api),  # type: ignore[arg-type]
            "token": http.post("/api/v1/tokens", json={"name": "ci"}, **api),  # type: ignore[arg-type]
            "set-password": http.get("/password/set", params={"token": "x.y.z.w"}),
            "docs": http.get("/docs"),
            "redoc": http.get("/redoc"),
        }


def test_every_response_carries_the_security_headers(container: Container, acme: Org) -> None:
    got = _get_all(container, acme)
    for name, r in got.items():
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, name
        assert "script-src 'self';" in csp, name
        assert ("'unsafe-inline'" in csp) is (name == "redoc"), name  # ReDoc's styles only
        assert "unsafe-eval" not in csp, name
        assert r.headers["x-content-type-options"] == "nosniff", name
        assert "strict-transport-security" not in r.headers, name  # BASE_URL is http here
    for name in ("signin", "api", "docs"):
        assert got[name].headers["referrer-policy"] == "same-origin", name
        assert "no-store" not in got[name].headers.get("cache-control", ""), name
    for name in ("token", "set-password"):  # a new API token; a password link in the URL
        assert got[name].headers["cache-control"] == "no-store", name
        assert got[name].headers["referrer-policy"] == "no-referrer", name
    assert got["token"].status_code == 201 and got["too-big"].status_code == 413
    assert "style-src 'self';" in got["docs"].headers["content-security-policy"]
    assert "'unsafe-inline'" in got["redoc"].headers["content-security-policy"]  # styles only


def test_hsts_only_when_the_base_url_is_https(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    settings = make_settings(tmp_path, database_url, smtp, base_url="https://meet.example.test")
    c = build_container(settings, immediate_jobs=True)
    try:
        with LiveServer(create_app(c)) as server:
            r = httpx.get(f"{server.url}/healthz", timeout=30)
    finally:
        c.close()
    assert r.headers["strict-transport-security"] == "max-age=31536000"


def test_framing_is_set_per_route_and_a_response_may_set_its_own(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(headers.FRAMING, "/signin", "https://partner.example.test")
    with LiveServer(create_app(container)) as server:
        framed = httpx.get(f"{server.url}/signin", timeout=30).headers["content-security-policy"]
        other = httpx.get(f"{server.url}/healthz", timeout=30).headers["content-security-policy"]
    assert framed.endswith("frame-ancestors https://partner.example.test")
    assert other.endswith("frame-ancestors 'none'")
    own = headers.security_headers("/x", None, {b"content-security-policy"}, https=False)
    assert b"content-security-policy" not in dict(own)


@pytest.mark.browser
def test_pages_run_under_the_csp_without_a_violation(
    browser: Browser, container: Container, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the pages' scripts do not depend on the database")
    ensure_demo(container.orgs, container.accounts, PASSWORD)
    admin = container.orgs.first_owner(DEMO_SLUG)
    assert admin is not None
    project = container.projects.create(admin, name="Launch", description="", origin=ORIGIN)
    with LiveServer(create_app(container)) as server:
        context = browser.new_context()
        page = context.new_page()
        violations: list[str] = []

        def on_console(msg: ConsoleMessage) -> None:
            if "Content Security Policy" in msg.text or "Refused to" in msg.text:
                violations.append(msg.text)

        page.on("console", on_console)
        page.goto(f"{server.url}/signin")
        page.get_by_label("E-mail").fill("admin@demo.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        for path in ("/team", "/meetings", "/meetings/new", "/settings/tokens", "/projects"):
            page.goto(f"{server.url}{path}")
            page.wait_for_load_state("networkidle")
        # htmx is loaded; the project filter (app.js, no inline handler) submits on change.
        assert page.evaluate("typeof window.htmx") == "object"
        page.goto(f"{server.url}/meetings")
        page.locator("select[name=project]").select_option(project.id)
        page.wait_for_url(f"**/meetings?*project={project.id}*")
        context.close()
    assert violations == []
