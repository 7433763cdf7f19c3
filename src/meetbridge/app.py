"""The ASGI application: pages, the REST API, health and metrics, over one Container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from meetbridge import __version__
from meetbridge.api.routes import ROUTERS as API_ROUTERS
from meetbridge.container import Container, build_container
from meetbridge.core.errors import DomainError, Throttled, Unavailable
from meetbridge.core.logging import configure_logging, get_logger
from meetbridge.core.metrics import Metrics
from meetbridge.core.settings import Settings
from meetbridge.web import reference
from meetbridge.web.http import RequestMiddleware, body_problem, wants_json
from meetbridge.web.kit import STATIC_DIR, error_page, install_page_handlers
from meetbridge.web.routes import ROUTERS as PAGE_ROUTERS

log = get_logger("meetbridge.app")


def _error(status: int, code: str, message: str, fields: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "fields": fields}}, status_code=status
    )


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def _field(field: str, reason: str) -> dict[str, str]:
    return {"field": field, "reason": reason}


def _loc_to_field(loc: tuple[Any, ...]) -> str:
    """("body", "user", "email") -> "user.email": the first part only says where it was."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def create_app(container: Container) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            container.settings.web_threads
        )
        yield

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # served by web/reference.py, offline and under the CSP
        redoc_url=None,
        title="meetbridge",
        version=__version__,
        description="A self-hostable Zoom integration. Authenticate with a personal API token: "
        "`Authorization: Bearer mbp_…` (create one under API tokens).",
    )
    app.state.container = container
    app.add_middleware(
        RequestMiddleware,
        metrics=metrics,
        max_body=container.settings.max_body_bytes,
        https=container.settings.secure_cookies,
    )
    app.mount(reference.ASSETS_PATH, reference.ASSETS, name="reference")  # before /static
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if not wants_json(request.url.path):
            return error_page(request, exc.status, exc.message)
        fields = [{"field": e.field, "reason": e.reason} for e in exc.errors]
        resp = _error(exc.status, exc.code, exc.message, fields)
        if isinstance(exc, Throttled | Unavailable):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not wants_json(request.url.path):
            return await http_exception_handler(request, exc)
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI could not read the body (invalid UTF-8, JSON nested past the parser's
            # recursion limit): the client's fault, said in the documented shape.
            reason = body_problem(exc.__cause__)
            return _error(422, "validation_failed", f"body: {reason}", [_field("body", reason)])
        message = str(exc.detail)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        resp = _error(exc.status_code, code, message, [_field("_", message)])
        for name, value in (exc.headers or {}).items():
            resp.headers[name] = value
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = []
        for err in exc.errors():
            field = _loc_to_field(tuple(err.get("loc", ())))
            # A validator's own ValueError reads "Value error, <its words>": the words are ours.
            reason = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
            if err.get("type") == "json_invalid":
                field, reason = "body", f"is not valid JSON ({err.get('ctx', {}).get('error')})"
            fields.append({"field": field, "reason": reason})
        first = fields[0] if fields else {"field": "body", "reason": "is invalid"}
        return _error(422, "validation_failed", f"{first['field']}: {first['reason']}", fields)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        checks: dict[str, str] = {}
        for name, probe in (("database", container.db.ping), ("queue", container.jobs.ping)):
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503
        )

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    for api_router in API_ROUTERS:
        app.include_router(api_router)
    app.include_router(reference.router)
    for page_router in PAGE_ROUTERS:
        app.include_router(page_router)
    install_page_handlers(app)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory`: settings from the environment, one container per
    process (so any number of worker processes can serve side by side)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(build_container(settings))
