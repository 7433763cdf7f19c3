"""Sending events the way Zoom does: signed with x-zm-signature over the raw body, a 3 s reply
window, retries 5, 20 and 60 minutes apart (on the sandbox clock) for a 5xx or no answer, none
for a 3xx or 4xx (Zoom's webhook docs, "Notification delivery"), and the
endpoint.url_validation challenge.

The signature's timestamp is the wall clock at sending, as Zoom's is: a receiver refuses stale
timestamps, and moving the sandbox's clock (to make a retry due) must not make the retry look
stale."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx

from meetbridge_sandbox import events
from meetbridge_sandbox.core import Sandbox
from meetbridge_sandbox.state import App, Delivery

REPLY_WINDOW = 3.0
RETRY_AFTER_ATTEMPT = {1: 5 * 60, 2: 20 * 60, 3: 60 * 60}  # then give up


def sign(secret: str, timestamp: str, body: str) -> str:
    mac = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + mac.hexdigest()


class Dispatcher:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.client = httpx.AsyncClient(timeout=REPLY_WINDOW)
        self.wakeup = asyncio.Event()
        self.lock = asyncio.Lock()
        sandbox.listeners.append(self.wakeup.set)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=0.25)
            self.wakeup.clear()
            await self.flush()

    async def flush(self) -> int:
        """Sends every delivery that is due now; returns how many were attempted."""
        async with self.lock:
            now = self.sandbox.clock.time()
            due = [
                d
                for d in self.sandbox.state.deliveries
                if d.state == "pending" and d.next_at is not None and d.next_at <= now
            ]
            if due:
                await asyncio.gather(*(self._send(d) for d in due))
                self.sandbox.save()
            return len(due)

    async def _send(self, d: Delivery) -> None:
        app = self.sandbox.state.apps.get(d.client_id)
        secret = app.webhook_secret if app else ""
        ts = str(int(time.time()))
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-zm-request-timestamp": ts,
            "x-zm-signature": sign(secret, ts, d.body),
            "user-agent": "Zoom Marketplace/1.0a",
        }
        attempt: dict[str, Any] = {"at": self.sandbox.clock.time()}
        status = 0
        try:
            r = await self.client.post(d.url, content=d.body.encode(), headers=headers)
            attempt["status"] = status = r.status_code
        except httpx.HTTPError as exc:
            attempt["error"] = type(exc).__name__
        d.attempts.append(attempt)
        if 200 <= status < 300:
            d.state, d.next_at = "delivered", None
            return
        delay = RETRY_AFTER_ATTEMPT.get(len(d.attempts)) if status == 0 or status >= 500 else None
        if delay is None:
            d.state, d.next_at = "failed", None
        else:
            d.next_at = self.sandbox.clock.time() + delay

    async def validate(self, app: App) -> dict[str, Any]:
        """The CRC check Zoom runs when an endpoint URL is added or changed."""
        plain = secrets.token_urlsafe(16)
        body = json.dumps(
            {
                "payload": {"plainToken": plain},
                "event_ts": events.wall_ms(),
                "event": "endpoint.url_validation",
            },
            separators=(",", ":"),
        )
        ts = str(int(time.time()))
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-zm-request-timestamp": ts,
            "x-zm-signature": sign(app.webhook_secret, ts, body),
        }
        expected = hmac.new(app.webhook_secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
        result: dict[str, Any] = {"url": app.webhook_url, "validated": False}
        try:
            r = await self.client.post(app.webhook_url or "", content=body, headers=headers)
            reply = r.json()
            result["status"] = r.status_code
            result["validated"] = (
                r.status_code == 200
                and reply.get("plainToken") == plain
                and hmac.compare_digest(str(reply.get("encryptedToken")), expected)
            )
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            result["error"] = type(exc).__name__
        app.url_validated = bool(result["validated"])
        self.sandbox.save()
        return result

    async def close(self) -> None:
        await self.client.aclose()
