"""The caller's calendar feed under /api/v1/calendar-feed (see, make or replace, revoke), and
the feed itself, `GET /feeds/{token}.ics`, which calendars read without signing in: the
secret in its path is the only key (requests/feed.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from meetbridge.api.deps import ERRORS, Actor, C, From
from meetbridge.container import Container
from meetbridge.core.errors import NotFound
from meetbridge.requests.feed import CalendarFeeds, feed_urls

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["calendar feed"])
ics = APIRouter(tags=["calendar feed"])

# The feed's URL is its secret: no cache but the reader's own, no Referer carrying it away.
_FEED_HEADERS = {
    "Cache-Control": "private, no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
# One answer for an unknown, revoked or deactivated user's feed, from the same lookup.
_MISSING = b"No such calendar feed. It may have been revoked or replaced.\n"


def feeds(c: Container) -> CalendarFeeds:
    # Stateless and cheap: built per call rather than kept in the container.
    return CalendarFeeds(c.db, c.meetings, c.clock)


class FeedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    created_at: dt.datetime
    last_read_at: dt.datetime | None


class FeedCreated(FeedOut):
    url: str  # shown once: only its digest is kept
    webcal_url: str


@router.get("/calendar-feed", response_model=FeedOut)
async def get_feed(c: C, actor: Actor) -> object:
    """Your live calendar feed (its URL was shown once, when it was made)."""
    feed = feeds(c).current(actor)
    if feed is None:
        raise NotFound("you have no calendar feed")
    return feed


@router.post("/calendar-feed", response_model=FeedCreated, status_code=201)
def create_feed(c: C, actor: Actor, origin: From, response: Response) -> FeedCreated:
    """A new secret feed URL; the one you had stops working. The URL is in this reply only."""
    created = feeds(c).create(actor, origin)
    url, webcal = feed_urls(c.settings.effective_base_url, created.token)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return FeedCreated(
        **FeedOut.model_validate(created.feed).model_dump(), url=url, webcal_url=webcal
    )


@router.delete("/calendar-feed", status_code=204)
def revoke_feed(c: C, actor: Actor, origin: From) -> Response:
    """Revokes your feed: its URL answers 404 from now on."""
    feeds(c).revoke(actor, origin)
    return Response(status_code=204)


@ics.get(
    "/feeds/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The feed (iCalendar)."},
        304: {"description": "Unchanged since the ETag given in If-None-Match."},
        404: {
            "content": {"text/plain": {}},
            "description": "No such feed (unknown, revoked or replaced).",
        },
    },
)
def read_feed(token: str, c: C, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """A person's requests and meetings from 90 days ago to a year ahead, for a calendar to
    subscribe to. Send the ETag back in If-None-Match: an unchanged feed is a 304."""
    service = feeds(c)
    found = service.read(token, if_none_match)
    if found is None:
        return Response(
            _MISSING,
            status_code=404,
            media_type="text/plain; charset=utf-8",
            headers={**_FEED_HEADERS, "Cache-Control": "no-store"},
        )
    service.touch(found.owner)  # a write at most every few minutes; we are in the pool
    headers = {**_FEED_HEADERS, "ETag": found.etag}
    if found.not_modified:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="meetbridge.ics"'
    return Response(found.body, media_type="text/calendar; charset=utf-8", headers=headers)
