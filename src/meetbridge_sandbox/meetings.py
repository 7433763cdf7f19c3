"""Meetings: create, read, list, update (raising meeting.updated with what changed), delete;
Zoom's field rules; the join and start links."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import zoneinfo
from typing import Any

from meetbridge_sandbox import events
from meetbridge_sandbox.access import Access
from meetbridge_sandbox.base import Caller
from meetbridge_sandbox.errors import ZoomError, invalid
from meetbridge_sandbox.rules import OPERATIONS, allowed_by
from meetbridge_sandbox.state import UTC, Meeting, User

START_URL_TTL = 2 * 3600
PASSWORD_RE = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "join_before_host": False,
    "jbh_time": 0,
    "mute_upon_entry": False,
    "watermark": False,
    "use_pmi": False,
    "approval_type": 2,
    "audio": "voip",
    "auto_recording": "none",
    "waiting_room": False,
    "meeting_authentication": False,
    "alternative_hosts": "",
    "email_notification": True,
    "registrants_confirmation_email": True,
    "registrants_email_notification": True,
}


class Meetings(Access):
    def create_meeting(self, caller: Caller, user_ref: str, body: dict[str, Any]) -> dict[str, Any]:
        host = self.resolve_user(caller, user_ref)
        self.authorize(caller, "meetingCreate", host)
        fields = self._meeting_fields(body, host, creating=True)
        self._host_daily(host, OPERATIONS["meetingCreate"].label)
        now = self.clock.time()
        m = Meeting(
            id=self._meeting_id(),
            uuid=self._uuid(),
            host_id=host.id,
            account_id=host.account_id,
            created_at=now,
            **fields,
        )
        if m.type == 1:
            m.start_time = now
        self.state.meetings[m.id] = m
        operator = caller.user or host
        self.emit("meeting.created", host, events.meeting_created(m, operator, self.join_url(m)))
        self.save()
        return self.meeting_json(m, created=True)

    def _meeting_fields(self, body: dict[str, Any], host: User, creating: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not isinstance(body, dict):
            raise ZoomError(400, 300, "Request Body should be a valid JSON object.")
        if "topic" in body or creating:
            topic = body.get("topic", "Zoom meeting" if creating else None)
            if not isinstance(topic, str) or len(topic) > 200:
                raise invalid("topic", "The topic must be a string of at most 200 characters.")
            out["topic"] = topic
        if "type" in body or creating:
            mtype = body.get("type", 2)
            if mtype not in (1, 2, 3, 8):
                raise invalid("type", "Invalid field.")
            out["type"] = mtype
        if "timezone" in body or creating:
            tz = body.get("timezone") or host.timezone
            try:
                zoneinfo.ZoneInfo(str(tz))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise invalid("timezone", "Invalid field.") from None
            out["timezone"] = tz
        if "start_time" in body:
            out["start_time"] = self._start_time(
                body["start_time"], out.get("timezone") or body.get("timezone") or host.timezone
            )
        elif creating:
            out["start_time"] = self.clock.time()
        if "duration" in body or creating:
            duration = body.get("duration", 60)
            if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
                raise invalid("duration", "Invalid field.")
            out["duration"] = duration
        if "agenda" in body or creating:
            agenda = body.get("agenda", "")
            if not isinstance(agenda, str) or len(agenda) > 2000:
                raise invalid("agenda", "The agenda must be at most 2000 characters.")
            out["agenda"] = agenda
        if "password" in body or creating:
            pwd = body.get("password")
            if pwd in (None, ""):
                pwd = secrets.token_hex(3) if creating else ""
            if not isinstance(pwd, str) or not PASSWORD_RE.match(pwd):
                raise ZoomError(
                    400,
                    300,
                    "Invalid password: use at most 10 characters: letters, numbers and @ - _ *.",
                )
            out["password"] = pwd
        if "settings" in body or creating:
            settings = body.get("settings") or {}
            if not isinstance(settings, dict):
                raise invalid("settings", "Invalid field.")
            merged = {**DEFAULT_SETTINGS, **settings} if creating else dict(settings)
            if merged.get("approval_type", 2) not in (0, 1, 2):
                raise invalid("settings.approval_type", "Invalid field.")
            if merged.get("auto_recording", "none") not in ("local", "cloud", "none"):
                raise invalid("settings.auto_recording", "Invalid field.")
            out["settings"] = merged
        if "recurrence" in body:
            out["recurrence"] = body["recurrence"] if isinstance(body["recurrence"], dict) else None
        return out

    def _start_time(self, raw: Any, tz: str) -> float:
        """Zoom's rule: `yyyy-MM-ddTHH:mm:ssZ` is UTC; without `Z` it is wall-clock time in
        `timezone` (or the host's time zone)."""
        if not isinstance(raw, str):
            raise invalid("start_time", "Invalid field.")
        text = raw.strip()
        try:
            if text.endswith("Z"):
                value = dt.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
            else:
                parsed = dt.datetime.fromisoformat(text)
                value = parsed if parsed.tzinfo else parsed.replace(tzinfo=zoneinfo.ZoneInfo(tz))
        except ValueError:
            raise invalid("start_time", "Invalid field.") from None
        if not 1970 <= value.astimezone(UTC).year < 2100:
            raise invalid("start_time", "Invalid field.")
        return value.timestamp()

    def get_meeting(self, caller: Caller, meeting_id: str) -> dict[str, Any]:
        m = self._meeting(caller, meeting_id, "meeting")
        return self.meeting_json(m)

    def update_meeting(self, caller: Caller, meeting_id: str, body: dict[str, Any]) -> None:
        m = self._meeting(caller, meeting_id, "meetingUpdate")
        host = self.state.users[m.host_id]
        fields = self._meeting_fields(body, host, creating=False)
        if "start_time" in fields and fields["start_time"] < self.clock.time():
            del fields["start_time"]  # Zoom ignores a start time in the past on update
        self._host_daily(host, OPERATIONS["meetingUpdate"].label)
        self.change(m, fields, caller.user or host)

    def change(self, m: Meeting, fields: dict[str, Any], operator: User) -> None:
        """Applies checked fields and raises meeting.updated with what changed: `object` the
        new values, `old_object` the values before."""
        before = events.view(m, self.join_url(m))
        settings = fields.pop("settings", None)
        for key, value in fields.items():
            setattr(m, key, value)
        if settings:
            m.settings.update(settings)
        payload = events.meeting_updated(m, operator, before, events.view(m, self.join_url(m)))
        if payload is not None:
            self.emit("meeting.updated", self.state.users[m.host_id], payload)
        self.save()

    def delete_meeting(self, caller: Caller, meeting_id: str) -> None:
        m = self._meeting(caller, meeting_id, "meetingDelete")
        if m.status == "started":
            raise ZoomError(
                400, 3002, "Sorry, you cannot delete this meeting since it is in progress."
            )
        self.remove_meeting(m, caller.user)

    def remove_meeting(self, m: Meeting, operator: User | None = None) -> None:
        host = self.state.users[m.host_id]
        m.deleted = True
        self.emit("meeting.deleted", host, events.meeting_deleted(m, operator or host))
        self.save()

    def list_meetings(
        self, caller: Caller, user_ref: str, mtype: str, page_size: int, token: str | None
    ) -> dict[str, Any]:
        host = self.resolve_user(caller, user_ref)
        self.authorize(caller, "meetings", host)
        if mtype not in ("scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"):
            raise invalid("type", "Invalid field.")
        now = self.clock.time()
        mine = [
            m
            for m in self.state.meetings.values()
            if m.host_id == host.id and not m.deleted and m.type != 1
        ]
        if mtype == "live":
            mine = [m for m in mine if m.status == "started"]
        elif mtype in ("upcoming", "upcoming_meetings"):
            mine = [m for m in mine if (m.start_time or 0) + m.duration * 60 >= now]
        elif mtype == "previous_meetings":
            mine = [m for m in mine if m.ended_at is not None]
        mine.sort(key=lambda m: (m.start_time or 0, m.id))
        rows = [
            {
                "uuid": m.uuid,
                "id": m.id,
                "host_id": m.host_id,
                "topic": m.topic,
                "type": m.type,
                "start_time": self._iso_ts(m.start_time),
                "duration": m.duration,
                "timezone": m.timezone,
                "agenda": m.agenda,
                "created_at": self._iso_ts(m.created_at),
                "join_url": self.join_url(m),
            }
            for m in mine
        ]
        return self._listing("meetings", rows, page_size, token)

    def _meeting(self, caller: Caller, meeting_id: str, op_id: str) -> Meeting:
        m = self.find_meeting(meeting_id)
        if m is None or m.account_id != caller.account_id:
            raise ZoomError(404, 3001, f"Meeting {meeting_id} is not found or has expired.")
        host = self.state.users[m.host_id]
        on_self = caller.user is not None and caller.user.id == host.id
        op = OPERATIONS[op_id]
        scopes = frozenset(caller.token.scopes)
        if not on_self and not allowed_by(op, scopes, False) and allowed_by(op, scopes, True):
            # A user-level token naming someone else's meeting.
            raise ZoomError(400, 3000, "Cannot access meeting info.")
        self.authorize(caller, op_id, host)
        return m

    def find_meeting(self, meeting_id: str) -> Meeting | None:
        try:
            m = self.state.meetings.get(int(meeting_id))
        except ValueError:
            m = next((x for x in self.state.meetings.values() if x.uuid == meeting_id), None)
        return None if m is None or m.deleted else m

    def meeting_json(self, m: Meeting, created: bool = False) -> dict[str, Any]:
        host = self.state.users[m.host_id]
        settings = dict(m.settings)
        if settings.get("waiting_room"):
            settings["join_before_host"] = False  # Zoom: off while the waiting room is on
        out: dict[str, Any] = {
            "id": m.id,
            "host_email": host.email,
            "assistant_id": "",
            "topic": m.topic,
            "type": m.type,
            "start_time": self._iso_ts(m.start_time),
            "duration": m.duration,
            "timezone": m.timezone,
            "agenda": m.agenda,
            "created_at": self._iso_ts(m.created_at),
            "start_url": self.start_url(m),
            "join_url": self.join_url(m),
            "password": m.password,
            "h323_password": "".join(
                c for c in hashlib.sha256(m.password.encode()).hexdigest() if c.isdigit()
            )[:6].ljust(6, "0"),
            "pre_schedule": False,
            "settings": settings,
        }
        if settings.get("approval_type") in (0, 1):
            out["registration_url"] = f"{self.config.base_url}/meeting/register/{m.uuid}"
        if m.recurrence:
            out["recurrence"] = m.recurrence
        if not created:
            out.update(
                uuid=m.uuid,
                host_id=m.host_id,
                status=m.status,
                encrypted_password=self._pwd_token(m),
            )
        return out

    def join_url(self, m: Meeting) -> str:
        return f"{self.config.base_url}/j/{m.id}?pwd={self._pwd_token(m)}"

    def start_url(self, m: Meeting) -> str:
        """A host credential valid for two hours (Zoom: regular users)."""
        expires = int(self.clock.time()) + START_URL_TTL
        sig = hashlib.sha256(f"{m.id}:{expires}:{self.config.user_client_secret}".encode())
        return f"{self.config.base_url}/s/{m.id}?zak={expires}.{sig.hexdigest()[:32]}"

    def start_url_valid(self, m: Meeting, zak: str) -> bool:
        expires_s, _, sig = zak.partition(".")
        if not expires_s.isdigit() or int(expires_s) < self.clock.time():
            return False
        good = hashlib.sha256(f"{m.id}:{expires_s}:{self.config.user_client_secret}".encode())
        return secrets.compare_digest(good.hexdigest()[:32], sig)

    def _pwd_token(self, m: Meeting) -> str:
        return base64.urlsafe_b64encode(
            hashlib.sha256(f"{m.uuid}:{m.password}".encode()).digest()[:24]
        ).decode()
