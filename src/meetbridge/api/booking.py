"""Booking under /api/v1: meeting types (admins), each member's availability and calendars,
the bookings (list, CSV, reschedule, cancel, reassign), and the public endpoints a booking
page uses without signing in (a type's slots, booking one, managing it by its secret link)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from meetbridge.api.deps import ERRORS, Actor, C, From, TimeFrom, TimeTo
from meetbridge.api.schemas import Input
from meetbridge.booking import inputs as bi
from meetbridge.booking.service import Bookable
from meetbridge.booking.tables import Booking
from meetbridge.booking.types import TypeView
from meetbridge.core.errors import Conflict, ValidationFailed
from meetbridge.scheduling.slots import Slot

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["booking"])
public = APIRouter(prefix="/api/v1/public", responses=ERRORS, tags=["public booking"])

Minutes = Annotated[int, Field(strict=True, ge=0, le=bi.NOTICE_MAX)]
AssignmentName = Literal["one", "round_robin", "collective"]
FallbackName = Literal["none", "jitsi", "link", "phone", "in_person"]


class TypeMemberIn(Input):
    user_id: str = Field(max_length=36)
    weight: int = Field(1, strict=True, ge=1, le=bi.WEIGHT_MAX)
    priority: int = Field(1, strict=True, ge=0, le=bi.PRIORITY_MAX, description="2 high … 0 low")


class MeetingTypeIn(Input):
    name: str = Field(min_length=1, max_length=bi.NAME_MAX)
    slug: str = Field(pattern=bi.SLUG_PATTERN, max_length=bi.SLUG_MAX)
    duration: int = Field(strict=True, ge=bi.DURATION_MIN, le=bi.DURATION_MAX)
    assignment: AssignmentName = "one"
    members: list[TypeMemberIn] = Field(default_factory=list, max_length=bi.MEMBERS_MAX)
    description: str = Field("", max_length=bi.DESCRIPTION_MAX)
    buffer_before: int = Field(0, strict=True, ge=0, le=bi.BUFFER_MAX)
    buffer_after: int = Field(0, strict=True, ge=0, le=bi.BUFFER_MAX)
    min_notice: int = Field(0, strict=True, ge=0, le=bi.NOTICE_MAX)
    horizon_days: int = Field(60, strict=True, ge=bi.HORIZON_MIN, le=bi.HORIZON_MAX)
    interval: int | None = Field(None, strict=True, ge=bi.INTERVAL_MIN, le=bi.INTERVAL_MAX)
    daily_cap: int | None = Field(None, strict=True, ge=1, le=bi.CAP_MAX)
    reminders: list[Annotated[int, Field(strict=True, ge=bi.REMINDER_MIN, le=bi.REMINDER_MAX)]] = (
        Field(default_factory=list, max_length=bi.REMINDERS_MAX, description="Minutes before")
    )
    cutoff: int = Field(0, strict=True, ge=0, le=bi.CUTOFF_MAX)
    fallback: FallbackName = "none"
    fallback_value: str = Field("", max_length=bi.FALLBACK_VALUE_MAX)
    show_members: bool = False

    def to_input(self) -> bi.MeetingTypeInput:
        data = self.model_dump()
        data["members"] = [bi.TypeMember(**m) for m in data["members"]]
        return bi.MeetingTypeInput(**data)


class TypeMemberOut(BaseModel):
    user_id: str
    weight: int
    priority: int


class MeetingTypeOut(BaseModel):
    id: str
    name: str
    slug: str
    description: str
    duration: int
    assignment: str
    members: list[TypeMemberOut]
    buffer_before: int
    buffer_after: int
    min_notice: int
    horizon_days: int
    interval: int
    daily_cap: int | None
    reminders: list[int]
    cutoff: int
    fallback: str
    fallback_value: str
    show_members: bool
    published: bool
    booking_url: str


class PublishIn(Input):
    published: bool


def _type_out(c: Any, org_slug: str, v: TypeView) -> MeetingTypeOut:
    t = v.type
    return MeetingTypeOut(
        id=t.id,
        name=t.name,
        slug=t.slug,
        description=t.description,
        duration=t.duration_min,
        assignment=t.assignment,
        members=[
            TypeMemberOut(user_id=m.user_id, weight=m.weight, priority=m.priority)
            for m in v.members
        ],
        buffer_before=t.buffer_before_min,
        buffer_after=t.buffer_after_min,
        min_notice=t.min_notice_min,
        horizon_days=t.horizon_days,
        interval=t.interval_min,
        daily_cap=t.daily_cap,
        reminders=list(t.reminders_min or []),
        cutoff=t.cutoff_min,
        fallback=t.fallback,
        fallback_value=t.fallback_value,
        show_members=t.show_members,
        published=t.published,
        booking_url=f"{c.settings.effective_base_url}/book/{org_slug}/{t.slug}",
    )


@router.get("/meeting-types", response_model=list[MeetingTypeOut])
def list_meeting_types(c: C, actor: Actor) -> list[MeetingTypeOut]:
    return [_type_out(c, actor.org.slug, v) for v in c.meeting_types.all(actor)]


@router.post("/meeting-types", response_model=MeetingTypeOut, status_code=201)
def create_meeting_type(body: MeetingTypeIn, c: C, actor: Actor, origin: From) -> MeetingTypeOut:
    return _type_out(c, actor.org.slug, c.meeting_types.create(actor, body.to_input(), origin))


@router.get("/meeting-types/{type_id}", response_model=MeetingTypeOut)
def get_meeting_type(type_id: str, c: C, actor: Actor) -> MeetingTypeOut:
    return _type_out(c, actor.org.slug, c.meeting_types.get(actor, type_id))


@router.put("/meeting-types/{type_id}", response_model=MeetingTypeOut)
def update_meeting_type(
    type_id: str, body: MeetingTypeIn, c: C, actor: Actor, origin: From
) -> MeetingTypeOut:
    view = c.meeting_types.update(actor, type_id, body.to_input(), origin)
    return _type_out(c, actor.org.slug, view)


@router.post("/meeting-types/{type_id}/publish", response_model=MeetingTypeOut)
def publish_meeting_type(
    type_id: str, body: PublishIn, c: C, actor: Actor, origin: From
) -> MeetingTypeOut:
    view = c.meeting_types.publish(actor, type_id, body.published, origin)
    return _type_out(c, actor.org.slug, view)


@router.delete("/meeting-types/{type_id}", status_code=204)
def delete_meeting_type(type_id: str, c: C, actor: Actor, origin: From) -> Response:
    c.meeting_types.delete(actor, type_id, origin)
    return Response(status_code=204)


# ---- availability ---------------------------------------------------------------------------

Range = Annotated[
    list[Annotated[int, Field(strict=True, ge=0, le=1440)]], Field(min_length=2, max_length=2)
]
DayRanges = Annotated[list[Range], Field(max_length=bi.RANGES_PER_DAY_MAX)]


class AvailabilityIn(Input):
    timezone: str = Field(max_length=64)
    weekly: dict[str, DayRanges] = Field(
        description='Weekday "0" (Monday) … "6" → [[start, end], …] in minutes after midnight',
        max_length=7,
    )
    overrides: dict[str, DayRanges] = Field(
        default_factory=dict,
        description='"YYYY-MM-DD" → ranges; [] = a day off',
        max_length=bi.OVERRIDES_MAX,
    )
    location: Literal["zoom", "link", "phone", "in_person"] = "zoom"
    location_value: str = Field("", max_length=bi.FALLBACK_VALUE_MAX)


class AvailabilityOut(BaseModel):
    user_id: str
    timezone: str
    weekly: dict[str, list[list[int]]]
    overrides: dict[str, list[list[int]]]
    location: str
    location_value: str
    zoom: str


def _availability_out(c: Any, row: Any) -> AvailabilityOut:
    zoom = c.meetings.zoom_of_hosts([row.user_id]).get(row.user_id)
    return AvailabilityOut(
        user_id=row.user_id,
        timezone=row.timezone,
        weekly=row.weekly,
        overrides=row.overrides,
        location=row.location,
        location_value=row.location_value,
        zoom=str(zoom),
    )


@router.get("/members/{user_id}/availability", response_model=AvailabilityOut)
def get_availability(user_id: str, c: C, actor: Actor) -> AvailabilityOut:
    return _availability_out(c, c.availability.get(actor, user_id))


@router.put("/members/{user_id}/availability", response_model=AvailabilityOut)
def set_availability(
    user_id: str, body: AvailabilityIn, c: C, actor: Actor, origin: From
) -> AvailabilityOut:
    data = bi.AvailabilityInput(**body.model_dump())
    return _availability_out(c, c.availability.set(actor, user_id, data, origin))


class CalendarIn(Input):
    kind: Literal["feed", "caldav"]
    url: str = Field(min_length=1, max_length=2000)
    username: str = Field("", max_length=200)
    password: str = Field("", max_length=500)


class CalendarOut(BaseModel):
    id: str
    kind: str
    url: str
    username: str
    last_read_at: dt.datetime | None
    last_error: str | None


def _calendar_out(row: Any) -> CalendarOut:
    return CalendarOut(
        id=row.id,
        kind=row.kind,
        url=row.url,
        username=row.username,
        last_read_at=row.last_read_at,
        last_error=row.last_error,
    )


@router.get("/members/{user_id}/calendars", response_model=list[CalendarOut])
def list_calendars(user_id: str, c: C, actor: Actor) -> list[CalendarOut]:
    return [_calendar_out(r) for r in c.availability.list_calendars(actor, user_id)]


@router.post("/members/{user_id}/calendars", response_model=CalendarOut, status_code=201)
def add_calendar(user_id: str, body: CalendarIn, c: C, actor: Actor, origin: From) -> CalendarOut:
    row = c.availability.add_calendar(
        actor, user_id, body.kind, body.url, origin, body.username, body.password
    )
    return _calendar_out(row)


@router.delete("/calendars/{calendar_id}", status_code=204)
def remove_calendar(calendar_id: str, c: C, actor: Actor, origin: From) -> Response:
    c.availability.remove_calendar(actor, calendar_id, origin)
    return Response(status_code=204)


# ---- bookings -------------------------------------------------------------------------------


class AttentionOut(BaseModel):
    reason: str
    since: str


class BookingOut(BaseModel):
    id: str
    type: str
    type_id: str
    start: str
    end: str
    timezone: str
    status: str
    host_id: str
    host: str
    members: list[str]
    booker_name: str
    booker_email: str
    location: str
    fallback_used: bool
    location_value: str
    zoom_meeting_id: int | None
    join_url: str | None
    meeting_status: str | None
    link_state: str
    assignment_reason: str
    attention: AttentionOut | None = Field(
        description="Why a person should look at it (plain words), or null"
    )
    created_at: str


class RescheduleIn(Input):
    start: dt.datetime = Field(description="The new start, with its offset")


Filter = Annotated[str | None, Query(max_length=36)]
StatusFilter = Annotated[Literal["confirmed", "cancelled"] | None, Query()]


def _found(
    c: C,
    actor: Actor,
    member_id: Filter = None,
    type_id: Filter = None,
    status: StatusFilter = None,
    start: TimeFrom = None,
    end: TimeTo = None,
    attention: Annotated[bool | None, Query(description="Only those needing attention")] = None,
) -> list[Booking]:
    """The bookings the list and its CSV show, by the same filters."""
    return list(
        c.bookings.find(
            actor,
            member_id=member_id,
            type_id=type_id,
            status=status,
            start=start,
            end=end,
            attention=attention,
        )
    )


Found = Annotated[list[Booking], Depends(_found)]


@router.get("/bookings", response_model=list[BookingOut])
def list_bookings(c: C, actor: Actor, rows: Found) -> list[dict[str, Any]]:
    return c.bookings.details(actor, rows)


@router.get("/bookings.csv", response_class=Response)
def export_bookings(c: C, actor: Actor, rows: Found) -> Response:
    return Response(
        c.bookings.csv(actor, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="bookings.csv"'},
    )


@router.get("/bookings/{booking_id}", response_model=BookingOut)
def get_booking(booking_id: str, c: C, actor: Actor) -> dict[str, Any]:
    return c.bookings.details(actor, [c.bookings.get(actor, booking_id)])[0]


@router.post("/bookings/{booking_id}/reschedule", response_model=BookingOut)
def reschedule_booking(
    booking_id: str, body: RescheduleIn, c: C, actor: Actor, origin: From
) -> dict[str, Any]:
    start = bi.instant("start", body.start.isoformat())
    bk = c.bookings.reschedule(actor, booking_id, start, origin)
    return c.bookings.details(actor, [bk])[0]


@router.post("/bookings/{booking_id}/attention/seen", response_model=BookingOut)
def booking_attention_seen(booking_id: str, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    """What it needed attention for was looked at: not shown again until something new."""
    return c.bookings.details(actor, [c.bookings.attention_seen(actor, booking_id, origin)])[0]


@router.post("/bookings/{booking_id}/cancel", response_model=BookingOut)
def cancel_booking(booking_id: str, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    return c.bookings.details(actor, [c.bookings.cancel(actor, booking_id, origin)])[0]


@router.post("/bookings/{booking_id}/reassign", response_model=BookingOut)
def reassign_booking(booking_id: str, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    return c.bookings.details(actor, [c.bookings.reassign(actor, booking_id, origin)])[0]


# ---- public -----------------------------------------------------------------------------------


class PublicMember(BaseModel):
    name: str


class PublicTypeOut(BaseModel):
    organisation: str
    name: str
    description: str
    duration: int
    assignment: str
    members: list[PublicMember] | None = Field(description="Only when the type shows them")


class SlotOut(BaseModel):
    start: str
    end: str
    members: list[PublicMember] | None = None


class BookIn(Input):
    start: str = Field(max_length=40, description="A slot's start, as the slot list gives it")
    name: str = Field(max_length=bi.NAME_MAX)
    email: str = Field(max_length=bi.EMAIL_MAX)
    timezone: str = Field(max_length=64)
    notes: str = Field("", max_length=bi.NOTES_MAX)
    website: str = Field("", max_length=200, description="Leave empty (a trap for robots)")


class PublicBookingOut(BaseModel):
    id: str
    type: str
    start: str
    end: str
    timezone: str
    status: str
    host: str
    location: str
    join_url: str | None
    link_state: str
    manage_url: str | None = None
    can_change: bool
    why_not: str | None


def slots_out(b: Bookable, found: list[Slot]) -> list[SlotOut]:
    names = {u: PublicMember(name=user.name) for u, user in b.users.items()}
    return [
        SlotOut(
            start=s.start.isoformat(),
            end=s.end.isoformat(),
            members=[names[m] for m in s.members] if b.type.show_members else None,
        )
        for s in found
    ]


def _when(name: str, value: str | None, default: dt.datetime) -> dt.datetime:
    return bi.instant(name, value) if value else default


@public.get("/{org}/{slug}", response_model=PublicTypeOut)
def public_type(org: str, slug: str, c: C) -> PublicTypeOut:
    b = c.bookings.bookable(org[:63], slug[:63])
    return PublicTypeOut(
        organisation=b.org.name,
        name=b.type.name,
        description=b.type.description,
        duration=b.type.duration_min,
        assignment=b.type.assignment,
        members=[PublicMember(name=b.users[m.user_id].name) for m in b.members]
        if b.type.show_members
        else None,
    )


@public.get("/{org}/{slug}/slots", response_model=list[SlotOut])  # the shape, documented
def public_slots(
    org: str,
    slug: str,
    c: C,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
) -> Any:
    """The free slots between `from` and `to` (ISO 8601 with offsets; default: the next 7
    days). `timezone` is the booker's (checked; the times carry their offsets)."""
    bi.zone_name("timezone", timezone)
    b = c.bookings.bookable(org[:63], slug[:63])
    now = c.clock.now()
    lo = _when("from", start, now)
    hi = _when("to", end, lo + dt.timedelta(days=7))
    found = c.bookings.slots(b, lo, hi)
    # Up to thousands of slots: written as plain JSON, not validated again as models (a
    # third of the call at 50 members); the shape is SlotOut's.
    if b.type.show_members:
        return slots_out(b, found)
    return JSONResponse(
        [{"start": s.start.isoformat(), "end": s.end.isoformat(), "members": None} for s in found]
    )


def booking_out(
    c: Any, bk: Booking, with_link: bool = False, b: Bookable | None = None
) -> PublicBookingOut:
    b = b or c.bookings.type_of(bk)
    details = c.bookings.public_details(bk)
    return PublicBookingOut(
        id=bk.id,
        type=b.type.name,
        start=bk.start_at.isoformat(),
        end=bk.end_at.isoformat(),
        timezone=bk.timezone,
        status=bk.status,
        host=b.users[bk.host_user_id].name if bk.host_user_id in b.users else "",
        location=details["location"],
        join_url=details["join_url"],
        link_state=bk.link_state,
        manage_url=c.bookings.manage_url(bk.id) if with_link else None,
        can_change=c.bookings.changeable_by_booker(bk, b.type) is None,
        why_not=c.bookings.changeable_by_booker(bk, b.type),
    )


def _taken(c: Any, b: Bookable, exc: Conflict, around: dt.datetime | None) -> JSONResponse:
    """A 409 for a slot not offered (any more), with fresh slots around it."""
    now = c.clock.now()
    lo = max(now, (around or now) - dt.timedelta(days=1))
    if lo > now + dt.timedelta(days=b.type.horizon_days - 1):
        lo = now  # asked beyond the window: the first free slots instead
    fresh = slots_out(b, c.bookings.slots(b, lo, lo + dt.timedelta(days=7)))[:50]
    fields = [{"field": e.field, "reason": e.reason} for e in exc.errors]
    return JSONResponse(
        {
            "error": {"code": exc.code, "message": exc.message, "fields": fields},
            "slots": [s.model_dump() for s in fresh],
        },
        status_code=409,
    )


@public.post(
    "/{org}/{slug}/bookings",
    response_model=PublicBookingOut,
    status_code=201,
    responses={409: {"description": "The slot is not offered; fresh `slots` come with it"}},
)
def public_book(org: str, slug: str, body: BookIn, c: C, origin: From) -> Any:
    data = bi.BookingInput(
        start=body.start,
        name=body.name,
        email=body.email,
        timezone=body.timezone,
        notes=body.notes,
        honeypot=body.website,
    )
    b = c.bookings.bookable(org[:63], slug[:63])
    try:
        bk = c.bookings.book_on(b, data, origin)
    except Conflict as exc:
        try:
            around = bi.instant("start", body.start)
        except ValidationFailed:
            around = None
        return _taken(c, b, exc, around)
    return booking_out(c, bk, with_link=True, b=b)


@public.get("/manage/{booking_id}/{token}", response_model=PublicBookingOut)
def public_booking(booking_id: str, token: str, c: C) -> PublicBookingOut:
    return booking_out(c, c.bookings.by_token(booking_id[:64], token[:128]))


class PublicRescheduleIn(Input):
    start: str = Field(max_length=40)


@public.post("/manage/{booking_id}/{token}/reschedule", response_model=PublicBookingOut)
def public_reschedule(
    booking_id: str, token: str, body: PublicRescheduleIn, c: C, origin: From
) -> Any:
    booking_id, token = booking_id[:64], token[:128]
    try:
        bk = c.bookings.reschedule_by_token(booking_id, token, body.start, origin)
    except Conflict as exc:
        if exc.errors and exc.errors[0].field == "start":
            bk = c.bookings.by_token(booking_id, token)
            return _taken(c, c.bookings.type_of(bk), exc, bk.start_at)
        raise
    return booking_out(c, bk)


@public.post("/manage/{booking_id}/{token}/cancel", response_model=PublicBookingOut)
def public_cancel(booking_id: str, token: str, c: C, origin: From) -> PublicBookingOut:
    return booking_out(c, c.bookings.cancel_by_token(booking_id[:64], token[:128], origin))
