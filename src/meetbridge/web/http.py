"""What the pages and the API share about HTTP: request origin, ASGI middleware (request ids,
logs, metrics, body limit, security headers) and the one way a raw body becomes JSON."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meetbridge.core.audit import Origin
from meetbridge.core.db import SERVING_REQUEST
from meetbridge.core.errors import ValidationFailed
from meetbridge.core.logging import get_logger
from meetbridge.core.metrics import Metrics
from meetbridge.web.headers import security_headers

log = get_logger("meetbridge.http")

# Paths whose every answer, errors included, is JSON in the `{"error": …}` shape.
JSON_PREFIXES = ("/api/", "/webhooks/")
# A client's X-Request-ID is kept (logs, audit rows) only when it is a short plain token;
# anything else is replaced by ours, so no one writes markup or log lines into the audit log.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def wants_json(path: str) -> bool:
    return path.startswith(JSON_PREFIXES)


def origin_of(request: Request, via: str = "web") -> Origin:
    return Origin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
        via=via,
    )


def request_id_from(incoming: bytes | None) -> str:
    text = (incoming or b"").decode("latin-1")
    return text if SAFE_REQUEST_ID.fullmatch(text) else uuid.uuid4().hex


def body_problem(exc: BaseException) -> str:
    """Why a body could not be read as JSON, in words for the `body` field."""
    if isinstance(exc, RecursionError):
        return "is nested too deeply to be read as JSON"
    if isinstance(exc, UnicodeDecodeError):
        return "is not valid UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"is not valid JSON ({exc.msg} at character {exc.pos})"
    return "could not be read as JSON"


def json_body(raw: bytes) -> Any:
    """The JSON document in `raw`, or ValidationFailed("body", why): invalid UTF-8, invalid
    JSON and nesting deeper than the parser's recursion limit are all the client's fault."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed("body", body_problem(exc)) from None


def error_json(code: str, message: str, field: str, reason: str | None = None) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "fields": [{"field": field, "reason": reason or message}],
            }
        }
    ).encode()


def _is_json(content_type: bytes) -> bool:
    main = content_type.split(b";")[0].strip().lower()
    return main == b"application/json" or (
        main.startswith(b"application/") and main.endswith(b"+json")
    )


class RequestMiddleware:
    """Pure ASGI (cheaper than BaseHTTPMiddleware): gives each request an id, adds the security
    headers, logs one line and records metrics (failures included), refuses bodies over the
    limit with 413 before the app reads them (chunked ones too), and API bodies that are not
    JSON with 415."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body: int, https: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_from(headers.get(b"x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status_holder = {"status": 500, "started": False}
        path: str = scope["path"]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                have = list(message.get("headers") or [])
                present = {k.lower() for k, _ in have}
                route = getattr(scope.get("route"), "path", None)
                extra = security_headers(path, route, present, self.https)
                message["headers"] = [*have, *extra, (b"x-request-id", request_id.encode())]
            await send(message)

        failure: BaseException | None = None
        serving = SERVING_REQUEST.set(True)  # for the write-on-the-loop guard (core/db.py)
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                refusal, receive = await self._admit(scope, headers, receive)
                if refusal is not None:
                    await self._reject(send_wrapper, *refusal)
                else:
                    await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            failure = exc
            if not status_holder["started"]:
                await self._fail(send_wrapper, path)
            raise
        finally:
            SERVING_REQUEST.reset(serving)
            self._record(scope, request_id, int(status_holder["status"]), start, failure)

    async def _admit(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive
    ) -> tuple[tuple[int, str, str, str] | None, Receive]:
        """A reason to refuse the request before the app sees it, or None and the receive
        the app should read the body from."""
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            # PostgreSQL cannot store or compare text with NUL; no page or API needs one.
            where = "path" if "\x00" in scope["path"] else "query"
            return (400, "bad_request", f"the {where} must not contain NUL (%00)", where), receive
        length = headers.get(b"content-length")
        if length is not None:
            declared = int(length) if length.isdigit() else self.max_body + 1
            if declared > self.max_body:
                return self._too_large(), receive
        elif scope["method"] in _BODY_METHODS or b"transfer-encoding" in headers:
            # No length given (chunked): read it all first, so the limit holds for it too.
            body = await self._read_limited(receive)
            if body is None:
                return self._too_large(), receive
            receive = _replay(body, receive)
            length = str(len(body)).encode()
        has_body = length not in (None, b"0")
        if (
            has_body
            and scope["path"].startswith("/api/")
            and scope["method"] in _BODY_METHODS
            and not _is_json(headers.get(b"content-type", b""))
        ):
            return (
                415,
                "unsupported_media_type",
                "send the body as JSON, with Content-Type: application/json",
                "Content-Type",
            ), receive
        return None, receive

    def _too_large(self) -> tuple[int, str, str, str]:
        return (
            413,
            "body_too_large",
            f"request body is larger than allowed ({self.max_body} bytes)",
            "body",
        )

    async def _read_limited(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _record(
        self,
        scope: Scope,
        request_id: str,
        status: int,
        start: float,
        failure: BaseException | None,
    ) -> None:
        route_path = getattr(scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - start
        method = scope["method"]
        self.metrics.requests.labels(method, route_path, str(status)).inc()
        self.metrics.responses.labels(f"{status // 100}xx").inc()
        self.metrics.latency.labels(method, route_path).observe(elapsed)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": method,
            # A path carrying a secret (a feed's or a manage link's token) is logged as its
            # route's template, so the log never holds a working link.
            "path": route_path if "{token}" in route_path else scope["path"],
            "status": status,
            "ms": round(elapsed * 1000, 2),
        }
        if failure is not None:
            log.error("http.request", error=type(failure).__name__, exc_info=failure, **fields)
        else:
            log.info("http.request", **fields)

    async def _fail(self, send: Send, path: str) -> None:
        """The 500 for an unexpected exception: JSON in the error shape where JSON is spoken
        (the exception itself is logged with the request's id, not shown)."""
        if wants_json(path):
            message = "internal error; the request id is in the X-Request-ID header"
            await self._reject(send, 500, "internal_error", message, "_")
        else:
            body = b"Internal error. Please try again; if it persists, tell your administrator."
            await _send(send, 500, body, b"text/plain; charset=utf-8")

    async def _reject(self, send: Send, status: int, code: str, message: str, field: str) -> None:
        await _send(send, status, error_json(code, message, field), b"application/json")


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body read ahead, then whatever the client sends."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
