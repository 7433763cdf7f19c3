"""What every API endpoint depends on, by public name: the container, the caller behind the
API token, where the request came from, and the error replies every route documents.

    @router.get("/things")
    async def list_things(c: C, actor: Actor) -> list[Thing]: ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request, Response
from pydantic import AfterValidator, BeforeValidator
from starlette.concurrency import run_in_threadpool

from meetbridge.accounts.tokens import API_TOKEN_REFUSED, ApiCaller
from meetbridge.api.schemas import ErrorOut
from meetbridge.container import Container
from meetbridge.core.audit import Origin
from meetbridge.core.errors import NotAuthenticated
from meetbridge.core.models import User
from meetbridge.web.http import origin_of

T = TypeVar("T")

# The error replies every API route may give (the body is always `ErrorOut`).
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}


async def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


# Reads that take one short indexed query run on the event loop (`async def`): a thread-pool hop
# costs more than the query itself. Anything that writes or is slow (argon2, Zoom calls) stays in
# plain `def`: a write on the loop that waits for the database's write lock would stall every
# request of the process (the tests refuse one: `Database.refuse_loop_writes`).
async def api_caller(request: Request, c: Annotated[Container, Depends(container)]) -> ApiCaller:
    """For an endpoint whose write confirms the token itself (it passes `token_id` on): the
    caller may be as read up to a minute ago, which saves a read per request."""
    return await _touched(c, c.api_tokens.api_caller_to_confirm(bearer(request)))


async def api_user(request: Request, c: Annotated[Container, Depends(container)]) -> User:
    return (await _touched(c, c.api_tokens.api_caller(bearer(request)))).user


async def _touched(c: Container, caller: ApiCaller | None) -> ApiCaller:
    if caller is None:
        raise NotAuthenticated(API_TOKEN_REFUSED)
    if caller.touch_due:  # a write: in the thread pool, once per token every few minutes
        await run_in_threadpool(c.api_tokens.touch_api_token, caller.token_id)
    return caller


def bearer(request: Request) -> str:
    """The API token the request carries (`Authorization: Bearer …`)."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("send Authorization: Bearer <API token>")
    return secret.strip()


async def api_origin(request: Request) -> Origin:
    return origin_of(request, via="api")


# Every create endpoint takes one (core/idempotency.py); a replay says so in its reply.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Your unique key for this create (a UUID): a retry with the same key and "
        "body returns what the first request made",
    ),
]
REPLAYED = {"Idempotent-Replayed": "true"}


class Once:
    """A create endpoint's idempotency (core/idempotency.py) for this request: its key, and
    the reply whose headers say when it is a replay.

        return once(actor, "projects", body.model_dump(mode="json"), make, load)"""

    def __init__(self, c: Container, response: Response, key: str | None) -> None:
        self.c, self.response, self.key = c, response, key

    def __call__(
        self,
        actor: User,
        scope: str,
        request: object,
        make: Callable[[str | None], T],
        load: Callable[[str], T],
    ) -> T:
        made, replayed = self.c.idempotency.create(actor.id, scope, self.key, request, make, load)
        if replayed:
            self.response.headers.update(REPLAYED)
        return made


async def once(
    c: Annotated[Container, Depends(container)],
    response: Response,
    key: IdempotencyKeyHeader = None,
) -> Once:
    return Once(c, response, key)


C = Annotated[Container, Depends(container)]
Actor = Annotated[User, Depends(api_user)]
Caller = Annotated[ApiCaller, Depends(api_caller)]
From = Annotated[Origin, Depends(api_origin)]
Idempotent = Annotated[Once, Depends(once)]


def _iso_only(value: Any) -> Any:
    """A filter's time as ISO 8601, as the schema says: pydantic would also read a bare number
    as seconds since the epoch (`from=2027` would be 33 minutes past midnight, 1 January 1970)."""
    if isinstance(value, str) and value.lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("a time like 2027-03-01T09:00:00Z")
    return value


def _with_offset(value: dt.datetime | None) -> dt.datetime | None:
    """Without its offset, which zone a filter's time meant is unknown."""
    if value is not None and value.tzinfo is None:
        raise ValueError("must carry its offset (e.g. Z)")
    return value


# A list's time filters (`?from=&to=`): ISO 8601 with an offset, each bad one named at once.
TimeFrom = Annotated[
    dt.datetime | None,
    Query(alias="from"),
    BeforeValidator(_iso_only),
    AfterValidator(_with_offset),
]
TimeTo = Annotated[
    dt.datetime | None, Query(alias="to"), BeforeValidator(_iso_only), AfterValidator(_with_offset)
]
