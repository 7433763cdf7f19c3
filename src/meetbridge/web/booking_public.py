"""The public booking pages, no sign-in: a meeting type's page (time zone, a week of days, the
day's free times, the booker's form), the confirmation, and the booker's manage page (the link
in their e-mail: reschedule, cancel). Every page works without JavaScript; with it, one static
script (booking-public.js) picks the booker's time zone and talks to an embedding page.

Booking pages may be framed by any site (web/headers.py `FRAMING`, `?embed=1` drops the page
chrome); the manage page may not: it acts on a booking by its secret link, so it says
`frame-ancestors 'none'` itself.

The form is CSRF-checked like the sign-in form (the anonymous nonce cookie of web/kit.py). In a
frame on another site that cookie is a third-party one: over https it is sent as
`SameSite=None; Secure; Partitioned` so browsers that allow partitioned cookies keep it; where
a browser refuses even those, the 403 page links the booking page to open on its own."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.booking.inputs import BookingInput, zone_name
from meetbridge.booking.service import Bookable
from meetbridge.booking.tables import Booking, BookingStatus
from meetbridge.core.errors import Conflict, DomainError, NotFound, Throttled, ValidationFailed
from meetbridge.web import headers
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    ANON_COOKIE,
    TIMEZONES,
    CsrfFailed,
    container,
    field_errors,
    in_thread,
    posted_form,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)


class Slot(Protocol):
    """A free time as the booking service gives it (the pages read its start only)."""

    @property
    def start(self) -> dt.datetime: ...


def is_zone(name: str) -> bool:
    """A zone the booking service takes (its own rule: no `posix/…`, `localtime`, …)."""
    try:
        zone_name("timezone", name)
    except ValidationFailed:
        return False
    return True


@functools.cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    # Only names `is_zone` passed (or a booking's own, checked when it was made) come here.
    return zoneinfo.ZoneInfo(name)


ZONES = [z for z in TIMEZONES if is_zone(z)]
# What the manage page sends instead of the framing everything under /book/ gets.
NOT_FRAMED = f"{headers.SELF_ONLY}; frame-ancestors 'none'"
FORM_FIELDS = ("name", "email", "notes")


@dataclass
class Day:
    date: dt.date
    slots: list[Slot]
    href: str

    @property
    def free(self) -> bool:
        return bool(self.slots)


@dataclass
class Picker:
    """A week of the booker's days, the chosen day and its free times."""

    timezone: str
    days: list[Day]
    day: Day
    prev_href: str | None
    next_href: str
    chosen: Slot | None = None


def _zone_of(value: str | None) -> str:
    return value if value and is_zone(value) else "UTC"


def _date_of(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


def _query(**params: str | None) -> str:
    kept = {k: v for k, v in params.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


def _midnight(day: dt.date, tz: str) -> dt.datetime:
    # Where the clocks skip midnight (a few zones change at 00:00) the day starts at the
    # instant Python reads with the earlier offset; the slot code's window takes any instant,
    # and the days' slots are grouped by their own local date anyway.
    return dt.datetime.combine(day, dt.time(), zone(tz)).astimezone(dt.UTC)


def _picker(
    request: Request,
    b: Bookable,
    base: str,
    tz: str,
    asked: dt.date | None,
    start: str | None,
    embed: bool,
    exclude: str | None = None,
) -> Picker:
    """The week holding `asked` (or today) in the booker's zone; without a date asked for,
    the first day of it that has a free time."""
    c = container(request)
    today = c.clock.now().astimezone(zone(tz)).date()
    # Never before today, nor past the type's horizon (nothing is offered there, and a date
    # near the calendar's end would overflow the week's arithmetic).
    day = min(max(asked or today, today), today + dt.timedelta(days=b.type.horizon_days))
    monday = day - dt.timedelta(days=day.weekday())
    lo, hi = _midnight(monday, tz), _midnight(monday + dt.timedelta(days=7), tz)
    found = c.bookings.slots(b, lo, hi, exclude_booking=exclude)
    by_day: dict[dt.date, list[Slot]] = {}
    for s in found:
        by_day.setdefault(s.start.astimezone(zone(tz)).date(), []).append(s)
    e = "1" if embed else None

    def href(d: dt.date) -> str:
        return base + _query(timezone=tz, date=d.isoformat(), embed=e)

    days = [
        Day(d, by_day.get(d, []), href(d))
        for d in (monday + dt.timedelta(days=i) for i in range(7))
    ]
    if asked is None:
        day = next((d.date for d in days if d.free and d.date >= today), day)
    chosen_day = next(d for d in days if d.date == day)
    earlier = monday - dt.timedelta(days=7)
    prev_href = href(max(earlier, today)) if monday > today else None
    chosen = None
    if start:
        chosen = next((s for s in found if s.start.isoformat() == start), None)
    return Picker(tz, days, chosen_day, prev_href, href(monday + dt.timedelta(days=7)), chosen)


def _slot_href(base: str, p: Picker, s: Slot, embed: bool) -> str:
    return base + _query(
        timezone=p.timezone,
        date=p.day.date.isoformat(),
        start=s.start.isoformat(),
        embed="1" if embed else None,
    )


def _page(
    request: Request,
    name: str,
    status: int = 200,
    embed: bool = False,
    **ctx: Any,
) -> Response:
    resp = render(
        request,
        name,
        None,
        status,
        embed=embed,
        zones=ZONES,
        local=_local,
        **ctx,
    )
    if embed and container(request).settings.secure_cookies:
        _third_party_cookie(resp)
    return resp


def _third_party_cookie(resp: Response) -> None:
    """The anonymous CSRF nonce, sendable from a frame on another site (see the module
    docstring): only where it is set, and only over https (browsers refuse `SameSite=None`
    cookies that are not `Secure`)."""
    raw = resp.raw_headers
    for i, (k, v) in enumerate(raw):
        if k == b"set-cookie" and v.startswith(ANON_COOKIE.encode() + b"="):
            value = re.sub(rb"(?i); *(samesite=\w+|secure|partitioned)", b"", v)
            raw[i] = (k, value + b"; SameSite=none; Secure; Partitioned")


def _local(at: dt.datetime, tz: str, fmt: str = "%A %d %B %Y, %H:%M") -> str:
    return at.astimezone(zone(tz)).strftime(fmt)


def _missing(request: Request, embed: bool) -> Response:
    return _page(request, "booking_public_missing.html", 404, embed)


def _type_page(
    request: Request,
    org_slug: str,
    type_slug: str,
    tz: str,
    asked: dt.date | None,
    start: str | None,
    embed: bool,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    taken: str | None = None,
) -> Response:
    c = container(request)
    try:
        b = c.bookings.bookable(org_slug[:63], type_slug[:63])
    except NotFound:
        return _missing(request, embed)
    base = f"/book/{b.org.slug}/{b.type.slug}"
    p = _picker(request, b, base, tz, asked, start, embed)
    stale = bool(start) and p.chosen is None and not taken
    hosts = [b.users[m.user_id].name for m in b.members] if b.type.show_members else []
    return _page(
        request,
        "booking_public_type.html",
        status,
        embed,
        b=b,
        base=base,
        hosts=hosts,
        p=p,
        slot_href=lambda s: _slot_href(base, p, s, embed),
        values=values or {},
        errors=errors or {},
        taken=taken,
        stale=stale,
        tz_auto="timezone" not in request.query_params and status == 200,
    )


def _embed(request: Request, form: dict[str, str] | None = None) -> bool:
    raw = (form or {}).get("embed") or request.query_params.get("embed")
    return raw == "1"


@router.get("/book/{org_slug}/{type_slug}")
async def type_page(request: Request, org_slug: str, type_slug: str) -> Response:
    q = request.query_params
    tz = _zone_of(q.get("timezone"))
    start = (q.get("start") or "")[:40] or None
    day = _date_of(q.get("date")) or (_day_of(start, tz) if start else None)
    # In the pool: a week of slots reads bookings, meetings and calendars' busy times.
    return await in_thread(
        _type_page, request, org_slug, type_slug, tz, day, start, _embed(request)
    )


@router.post("/book/{org_slug}/{type_slug}")
async def book(request: Request, org_slug: str, type_slug: str) -> Response:
    try:
        form = await posted_form(request)
    except CsrfFailed:
        return _expired(request, f"/book/{org_slug[:63]}/{type_slug[:63]}")
    embed = _embed(request, form)
    tz = _zone_of(form.get("timezone"))
    start = form.get("start", "")[:40]
    values = {k: form.get(k, "") for k in FORM_FIELDS}
    data = BookingInput(
        start=start,
        name=values["name"],
        email=values["email"],
        timezone=form.get("timezone", ""),
        notes=values["notes"],
        honeypot=form.get("website", ""),
    )
    c = container(request)
    day = _day_of(start, tz)
    try:
        bk = await in_thread(
            c.bookings.book, org_slug[:63], type_slug[:63], data, origin_of(request)
        )
    except NotFound:
        return _missing(request, embed)
    except Conflict as exc:
        # Taken meanwhile: the same day again, with its fresh times and no slot chosen.
        return await in_thread(
            _type_page,
            request,
            org_slug,
            type_slug,
            tz,
            day,
            None,
            embed,
            409,
            values,
            {},
            _reason(exc),
        )
    except (ValidationFailed, Throttled) as exc:
        return await in_thread(
            _type_page,
            request,
            org_slug,
            type_slug,
            tz,
            day,
            start,
            embed,
            exc.status,
            values,
            field_errors(exc),
        )
    token = c.bookings.manage_token(bk.id)
    to = f"/book/{org_slug[:63]}/{type_slug[:63]}/booked/{bk.id}/{token}"
    return redirect(request, to + _query(embed="1" if embed else None))


def _day_of(start: str, tz: str) -> dt.date | None:
    try:
        at = dt.datetime.fromisoformat(start)
        return at.astimezone(zone(tz)).date() if at.tzinfo else None
    except (ValueError, OverflowError):
        return None


def _reason(exc: DomainError) -> str:
    """The error in words for the booker (without the field name the API shows)."""
    reason = exc.errors[0].reason if exc.errors else exc.message
    return reason[:1].upper() + reason[1:]


def _expired(request: Request, page: str) -> Response:
    return _page(request, "booking_public_expired.html", 403, False, page=page)


def _view(c: Any, bk: Booking) -> dict[str, Any]:
    """What the booker's pages show of a booking as it is now."""
    b = c.bookings.type_of(bk)
    details = c.bookings.public_details(bk)
    return {
        "b": b,
        "bk": bk,
        "host": b.users[bk.host_user_id].name if bk.host_user_id in b.users else "",
        "location": details["location"],
        "join_url": details["join_url"],
        "is_link": str(details["join_url"] or "").startswith(("https://", "http://")),
        "cancelled": bk.status != BookingStatus.CONFIRMED,
        "why_not": c.bookings.changeable_by_booker(bk, b.type),
    }


def _booked(request: Request, org_slug: str, type_slug: str, booking_id: str, token: str) -> Any:
    c = container(request)
    try:
        bk = c.bookings.by_token(booking_id[:64], token[:128])
    except NotFound:
        return None
    view = _view(c, bk)
    if (view["b"].org.slug, view["b"].type.slug) != (org_slug, type_slug):
        return None
    return view


@router.get("/book/{org_slug}/{type_slug}/booked/{booking_id}/{token}")
async def booked(
    request: Request, org_slug: str, type_slug: str, booking_id: str, token: str
) -> Response:
    embed = _embed(request)
    view = await in_thread(_booked, request, org_slug, type_slug, booking_id, token)
    if view is None:
        return _missing(request, embed)
    manage = f"/book/manage/{view['bk'].id}/{token[:128]}"
    return _page(request, "booking_public_done.html", 200, embed, manage=manage, **view)


# ---- the booker's manage page -------------------------------------------------------------


def _manage_page(
    request: Request,
    booking_id: str,
    token: str,
    status: int = 200,
    message: str | None = None,
    start: str | None = None,
    tz: str | None = None,
    asked: dt.date | None = None,
) -> Response:
    c = container(request)
    q = request.query_params
    try:
        bk = c.bookings.by_token(booking_id[:64], token[:128])
    except NotFound:
        resp = _missing(request, False)
        resp.headers["content-security-policy"] = NOT_FRAMED
        return resp
    view = _view(c, bk)
    base = f"/book/manage/{bk.id}/{token[:128]}"
    tz = tz or _zone_of(q.get("timezone") or bk.timezone)
    p = None
    if not view["why_not"]:
        p = _picker(
            request,
            view["b"],
            base,
            tz,
            asked or _date_of(q.get("date")) or bk.start_at.astimezone(zone(tz)).date(),
            start if start is not None else (q.get("start") or "")[:40] or None,
            False,
            exclude=bk.id,
        )
    step = q.get("step") if status == 200 else None
    resp = _page(
        request,
        "booking_public_manage.html",
        status,
        False,
        base=base,
        p=p,
        slot_href=(lambda s: _slot_href(base, p, s, False)) if p else None,
        message=message,
        confirm_cancel=step == "cancel",
        **view,
    )
    resp.headers["content-security-policy"] = NOT_FRAMED
    return resp


@router.get("/book/manage/{booking_id}/{token}")
async def manage(request: Request, booking_id: str, token: str) -> Response:
    return await in_thread(_manage_page, request, booking_id, token)


@router.post("/book/manage/{booking_id}/{token}/reschedule")
async def reschedule(request: Request, booking_id: str, token: str) -> Response:
    base = f"/book/manage/{booking_id[:64]}/{token[:128]}"
    try:
        form = await posted_form(request)
    except CsrfFailed:
        return _expired(request, base)
    c = container(request)
    start = form.get("start", "")[:40]
    tz = _zone_of(form.get("timezone"))
    try:
        bk = await in_thread(
            c.bookings.reschedule_by_token, booking_id[:64], token[:128], start, origin_of(request)
        )
    except NotFound:
        return await in_thread(_manage_page, request, booking_id, token)
    except DomainError as exc:
        # Taken meanwhile, or past the cut-off: the page says why, with the fresh times.
        return await in_thread(
            _manage_page,
            request,
            booking_id,
            token,
            exc.status,
            _reason(exc),
            "",
            tz,
            _day_of(start, tz),
        )
    when = _local(bk.start_at, tz) + f" ({tz})"
    return redirect(request, base + _query(timezone=tz), f"Your booking is moved to {when}.")


@router.post("/book/manage/{booking_id}/{token}/cancel")
async def cancel(request: Request, booking_id: str, token: str) -> Response:
    base = f"/book/manage/{booking_id[:64]}/{token[:128]}"
    try:
        await posted_form(request)
    except CsrfFailed:
        return _expired(request, base)
    c = container(request)
    try:
        await in_thread(
            c.bookings.cancel_by_token, booking_id[:64], token[:128], origin_of(request)
        )
    except NotFound:
        return await in_thread(_manage_page, request, booking_id, token)
    except DomainError as exc:
        return await in_thread(_manage_page, request, booking_id, token, exc.status, _reason(exc))
    return redirect(request, base, "Your booking is cancelled.")
