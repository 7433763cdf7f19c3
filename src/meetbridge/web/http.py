"""What the pages and the API share about HTTP: request origin, ASGI middleware (request ids,
logs, metrics, body limit)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import structlog
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meetbridge.core.audit import Origin
from meetbridge.core.db import SERVING_REQUEST
from meetbridge.core.logging import get_logger
from meetbridge.core.metrics import Metrics

log = get_logger("meetbridge.http")


def origin_of(request: Request, via: str = "web") -> Origin:
    return Origin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
        via=via,
    )


def _json_error(status: int, code: str, message: str, field: str) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "fields": [{"field": field, "reason": message}],
            }
        }
    ).encode()


class RequestMiddleware:
    """Pure ASGI (cheaper than BaseHTTPMiddleware): gives each request an id, logs one line,
    records metrics, and refuses bodies over the limit with 413 before the app reads them."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming.isprintable() and incoming else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        length = headers.get(b"content-length")
        too_big = False
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            # PostgreSQL cannot store or compare text with NUL; no page or API needs one.
            where = "path" if "\x00" in scope["path"] else "query"
            await self._reject(
                send_wrapper, 400, "bad_request", f"the {where} must not contain NUL (%00)", where
            )
        elif too_big:
            await self._reject(
                send_wrapper, 413, "body_too_large", "request body is larger than allowed", "body"
            )
        else:
            received = 0

            async def receive_limited() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise _BodyTooLarge
                return message

            serving = SERVING_REQUEST.set(True)  # for the write-on-the-loop guard (core/db.py)
            try:
                with structlog.contextvars.bound_contextvars(request_id=request_id):
                    await self.app(scope, receive_limited, send_wrapper)
            except _BodyTooLarge:
                await self._reject(
                    send_wrapper,
                    413,
                    "body_too_large",
                    "request body is larger than allowed",
                    "body",
                )
            finally:
                SERVING_REQUEST.reset(serving)
        route = scope.get("route")
        route_path = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - start
        method = scope["method"]
        self.metrics.requests.labels(method, route_path, str(status_holder["status"])).inc()
        self.metrics.latency.labels(method, route_path).observe(elapsed)
        log.info(
            "http.request",
            request_id=request_id,
            method=method,
            path=scope["path"],
            status=status_holder["status"],
            ms=round(elapsed * 1000, 2),
        )

    async def _reject(self, send: Any, status: int, code: str, message: str, field: str) -> None:
        body = _json_error(status, code, message, field)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
