"""What a workflow step can do. Each action is a form (its fields, checked when the workflow is
saved), the Zoom scopes it needs, what it returns (for later steps' templates) and `run`.

Zoom is reached only through the organisation's account connection (`ZoomPassthrough.for_org`)
or, for meetings, through the meetings service — so a meeting a workflow makes shows on
Meetings, gets its invites, and is never made twice (its id is chosen from the step's row).

At most once at Zoom: a step whose earlier attempt may have reached Zoom (`resumed`, or an
answer that never came) looks its object up before doing it again — the user by e-mail, the
registrant in the meeting's list, the meeting by its chosen id. A generic API call cannot be
looked up: when its outcome is unknown the step fails and says so, rather than repeat it."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError

import meetbridge.integrations.zoom.openapi as openapi
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database
from meetbridge.core.errors import DomainError, Unavailable
from meetbridge.core.models import User
from meetbridge.integrations.zoom.passthrough import CallFailed, ZoomPassthrough, ZoomReply
from meetbridge.meetings.inputs import MeetingInput
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.source import Source, SourceKind
from meetbridge.meetings.status import Status
from meetbridge.notify.outbox import MailDelivery, queue_email
from meetbridge.scheduling.timezones import zone
from meetbridge.workflows.fields import Field

ORIGIN = Origin(via="workflow")
MAX_PAGES = 50  # a list action follows at most this many of Zoom's pages
MEETING_WAIT = dt.timedelta(seconds=5)  # a meeting still being made at Zoom is looked at again
MAX_WAIT = dt.timedelta(days=30)
_MEETING_IDS = uuid.UUID("6f1c9a52-3d4e-4f0b-9a7e-2b8c1d0e5f61")


class StepError(Exception):
    """The step did not work. `kind`: CallFailed's kinds (auth, refresh, scope, refused,
    not_found, rate_limited, unavailable, unclear, not_connected) or "input" / "meeting"."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retry_at: dt.datetime | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind, self.message, self.retry_at, self.request_id = (
            kind,
            message,
            retry_at,
            request_id,
        )

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limited", "unavailable", "unclear_safe")


@dataclass(frozen=True)
class Ok:
    output: Any
    request_id: str | None = None


@dataclass(frozen=True)
class Wait:
    """Not yet: look again at `until` (a meeting still being made, a wait step)."""

    until: dt.datetime
    reason: str


Result = Ok | Wait


@dataclass
class StepContext:
    org_id: str
    org_timezone: str
    run_id: str
    step_id: str  # the step's row: the key of what it makes
    owner: User | None
    zoom: ZoomPassthrough
    meetings: Meetings
    mail: MailDelivery
    db: Database
    now: dt.datetime
    resumed: bool  # an earlier attempt of this step may have reached Zoom
    step_started: dt.datetime | None = None  # when the step's first attempt began
    request_ids: list[str] = field(default_factory=list)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> ZoomReply:
        try:
            reply = self.zoom.for_org(self.org_id, method, path, params=params, body=body)
        except CallFailed as exc:
            raise StepError(
                exc.kind,
                exc.message,
                retry_at=exc.retry_at,
                request_id=exc.request_id,
            ) from None
        if reply.request_id:
            self.request_ids.append(reply.request_id)
        return reply


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    summary: str
    fields: tuple[Field, ...]
    run: Callable[[StepContext, dict[str, Any]], Result]
    # Zoom scopes it needs: each entry is a need met by any one of its names (granular or
    # classic); call_api's come from Zoom's document, per call.
    scopes: tuple[tuple[str, ...], ...] = ()
    output: tuple[str, ...] = ()  # the fields later steps may use
    sample: Callable[[dict[str, Any]], Any] = lambda values: {}
    emits: tuple[str, ...] = ()  # the triggers its effect can fire (cycle check)
    zoom: bool = True

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _need_owner(ctx: StepContext) -> User:
    if ctx.owner is None or not ctx.owner.is_active or not ctx.owner.is_admin:
        raise StepError(
            "input",
            "The workflow's owner is no longer an active admin; give the workflow a new owner.",
        )
    return ctx.owner


# ---- meetings, through the meetings service ---------------------------------------------------


def meeting_id_of(step_id: str, made_before: int = 0) -> str:
    """The id of the meeting a step makes: the same on every attempt (never two); after Zoom
    refused `made_before` of them, the next one's."""
    name = step_id if made_before == 0 else f"{step_id}:{made_before}"
    return str(uuid.uuid5(_MEETING_IDS, name))


def _create_meeting(ctx: StepContext, v: dict[str, Any]) -> Result:
    owner = _need_owner(ctx)
    source = Source(SourceKind.WORKFLOW, ctx.step_id)
    mine = ctx.meetings.list_by_source(ctx.org_id, source)
    live = [m for m in mine if Status(m.status) != Status.FAILED and not Status(m.status).gone]
    if not live and mine and not ctx.resumed:
        raise _not_made(mine[-1])
    if not live:
        # None yet, or the run is retried after Zoom refused one: a new meeting, whose id
        # counts the step's meetings so far (the same on every attempt: never two). A refused
        # one is cancelled (it never existed at Zoom).
        for failed in mine:
            if Status(failed.status) == Status.FAILED:
                with contextlib.suppress(DomainError):  # already cancelled meanwhile
                    ctx.meetings.cancel(owner, failed.id, ORIGIN)
        _schedule(ctx, owner, source, v, meeting_id_of(ctx.step_id, len(mine)))
        mine = ctx.meetings.list_by_source(ctx.org_id, source)
        live = [m for m in mine if not Status(m.status).gone]
    if not live:  # written by a racing attempt and gone since: ask again
        return Wait(ctx.now + MEETING_WAIT, "the meeting is being recorded")
    m = live[-1]
    status = Status(m.status)
    if status == Status.SCHEDULED and m.join_url:
        return Ok(
            {
                "meeting_id": m.id,
                "zoom_id": m.zoom_meeting_id,
                "join_url": m.join_url,
                "topic": m.title,
                "start_at": m.start_at.isoformat(),
                "timezone": m.timezone,
                "duration": m.duration_min,
                "password": m.passcode,
            }
        )
    if status == Status.FAILED:
        raise _not_made(m)
    return Wait(ctx.now + MEETING_WAIT, "Zoom is making the meeting")


def _not_made(m: Any) -> StepError:
    reason = m.last_error or m.status
    # The meetings engine keeps Zoom's refusal in words; a missing scope (4711) is one a
    # re-connect fixes, so the run says so (and is retried when the account reconnects).
    kind = "scope" if "does not contain scopes" in reason else "meeting"
    return StepError(kind, f"Zoom did not make the meeting: {reason}")


def _schedule(
    ctx: StepContext, owner: User, source: Source, v: dict[str, Any], meeting_id: str
) -> None:
    data = MeetingInput(
        title=v["topic"],
        start=v["start"],
        timezone=v["timezone"] or ctx.org_timezone,
        duration=v["duration"],
        agenda=v["agenda"] or "",
        passcode=v["password"],
        waiting_room=bool(v["waiting_room"]),
        join_before_host=bool(v["join_before_host"]),
        registration=bool(v["registration"]),
        invitees=v["invitees"] or [],
        source=source,
        host=v["host"],
    )
    try:
        ctx.meetings.schedule(owner, data, ORIGIN, meeting_id=meeting_id)
    except IntegrityError:
        pass  # a racing attempt wrote it: it is found by its source
    except Unavailable as exc:  # Zoom failing while the host was checked: nothing was made
        raise StepError("unavailable", _words(exc)) from None
    except DomainError as exc:
        raise StepError("input", _words(exc)) from None


def _invite(ctx: StepContext, v: dict[str, Any]) -> Result:
    owner = _need_owner(ctx)
    try:
        added = ctx.meetings.add_invitees(owner, v["meeting"], v["emails"])
    except DomainError as exc:
        raise StepError("input", _words(exc)) from None
    return Ok({"invited": v["emails"], "added": added})


# ---- Zoom users ----------------------------------------------------------------------------


def _user_json(u: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "email", "first_name", "last_name", "display_name", "type", "status")
    return {k: u.get(k) for k in keys}


def _list(ctx: StepContext, path: str, key: str, params: dict[str, Any], limit: int) -> Ok:
    items: list[dict[str, Any]] = []
    token = ""
    total = None
    for _ in range(MAX_PAGES):
        query = dict(params)
        if token:
            query["next_page_token"] = token
        body = ctx.call("GET", path, params=query).body or {}
        items.extend(body.get(key) or [])
        total = body.get("total_records", total)
        token = body.get("next_page_token") or ""
        if not token or len(items) >= limit:
            break
    return Ok({key: items[:limit], "count": min(len(items), limit), "total_records": total})


def _list_users(ctx: StepContext, v: dict[str, Any]) -> Result:
    page = min(300, v["limit"])
    got = _list(ctx, "/users", "users", {"status": v["status"], "page_size": page}, v["limit"])
    got.output["users"] = [_user_json(u) for u in got.output["users"]]
    return got


def _find_user(ctx: StepContext, email: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = ctx.call("GET", f"/users/{email}").body
        return found
    except StepError as exc:
        if exc.kind == "not_found":
            return None
        raise


_USER_TYPES = {"basic": 1, "licensed": 2, "unassigned": 4}


def create_user(ctx: StepContext, v: dict[str, Any]) -> Result:
    # Looked up first, on every attempt: a user made by an attempt whose answer was lost (or by
    # a person meanwhile) is the user this step wanted; Zoom would refuse a second (1005).
    found = _find_user(ctx, v["email"])
    if found is not None:
        return Ok({**_user_json(found), "existed": True})
    info = {
        "email": v["email"],
        "type": _USER_TYPES[v["user_type"]],
        "first_name": v["first_name"] or "",
        "last_name": v["last_name"] or "",
    }
    if v["display_name"]:
        info["display_name"] = v["display_name"]
    if v["password"]:
        info["password"] = v["password"]
    try:
        made = ctx.call("POST", "/users", body={"action": v["how"], "user_info": info}).body
    except StepError as exc:
        if exc.kind == "unclear":
            found = _find_user(ctx, v["email"])
            if found is not None:
                return Ok({**_user_json(found), "existed": False})
            raise StepError("unavailable", exc.message) from None  # not made: safe to repeat
        raise
    return Ok({**_user_json({**info, **(made or {})}), "existed": False})


# ---- meetings and registrants at Zoom --------------------------------------------------------


def _list_meetings(ctx: StepContext, v: dict[str, Any]) -> Result:
    params: dict[str, Any] = {"type": v["type"], "page_size": min(300, v["limit"])}
    if v["from"]:
        params["from"] = v["from"]
    if v["to"]:
        params["to"] = v["to"]
    return _list(ctx, f"/users/{v['user']}/meetings", "meetings", params, v["limit"])


def _registrants(ctx: StepContext, meeting: str, status: str, limit: int) -> Ok:
    params = {"status": status, "page_size": min(300, limit)}
    return _list(ctx, f"/meetings/{meeting}/registrants", "registrants", params, limit)


def _find_registrant(ctx: StepContext, meeting: str, email: str) -> dict[str, Any] | None:
    for status in ("approved", "pending"):
        for r in _registrants(ctx, meeting, status, 10_000).output["registrants"]:
            if str(r.get("email", "")).lower() == email.lower():
                return dict(r)
    return None


def _registrant_json(meeting: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "meeting_id": meeting,
        "registrant_id": r.get("registrant_id") or r.get("id"),
        "email": r.get("email"),
        "join_url": r.get("join_url"),
        "status": r.get("status"),
    }


def _add_registrant(ctx: StepContext, v: dict[str, Any]) -> Result:
    meeting, email = str(v["meeting_id"]), v["email"]
    if ctx.resumed:
        found = _find_registrant(ctx, meeting, email)
        if found is not None:
            return Ok(_registrant_json(meeting, {**found, "email": email}))
    body: dict[str, Any] = {"email": email, "first_name": v["first_name"]}
    if v["last_name"]:
        body["last_name"] = v["last_name"]
    if v["comments"]:
        body["comments"] = v["comments"]
    try:
        made = ctx.call("POST", f"/meetings/{meeting}/registrants", body=body).body or {}
    except StepError as exc:
        if exc.kind == "unclear":
            found = _find_registrant(ctx, meeting, email)
            if found is not None:
                return Ok(_registrant_json(meeting, {**found, "email": email}))
            raise StepError("unavailable", exc.message) from None
        raise
    return Ok(_registrant_json(meeting, {**made, "email": email}))


def _list_registrants(ctx: StepContext, v: dict[str, Any]) -> Result:
    return _registrants(ctx, str(v["meeting_id"]), v["status"], v["limit"])


def _recordings(ctx: StepContext, v: dict[str, Any]) -> Result:
    ref = str(v["meeting_id"])
    # A meeting's UUID that starts with "/" or holds "//" must be encoded twice (Zoom's
    # recordings docs); others once.
    if "/" in ref:
        ref = quote(quote(ref, safe=""), safe="")
    body = ctx.call("GET", f"/meetings/{ref}/recordings").body or {}
    files = [
        {
            k: f.get(k)
            for k in ("id", "file_type", "recording_type", "file_size", "download_url", "status")
        }
        for f in body.get("recording_files") or []
    ]
    return Ok(
        {
            "topic": body.get("topic"),
            "uuid": body.get("uuid"),
            "share_url": body.get("share_url"),
            "total_size": body.get("total_size"),
            "recording_count": body.get("recording_count", len(files)),
            "recording_files": files,
        }
    )


# ---- any Zoom API ------------------------------------------------------------------------------


def _call_api(ctx: StepContext, v: dict[str, Any]) -> Result:
    method, path = v["method"], v["path"]
    try:
        openapi.check_call(method, path, query=v["query"], body=v["body"])
    except openapi.CallRefused as exc:
        raise StepError("input", str(exc)) from None
    if ctx.resumed and method not in ("GET", "HEAD"):
        raise StepError(
            "unclear",
            "An earlier attempt of this call may have reached Zoom and its answer was lost; "
            "meetbridge does not repeat a call it cannot look up. Check at Zoom, then retry.",
        )
    try:
        reply = ctx.call(method, path.removeprefix("/v2"), params=v["query"], body=v["body"])
    except StepError as exc:
        if exc.kind == "unclear":
            exc.message = (
                f"{exc.message}. The call may have reached Zoom; it is not repeated. Check "
                "at Zoom, then retry."
            )
        raise
    return Ok({"status": reply.status, "body": reply.body})


# ---- meetbridge's own ------------------------------------------------------------------------


def _send_email(ctx: StepContext, v: dict[str, Any]) -> Result:
    ids: list[str] = []
    with ctx.db.write() as s:
        for address in v["to"]:
            msg = queue_email(
                s,
                org_id=ctx.org_id,
                dedupe_key=f"workflow:{ctx.step_id}:{address.lower()}",
                to=address,
                template="workflow",
                context={"subject": v["subject"], "text": v["text"]},
            )
            if msg is not None:
                ids.append(msg.id)
    for mid in ids:
        ctx.mail.enqueue(mid)
    return Ok({"sent_to": v["to"], "subject": v["subject"]})


def _wait(ctx: StepContext, v: dict[str, Any]) -> Result:
    if v["until"] is not None:
        until: dt.datetime = v["until"]
        if until.tzinfo is None:
            until = until.replace(tzinfo=zone(v["timezone"] or ctx.org_timezone))
    else:
        # From the step's first attempt: each later look counts from the same start.
        until = (ctx.step_started or ctx.now) + dt.timedelta(minutes=v["minutes"] or 0)
    until = until.astimezone(dt.UTC)
    if until - ctx.now > MAX_WAIT:
        raise StepError("input", "a workflow waits at most 30 days")
    if until > ctx.now:
        return Wait(until, f"waits until {until.isoformat()}")
    return Ok({"waited_until": until.isoformat()})


def _words(exc: DomainError) -> str:
    details = "; ".join(f"{e.field}: {e.reason}" for e in (exc.errors or []))
    # A one-field error's message is already "field: reason".
    return f"{exc.message} ({details})" if details and details != exc.message else exc.message


# ---- the catalogue --------------------------------------------------------------------------

_TZ = Field("timezone", "Time zone", "timezone", help="IANA name; empty: the organisation's")
_LIMIT = Field("limit", "At most", "int", default=300, low=1, high=10_000)
_MEETING_REF = Field(
    "meeting_id", "Zoom meeting ID", required=True, help="e.g. {{ steps.orientation.zoom_id }}"
)

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "zoom.create_meeting",
            "Create meeting",
            "Schedules a Zoom meeting at a set time on a user of the account (a series: loop over"
            " its dates); it shows on Meetings.",
            (
                Field("topic", "Topic", required=True, max_len=200),
                Field("start", "Start", "datetime", required=True, help="YYYY-MM-DD HH:MM"),
                _TZ,
                Field("duration", "Duration (minutes)", "int", default=30, low=1, high=1440),
                Field("host", "Host (Zoom user e-mail or ID)", required=True),
                Field("password", "Passcode", max_len=10, secret=True),
                Field("agenda", "Agenda", max_len=2000),
                Field("waiting_room", "Waiting room", "bool", default=True),
                Field("join_before_host", "Join before host", "bool", default=False),
                Field("registration", "Registration (approve at once)", "bool", default=False),
                Field("invitees", "Invite (e-mails)", "emails", high=500),
            ),
            _create_meeting,
            scopes=(("meeting:write:meeting:admin", "meeting:write:admin"),),
            output=(
                *("meeting_id", "zoom_id", "join_url", "topic", "start_at", "timezone"),
                *("duration", "password"),
            ),
            sample=lambda v: {
                "meeting_id": "00000000-0000-0000-0000-000000000000",
                "zoom_id": 81234567890,
                "join_url": "https://zoom.us/j/81234567890",
                "topic": v.get("topic"),
                "start_at": str(v.get("start")),
                "timezone": v.get("timezone"),
                "duration": v.get("duration"),
                "password": None,
            },
            emits=("meeting.scheduled", "meeting.created"),
        ),
        Action(
            "zoom.list_users",
            "List users",
            "The account's Zoom users, page by page.",
            (
                Field(
                    "status",
                    "Status",
                    "choice",
                    default="active",
                    choices=("active", "inactive", "pending"),
                ),
                _LIMIT,
            ),
            _list_users,
            scopes=(("user:read:list_users:admin", "user:read:admin"),),
            output=("users", "count", "total_records"),
            sample=lambda v: {
                "users": [{"id": "u1", "email": "new.hire@example.com", "type": 1}],
                "count": 1,
                "total_records": 1,
            },
        ),
        Action(
            "zoom.create_user",
            "Create user",
            "Adds a user to the Zoom account (or finds the one with that e-mail).",
            (
                Field("email", "E-mail", "email", required=True),
                Field("first_name", "First name", max_len=64),
                Field("last_name", "Last name", max_len=64),
                Field("display_name", "Display name", max_len=128),
                Field("password", "Password", max_len=32, secret=True, help="with auto create"),
                Field(
                    "user_type",
                    "User type",
                    "choice",
                    default="basic",
                    choices=tuple(_USER_TYPES),
                ),
                Field(
                    "how",
                    "How",
                    "choice",
                    default="create",
                    choices=("create", "autoCreate", "custCreate", "ssoCreate"),
                    help="create: Zoom e-mails the user to confirm",
                ),
            ),
            create_user,
            scopes=(
                ("user:write:user:admin", "user:write:admin"),
                ("user:read:user:admin", "user:read:admin"),
            ),
            output=(
                "id",
                "email",
                "first_name",
                "last_name",
                "display_name",
                "type",
                "status",
                "existed",
            ),
            sample=lambda v: {
                "id": "sample-user",
                "email": v.get("email"),
                "first_name": v.get("first_name"),
                "last_name": v.get("last_name"),
                "display_name": v.get("display_name"),
                "type": _USER_TYPES.get(str(v.get("user_type")), 1),
                "status": "pending",
                "existed": False,
            },
        ),
        Action(
            "zoom.list_meetings",
            "List meetings",
            "A user's meetings at Zoom, by type and dates.",
            (
                Field("user", "User (e-mail, ID or me)", required=True),
                Field(
                    "type",
                    "Type",
                    "choice",
                    default="scheduled",
                    choices=(
                        "scheduled",
                        "live",
                        "upcoming",
                        "upcoming_meetings",
                        "previous_meetings",
                    ),
                ),
                Field("from", "From (YYYY-MM-DD)"),
                Field("to", "To (YYYY-MM-DD)"),
                _LIMIT,
            ),
            _list_meetings,
            scopes=(("meeting:read:list_meetings:admin", "meeting:read:admin"),),
            output=("meetings", "count", "total_records"),
            sample=lambda v: {"meetings": [], "count": 0, "total_records": 0},
        ),
        Action(
            "zoom.add_registrant",
            "Add meeting registrant",
            "Registers a person for a meeting (which must take registrants).",
            (
                _MEETING_REF,
                Field("email", "E-mail", "email", required=True),
                Field("first_name", "First name", required=True, max_len=64),
                Field("last_name", "Last name", max_len=64),
                Field("comments", "Comments", max_len=500),
            ),
            _add_registrant,
            scopes=(
                ("meeting:write:registrant:admin", "meeting:write:admin"),
                ("meeting:read:list_registrants:admin", "meeting:read:admin"),
            ),
            output=("meeting_id", "registrant_id", "email", "join_url", "status"),
            sample=lambda v: {
                "meeting_id": v.get("meeting_id"),
                "registrant_id": "sample",
                "email": v.get("email"),
                "join_url": "https://zoom.us/w/81234567890?tk=sample",
                "status": "approved",
            },
            emits=("zoom:meeting.registration_created",),
        ),
        Action(
            "zoom.list_registrants",
            "List meeting registrants",
            "A meeting's registrants, by status.",
            (
                _MEETING_REF,
                Field(
                    "status",
                    "Status",
                    "choice",
                    default="approved",
                    choices=("pending", "approved", "denied"),
                ),
                _LIMIT,
            ),
            _list_registrants,
            scopes=(("meeting:read:list_registrants:admin", "meeting:read:admin"),),
            output=("registrants", "count", "total_records"),
            sample=lambda v: {"registrants": [], "count": 0, "total_records": 0},
        ),
        Action(
            "zoom.get_recordings",
            "Get meeting recordings",
            "A meeting's cloud recordings.",
            (Field("meeting_id", "Zoom meeting ID or UUID", required=True),),
            _recordings,
            scopes=(("cloud_recording:read:list_recording_files:admin", "recording:read:admin"),),
            output=(
                "topic",
                "uuid",
                "share_url",
                "total_size",
                "recording_count",
                "recording_files",
            ),
            sample=lambda v: {
                "topic": "Sample",
                "uuid": "sample==",
                "share_url": "https://zoom.us/rec/share/sample",
                "total_size": 0,
                "recording_count": 0,
                "recording_files": [],
            },
        ),
        Action(
            "zoom.call_api",
            "Call API",
            "Any Zoom API call, checked against Zoom's API document before it is sent.",
            (
                Field(
                    "method",
                    "Method",
                    "choice",
                    required=True,
                    default="GET",
                    choices=("GET", "POST", "PATCH", "PUT", "DELETE"),
                ),
                Field("path", "Path", required=True, max_len=500, help="/v2/…"),
                Field("query", "Query (JSON object)", "json"),
                Field("body", "Body (JSON)", "json"),
            ),
            _call_api,
            output=("status", "body"),
            sample=lambda v: {"status": 200, "body": {}},
        ),
        Action(
            "email.send",
            "Send an e-mail",
            "An e-mail with the step's own subject and text (templates), from meetbridge.",
            (
                Field("to", "To", "emails", required=True, high=100),
                Field("subject", "Subject", required=True, max_len=200),
                Field("text", "Text", required=True, max_len=20_000),
            ),
            _send_email,
            output=("sent_to", "subject"),
            sample=lambda v: {"sent_to": v.get("to"), "subject": v.get("subject")},
            zoom=False,
        ),
        Action(
            "meeting.invite",
            "Invite people to a meeting",
            "Adds invitees to a meetbridge meeting: they get the e-mail and calendar invite.",
            (
                Field("meeting", "Meeting (meetbridge ID)", required=True),
                Field("emails", "E-mails", "emails", required=True, high=500),
            ),
            _invite,
            output=("invited", "added"),
            sample=lambda v: {"invited": v.get("emails"), "added": len(v.get("emails") or [])},
            zoom=False,
        ),
        Action(
            "wait.until",
            "Wait until",
            "Waits until a time, or for some minutes, before the next step.",
            (
                Field("until", "Until", "datetime", help="YYYY-MM-DD HH:MM"),
                _TZ,
                Field("minutes", "Or minutes", "int", low=0, high=43_200),
            ),
            _wait,
            output=("waited_until",),
            sample=lambda v: {"waited_until": str(v.get("until") or "")},
            zoom=False,
        ),
    )
}
