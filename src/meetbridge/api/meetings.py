"""Meetings under /api/v1/meetings: schedule, change, cancel, retry, invite, host link."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from meetbridge.api.deps import ERRORS, Actor, C, Caller, From
from meetbridge.api.schemas import Agenda, Duration, Emails, Input, Passcode, Title, ZoneName
from meetbridge.meetings.inputs import ID_MAX, MeetingChanges, MeetingInput

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
    sequence: int
    last_error: str | None
    last_synced_at: dt.datetime | None
    created_at: dt.datetime


class InviteesIn(Input):
    emails: Emails = Field(min_length=1)


class HostLinkOut(BaseModel):
    start_url: str


@router.get("/meetings", response_model=list[MeetingOut])
async def list_meetings(
    c: C,
    actor: Actor,
    when: Literal["upcoming", "past"] = "upcoming",
    project_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[object]:
    return list(c.meetings.list_meetings(actor, when=when, project_id=project_id))


@router.post("/meetings", response_model=MeetingOut, status_code=202)
def schedule(body: MeetingIn, c: C, caller: Caller, origin: From) -> object:
    """Records the meeting and creates it in your Zoom in the background: `status` is
    "creating" until Zoom has it, then "scheduled" with `join_url`."""
    actor = caller.user
    m = c.meetings.schedule(
        actor,
        MeetingInput(
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
        ),
        origin,
        token_id=caller.token_id,
    )
    # Serialised here, in the request's thread: for a plain `def` endpoint FastAPI would
    # check the returned object against the response model in a second trip to the pool.
    return Response(
        MeetingOut.model_validate(m).model_dump_json(),
        status_code=202,
        media_type="application/json",
    )


@router.get("/meetings/{meeting_id}", response_model=MeetingOut)
async def get_meeting(meeting_id: str, c: C, actor: Actor) -> object:
    return c.meetings.get(actor, meeting_id)


@router.patch("/meetings/{meeting_id}", response_model=MeetingOut, status_code=202)
def update_meeting(meeting_id: str, body: MeetingPatch, c: C, actor: Actor, origin: From) -> object:
    return c.meetings.update(
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


@router.delete("/meetings/{meeting_id}", response_model=MeetingOut, status_code=202)
def cancel_meeting(meeting_id: str, c: C, actor: Actor, origin: From) -> object:
    return c.meetings.cancel(actor, meeting_id, origin)


@router.post("/meetings/{meeting_id}/retry", response_model=MeetingOut, status_code=202)
def retry_meeting(meeting_id: str, c: C, actor: Actor) -> object:
    return c.meetings.retry(actor, meeting_id)


@router.post("/meetings/{meeting_id}/invitees", status_code=204)
def invite(meeting_id: str, body: InviteesIn, c: C, actor: Actor) -> Response:
    c.meetings.add_invitees(actor, meeting_id, body.emails)
    return Response(status_code=204)


@router.post("/meetings/{meeting_id}/host-link", response_model=HostLinkOut)
def host_link(meeting_id: str, c: C, actor: Actor, origin: From) -> HostLinkOut:
    """A fresh host link from Zoom (a credential: it is never stored; the request is audited)."""
    return HostLinkOut(start_url=c.meetings.host_link(actor, meeting_id, origin))
