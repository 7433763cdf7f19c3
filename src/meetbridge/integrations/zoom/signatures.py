"""Verifying Zoom's webhooks: HMAC-SHA256 over "v0:{timestamp}:{raw body}", compared in
constant time; stale timestamps refused; the endpoint.url_validation answer."""

from __future__ import annotations

import hashlib
import hmac

MAX_AGE_SECONDS = 300


class WebhookRejected(Exception):
    pass


def verify(
    secret: str, timestamp: str | None, signature: str | None, raw_body: bytes, now: float
) -> None:
    """Raises WebhookRejected unless the request is Zoom's, signed with `secret`, and fresh."""
    if not timestamp or not signature:
        raise WebhookRejected("missing x-zm-signature or x-zm-request-timestamp")
    if not timestamp.isdigit():
        raise WebhookRejected("malformed timestamp")
    ts = int(timestamp)
    if ts > 10**11:  # milliseconds
        ts //= 1000
    if abs(now - ts) > MAX_AGE_SECONDS:
        raise WebhookRejected("stale timestamp")
    message = b"v0:" + timestamp.encode() + b":" + raw_body
    expected = "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise WebhookRejected("bad signature")


def url_validation_reply(secret: str, plain_token: str) -> dict[str, str]:
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}
