"""Settings → Calendar feed: the person makes a secret iCalendar feed URL (shown once, with
its webcal:// twin that calendar apps subscribe to), replaces it when it may have leaked, or
revokes it. The feed itself is served by api/feeds.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.container import Container
from meetbridge.core.errors import NotFound
from meetbridge.core.models import User
from meetbridge.requests.feed import AHEAD, PAST, REFRESH, CalendarFeeds, feed_urls
from meetbridge.web.http import origin_of
from meetbridge.web.kit import container, in_thread, posted_form, redirect, render, signed_in_user

router = APIRouter(include_in_schema=False)
PAGE = "/settings/calendar-feed"


def _feeds(c: Container) -> CalendarFeeds:
    return CalendarFeeds(c.db, c.meetings, c.clock)


def _page(request: Request, user: User, status: int = 200, **ctx: object) -> Response:
    resp = render(
        request,
        "calendar_feed.html",
        user,
        status,
        feed=_feeds(container(request)).current(user),
        past_days=PAST.days,
        ahead_days=AHEAD.days,
        refresh_minutes=int(REFRESH.removeprefix("PT").removesuffix("M")),
        nav="settings",
        **ctx,
    )
    # The page may show the feed's secret URL: as for a new API token, never cached, and no
    # Referer carries it to a link's site.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@router.get(PAGE)
async def feed_page(request: Request) -> Response:
    return _page(request, signed_in_user(request), created=None)


@router.post(PAGE)
async def feed_create(request: Request) -> Response:
    """Makes the feed, or replaces the live one (whose URL stops working at once)."""
    user = signed_in_user(request)
    await posted_form(request)
    c = container(request)
    created = await in_thread(_feeds(c).create, user, origin_of(request))
    url, webcal = feed_urls(c.settings.effective_base_url, created.token)
    return _page(request, user, 201, created={"url": url, "webcal": webcal})


@router.post(f"{PAGE}/revoke")
async def feed_revoke(request: Request) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    try:
        await in_thread(_feeds(container(request)).revoke, user, origin_of(request))
    except NotFound:
        return redirect(request, PAGE, "You have no calendar feed to revoke.")
    return redirect(request, PAGE, "Your calendar feed is revoked: its URL no longer works.")
