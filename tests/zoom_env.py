"""meetbridge and the Zoom sandbox, both live on loopback and wired to each other, for the tests
of connecting Zoom: the product's Zoom settings point at the sandbox, and the sandbox's user
app redirects to and sends webhooks to the product."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from meetbridge.app import create_app
from meetbridge.container import Container, build_container
from meetbridge.core.models import User
from meetbridge_sandbox.app import create_app as create_sandbox
from meetbridge_sandbox.config import DEMO_USER_PASSWORD, SandboxConfig
from tests.conftest import ORIGIN, PASSWORD, make_settings
from tests.support import LiveServer, SmtpServer, free_port


@dataclass
class ZoomEnv:
    product: str
    zoom: str
    c: Container
    sandbox_app: Any

    def control(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.zoom}/_sandbox{path}", timeout=10, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def signed_in(self, email: str, password: str = PASSWORD) -> httpx.Client:
        """A browser-like client signed in to meetbridge (cookies kept per host)."""
        browser = httpx.Client(base_url=self.product, follow_redirects=False, timeout=15)
        page = browser.get("/signin").text
        token = csrf(page)
        r = browser.post(
            "/signin", data={"email": email, "password": password, "csrf_token": token}
        )
        assert r.status_code == 303, r.text
        return browser

    def connect(
        self, browser: httpx.Client, zoom_email: str, decision: str = "allow"
    ) -> httpx.Response:
        """Clicks Connect Zoom, signs in to the sandbox as `zoom_email`, answers the consent
        page, follows the redirect back; returns meetbridge's final page."""
        page = browser.get("/integrations/zoom")
        r = browser.post("/integrations/zoom/connect", data={"csrf_token": csrf(page.text)})
        assert r.status_code == 303 and r.headers["location"].startswith(self.zoom), r.text
        authorize = r.headers["location"]
        callback = self.consent(browser, authorize, zoom_email, decision)
        return browser.get(callback, follow_redirects=True)

    def consent(
        self, browser: httpx.Client, authorize: str, zoom_email: str, decision: str = "allow"
    ) -> str:
        """On the sandbox: sign in and Allow/Decline; returns the redirect back (unfollowed)."""
        r = browser.get(authorize)
        if r.status_code == 303:  # not signed in to Zoom yet
            r = browser.post(
                f"{self.zoom}{r.headers['location']}",
                data={"email": zoom_email, "password": DEMO_USER_PASSWORD},
            )
            assert r.status_code == 303, r.text
            r = browser.get(f"{self.zoom}{r.headers['location']}")
        assert r.status_code == 200, r.text
        form = dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", r.text))
        r = browser.post(f"{self.zoom}/oauth/authorize", data={**form, "decision": decision})
        assert r.status_code == 302, r.text
        return str(r.headers["location"])

    def user(self, email: str) -> User:
        owner = self.c.orgs.first_owner("acme")
        assert owner
        return next(m for m in self.c.accounts.list_members(owner) if m.email == email)


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, html[:400]
    return match.group(1)


@contextmanager
def zoom_env(tmp_path: Path, database_url: str, smtp: SmtpServer, **over: Any) -> Iterator[ZoomEnv]:
    product_port, zoom_port = free_port(), free_port()
    product, zoom = f"http://127.0.0.1:{product_port}", f"http://127.0.0.1:{zoom_port}"
    sandbox_app = create_sandbox(
        SandboxConfig(
            port=zoom_port,
            public_url=zoom,
            redirect_uris=(f"{product}/integrations/zoom/callback",),
            webhook_url=f"{product}/webhooks/zoom",
            deauth_url=f"{product}/webhooks/zoom/deauthorize",
        )
    )
    settings = make_settings(
        tmp_path,
        database_url,
        smtp,
        base_url=product,
        zoom_api_base=f"{zoom}/v2",
        zoom_oauth_base=zoom,
        zoom_max_wait=over.pop("zoom_max_wait", 5.0),
        zoom_timeout=over.pop("zoom_timeout", 3.0),
        **{k: v for k, v in over.items() if k != "immediate_jobs"},
    )
    c = build_container(settings, immediate_jobs=over.get("immediate_jobs", True))
    _org, owner = c.orgs.create_organization(
        name="Acme",
        slug="acme",
        owner_email="owner@acme.test",
        owner_name="Olive Owner",
        owner_password=PASSWORD,
        origin=ORIGIN,
    )
    for email, name in (("ann@acme.test", "Ann"), ("bob@acme.test", "Bob")):
        c.accounts.create_member(
            owner, email=email, name=name, role="member", password=PASSWORD, origin=ORIGIN
        )
    with LiveServer(sandbox_app, zoom_port), LiveServer(create_app(c), product_port):
        yield ZoomEnv(product, zoom, c, sandbox_app)
    c.close()
