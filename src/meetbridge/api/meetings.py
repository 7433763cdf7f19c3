"""Meetings under /api/v1/meetings: schedule, change, cancel, retry, invite, host link."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from meetbridge.api.deps import ERRORS, REPLAYED, Actor, C, Caller, From, IdempotencyKeyHeader
from meetbridge.api.schemas import Agenda, Duration, Emails, Input, Passcode, Title, ZoneName
from meetbridge.meetings.inputs import ID_MAX, MeetingChanges, MeetingInput
from meetbridge.meetings.status import Status

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["meetings"])


class MeetingIn(Input):
    platform: Literal["zoom"] = "zoom"
    title: Title
    start: dt.datetime = Field(
        description="Wall-clock time in `timezone` (no offset), or a time with an offset"
    )
    timezone: ZoneName | None = Field(None, description="Default: yours")
    duration: Duration
    agenda: Agenda = ""
    passcode: Passcode | None = None
    waiting_room: bool = True
    join_before_host: bool = False
    project_id: str | None = Field(None, max_length=ID_MAX)
    invitees: Emails = Field(default_factory=list)
    host_zoom_user_id: str | None = Field(
        None,
        max_length=64,
        description="Schedule for this user of the organisation's Zoom account (admins, or "
        "members the admin allows; GET /api/v1/zoom/hosts lists them). Default: your own Zoom",
    )
    host_email: str | None = Field(
        None, max_length=254, description="The same, by the Zoom user's e-mail"
    )


class MeetingPatch(Input):
    title: Title | None = None
    start: dt.datetime | None = None
    timezone: ZoneName | None = None
    duration: Duration | None = None
    agenda: Agenda | None = None


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    project_id: str | None
    host_user_id: str
    title: str
    agenda: str
    start_at: dt.datetime
    duration_min: int
    timezone: str
    waiting_room: bool
    join_before_host: bool
    status: str
    zoom_meeting_id: int | None
    join_url: str | None
    zoom_host_id: str | None = Field(
        None, description="The Zoom user hosting it, when scheduled through the account"
    )
    zoom_host_email: str | None = None
    sequence: int
    last_error: str | None
    last_synced_at: dt.datetime | None
    created_at: dt.datetime
    host_zoom: Literal["connected", "needs_reconnect", "not_connected"] = Field(
        "connected",
        description="Whether Zoom can be reached for this meeting through its host's "
        "connection; when not, it cannot be edited, and a cancel tells the invitees but "
        "leaves the meeting in Zoom",
    )

    @model_validator(mode="after")
    def _no_link_once_cancelled(self) -> MeetingOut:
        # A cancelled meeting's link leads nowhere (the CLI and the pages hide it too).
        if Status(self.status).gone:
            self.join_url = None
        return self


def _out(c: Any, meetings: list[Any]) -> list[MeetingOut]:
    """Meetings with their host's Zoom state (one read for all)."""
    states = c.meetings.host_zoom(meetings)
    return [
        MeetingOut.model_validate(m).model_copy(update={"host_zoom": states[m.id]})
        for m in meetings
    ]


class InviteesIn(Input):
    emails: Emails = Field(min_length=1)


class HostLinkOut(BaseModel):
    start_url: str


@router.get("/meetings", response_model=list[MeetingOut])
async def list_meetings(
    c: C,
    actor: Actor,
    when: Literal["upcoming", "past", "cancelled"] = "upcoming",
    project_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[object]:
    return list(_out(c, c.meetings.list_meetings(actor, when=when, project_id=project_id)))


@router.post("/meetings", response_model=MeetingOut, status_code=202)
def schedule(
    body: MeetingIn,
    c: C,
    caller: Caller,
    origin: From,
    idempotency_key: IdempotencyKeyHeader = None,
) -> object:
    """Records the meeting and creates it in your Zoom in the background: `status` is
    "creating" until Zoom has it, then "scheduled" with `join_url`.

    Send an `Idempotency-Key` (a UUID of yours) to retry safely: the same key and body give
    the meeting the first request made (`Idempotent-Replayed: true`), never a second one."""
    actor = caller.user
    data = MeetingInput(
        title=body.title,
        start=body.start,
        timezone=body.timezone or actor.timezone,
        duration=body.duration,
        agenda=body.agenda,
        passcode=body.passcode,
        waiting_room=body.waiting_room,
        join_before_host=body.join_before_host,
        project_id=body.project_id,
        invitees=body.invitees,
        host=body.host_zoom_user_id or body.host_email,
    )
    m, replayed = c.idempotency.create(
        actor.id,
        "meetings",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda mid: c.meetings.schedule(
            actor, data, origin, token_id=caller.token_id, meeting_id=mid
        ),
        lambda mid: c.meetings.get(actor, mid),
    )
    # Serialised here, in the request's thread: for a plain `def` endpoint FastAPI would
    # check the returned object against the response model in a second trip to the pool.
    return Response(
        MeetingOut.model_validate(m).model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers=REPLAYED if replayed else None,
    )


@router.get("/meetings/{meeting_id}", response_model=MeetingOut)
async def get_meeting(meeting_id: str, c: C, actor: Actor) -> object:
    return _out(c, [c.meetings.get(actor, meeting_id)])[0]


@router.patch("/meetings/{meeting_id}", response_model=MeetingOut, status_code=202)
def update_meeting(meeting_id: str, body: MeetingPatch, c: C, actor: Actor, origin: From) -> object:
    m = c.meetings.update(
        actor,
        meeting_id,
        MeetingChanges(
            title=body.title,
            start=body.start,
            timezone=body.timezone,
            duration=body.duration,
            agenda=body.agenda,
        ),
        origin,
    )
    return _out(c, [m])[0]


@router.delete("/meetings/{meeting_id}", response_model=MeetingOut, status_code=202)
def cancel_meeting(meeting_id: str, c: C, actor: Actor, origin: From) -> object:
    return _out(c, [c.meetings.cancel(actor, meeting_id, origin)])[0]


@router.post("/meetings/{meeting_id}/retry", response_model=MeetingOut, status_code=202)
def retry_meeting(meeting_id: str, c: C, actor: Actor) -> object:
    return _out(c, [c.meetings.retry(actor, meeting_id)])[0]


@router.post("/meetings/{meeting_id}/invitees", status_code=204)
def invite(meeting_id: str, body: InviteesIn, c: C, actor: Actor) -> Response:
    c.meetings.add_invitees(actor, meeting_id, body.emails)
    return Response(status_code=204)


@router.post("/meetings/{meeting_id}/host-link", response_model=HostLinkOut)
def host_link(meeting_id: str, c: C, actor: Actor, origin: From) -> HostLinkOut:
    """A fresh host link from Zoom (a credential: it is never stored; the request is audited)."""
    return HostLinkOut(start_url=c.meetings.host_link(actor, meeting_id, origin))
