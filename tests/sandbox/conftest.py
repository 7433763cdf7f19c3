"""A live sandbox per test, a webhook receiver, and a Zoom client that signs in like a user."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meetbridge_sandbox.app import create_app
from meetbridge_sandbox.config import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REDIRECT_URI,
    DEMO_S2S_ACCOUNT_ID,
    DEMO_S2S_CLIENT_ID,
    DEMO_S2S_CLIENT_SECRET,
    DEMO_USER_PASSWORD,
    DEMO_WEBHOOK_SECRET,
    SandboxConfig,
)
from tests.support import LiveServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An app's webhook endpoint: records every request; answers the CRC challenge with the
    given secret; `statuses` are popped for the replies to events (then 200)."""

    secret: str = DEMO_WEBHOOK_SECRET
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    async def handle(self, request: Request) -> Response:
        import hmac

        body = await request.body()
        with self.cond:
            self.received.append(Received(request.url.path, dict(request.headers), body))
            self.cond.notify_all()
        data = json.loads(body)
        if data.get("event") == "endpoint.url_validation":
            plain = data["payload"]["plainToken"]
            enc = hmac.new(self.secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
            return JSONResponse({"plainToken": plain, "encryptedToken": enc})
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

    def events(self, name: str) -> list[Received]:
        with self.cond:
            return [r for r in self.received if r.json.get("event") == name]

    def wait(self, name: str, count: int = 1, timeout: float = 10) -> list[Received]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.events_unlocked(name)) >= count, timeout)
            assert ok, f"no {name} event within {timeout}s: {[r.json for r in self.received]}"
            return self.events_unlocked(name)

    def events_unlocked(self, name: str) -> list[Received]:
        return [r for r in self.received if r.json.get("event") == name]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/{path:path}", rec.handle, methods=["POST"])])
    with LiveServer(app) as server:
        rec.url = server.url
        yield rec


@dataclass
class Sandbox:
    url: str
    app: Any

    @property
    def core(self) -> Any:
        return self.app.state.sandbox

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def control(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.url}/_sandbox{path}", timeout=10, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def s2s_token(self) -> str:
        r = httpx.post(
            f"{self.url}/oauth/token",
            auth=(DEMO_S2S_CLIENT_ID, DEMO_S2S_CLIENT_SECRET),
            params={"grant_type": "account_credentials", "account_id": DEMO_S2S_ACCOUNT_ID},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def authorize(
        self,
        email: str,
        *,
        verifier: str | None = None,
        method: str = "S256",
        state: str = "st4te",
        redirect_uri: str = DEMO_REDIRECT_URI,
        decision: str = "allow",
        extra: dict[str, str] | None = None,
    ) -> dict[str, list[str]]:
        """Signs in as a sandbox Zoom user and answers the consent page; returns the query of
        the redirect back to the app."""
        params = {
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            **(extra or {}),
        }
        if verifier is not None:
            params["code_challenge_method"] = method
            params["code_challenge"] = challenge(verifier) if method == "S256" else verifier
        with httpx.Client(base_url=self.url, follow_redirects=False) as browser:
            r = browser.get("/oauth/authorize", params=params)
            assert r.status_code == 303, r.text
            r = browser.post(
                r.headers["location"], data={"email": email, "password": DEMO_USER_PASSWORD}
            )
            assert r.status_code == 303, r.text
            r = browser.get(r.headers["location"])
            assert r.status_code == 200, r.text
            form = dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", r.text))
            r = browser.post("/oauth/authorize", data={**form, "decision": decision})
            assert r.status_code == 302, r.text
            location = r.headers["location"]
        assert location.startswith(redirect_uri)
        return parse_qs(urlparse(location).query)

    def user_tokens(self, email: str) -> dict[str, Any]:
        verifier = secrets.token_urlsafe(48)
        code = self.authorize(email, verifier=verifier)["code"][0]
        r = httpx.post(
            f"{self.url}/oauth/token",
            auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": DEMO_REDIRECT_URI,
                "code_verifier": verifier,
            },
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    config = SandboxConfig(
        port=0, webhook_url=f"{receiver.url}/zoom/events", deauth_url=f"{receiver.url}/zoom/deauth"
    )
    app = create_app(config)
    with LiveServer(app) as server:
        # The sandbox writes its own links with its public URL.
        app.state.sandbox.config = SandboxConfig(**{**vars(config), "public_url": server.url})
        yield Sandbox(server.url, app)
