"""Meetings as they run (the sandbox's "Zoom client"): start and end, past instances, cloud
recordings with their download token, and registrants with the events each change raises."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from meetbridge_sandbox import events
from meetbridge_sandbox.base import Caller
from meetbridge_sandbox.errors import ZoomError, invalid
from meetbridge_sandbox.meetings import Meetings
from meetbridge_sandbox.rules import PLAN_CONCURRENT
from meetbridge_sandbox.state import Meeting, Registrant, Token, User, zoom_id

DOWNLOAD_TOKEN_TTL = 24 * 3600  # Zoom: recording.completed's download_token lasts 24 hours
FILES = (  # (file_type, extension, bytes, recording_type)
    ("MP4", "MP4", 65_536, "shared_screen_with_speaker_view"),
    ("M4A", "M4A", 16_384, "audio_only"),
)


class Live(Meetings):
    # ---- starting and ending -------------------------------------------------------------

    def start_meeting(self, m: Meeting, uuid: str | None = None) -> None:
        """`uuid` names the new instance (the control API's way to get one with slashes)."""
        host = self.state.users[m.host_id]
        plan = self.state.accounts[host.account_id].plan
        live = [
            x
            for x in self.state.meetings.values()
            if x.host_id == host.id and x.status == "started" and not x.deleted
        ]
        if m.status == "started":
            return
        if len(live) >= PLAN_CONCURRENT[plan]:
            raise ZoomError(
                400,
                3000,
                f"{host.email} is already hosting a meeting; a host on "
                f"this plan can run {PLAN_CONCURRENT[plan]} at a time.",
            )
        m.status = "started"
        m.started_at = self.clock.time()
        m.uuid = uuid or (self._uuid() if m.ended_at else m.uuid)
        self.emit("meeting.started", host, events.meeting_started(m))
        self.save()

    def end_meeting(self, m: Meeting, record: bool = False) -> None:
        if m.status != "started":
            return
        host = self.state.users[m.host_id]
        m.status = "waiting"
        m.ended_at = self.clock.time()
        m.instances.append({"uuid": m.uuid, "start": m.started_at, "end": m.ended_at})
        self.emit("meeting.ended", host, events.meeting_ended(m))
        if record or m.settings.get("auto_recording") == "cloud":
            self._record(m)
            token = self._download_token(m)
            payload = events.recording_completed(m, host, self._share_url(m))
            self.emit("recording.completed", host, payload, download_token=token)
        self.save()

    def find_instance(self, ref: str) -> tuple[Meeting, dict[str, Any] | None] | None:
        """A meeting id (with its latest ended instance) or an instance's UUID (with that
        instance; None while it is still running)."""
        for x in self.state.meetings.values():
            for inst in x.instances:
                if inst["uuid"] == ref and not x.deleted:
                    return x, inst
        m = self.find_meeting(ref)
        if m is None:
            return None
        latest = m.instances[-1] if m.instances and str(m.id) == ref else None
        return m, latest

    def past_meeting(self, caller: Caller, ref: str) -> dict[str, Any]:
        found = self.find_instance(ref)
        inst = found[1] if found else None
        if found is None or inst is None:
            raise ZoomError(404, 3001, f"Meeting {ref} is not found or has expired.")
        m = found[0]
        self._meeting(caller, str(m.id), "pastMeetingDetails")
        host = self.state.users[m.host_id]
        minutes = max(1, int((inst["end"] - inst["start"]) // 60))
        return {
            "id": m.id,
            "uuid": inst["uuid"],
            "host_id": m.host_id,
            "type": m.type,
            "topic": m.topic,
            "user_name": f"{host.first_name} {host.last_name}".strip(),
            "user_email": host.email,
            "start_time": self._iso_ts(inst["start"]),
            "end_time": self._iso_ts(inst["end"]),
            "duration": minutes,
            "total_minutes": minutes,
            "participants_count": 1,
            "dept": "",
            "source": "Zoom",
        }

    # ---- recordings ----------------------------------------------------------------------

    def _record(self, m: Meeting) -> None:
        start, end = self._iso_ts(m.started_at), self._iso_ts(m.ended_at)
        base = f"{self.config.base_url}/rec"
        m.recording_password = secrets.token_urlsafe(6)[:8]
        m.recording_files = [
            {
                "id": zoom_id(12),
                "meeting_id": m.uuid,
                "recording_start": start,
                "recording_end": end,
                "file_type": ftype,
                "file_extension": ext,
                "file_size": size,
                "play_url": f"{base}/play/{m.id}/{ftype.lower()}",
                "download_url": f"{base}/download/{m.id}/{ftype.lower()}",
                "status": "completed",
                "recording_type": rtype,
            }
            for ftype, ext, size, rtype in FILES
        ]

    def _share_url(self, m: Meeting) -> str:
        digest = hashlib.sha256(f"share:{m.uuid}:{m.recording_password}".encode()).hexdigest()
        return f"{self.config.base_url}/rec/share/{digest[:32]}"

    def _download_token(self, m: Meeting) -> str:
        """A token that downloads this meeting's files, as recording.completed's top-level
        `download_token` (Zoom: `?access_token=` on the download_url, or a Bearer header)."""
        now = self.clock.time()
        tok = Token(
            "sbx.dl." + secrets.token_urlsafe(32),
            "download",
            "",
            m.account_id,
            None,
            [str(m.id)],
            now,
            now + DOWNLOAD_TOKEN_TTL,
        )
        self.state.tokens[tok.value] = tok
        return tok.value

    def recording_file(self, meeting_id: str, ftype: str, token: str) -> bytes | None:
        """The file's bytes, when `token` is a live download token for this meeting or an
        access token that may read the host's recordings; None otherwise."""
        # A recording outlives its meeting's deletion (it stays in the host's recordings).
        m = self.state.meetings.get(int(meeting_id)) if meeting_id.isdigit() else None
        if m is None or not m.recording_files:
            return None
        tok = self.state.tokens.get(token)
        if tok is None or tok.revoked or (tok.expires_at or 0) <= self.clock.time():
            return None
        if tok.kind == "download":
            allowed = tok.scopes == [str(m.id)]
        else:
            try:
                self._meeting(Caller(tok, tok.account_id, None), str(m.id), "recordingGet")
                allowed = tok.kind == "access"
            except ZoomError:
                allowed = False
        files = [f["file_size"] for f in m.recording_files if f["file_type"].lower() == ftype]
        size = files[0] if files else None
        if not allowed or size is None:
            return None
        seed = hashlib.sha256(f"{m.uuid}:{ftype}".encode()).digest()
        return bytes((seed * (int(size) // len(seed) + 1))[: int(size)])

    def get_recordings(self, caller: Caller, meeting_id: str) -> dict[str, Any]:
        """By meeting id (its latest recorded instance) or by an instance's UUID."""
        found = self.find_instance(meeting_id)
        if found is None:
            raise ZoomError(404, 3001, f"Meeting {meeting_id} is not found or has expired.")
        m = self._meeting(caller, str(found[0].id), "recordingGet")
        recorded = m.recording_files[0]["meeting_id"] if m.recording_files else None
        if recorded is None or (str(m.id) != meeting_id and recorded != meeting_id):
            raise ZoomError(404, 3301, "There is no recording for this meeting.")
        return {
            "uuid": recorded,
            "id": m.id,
            "account_id": m.account_id,
            "host_id": m.host_id,
            "topic": m.topic,
            "type": str(m.type),
            "start_time": self._iso_ts(m.started_at),
            "duration": max(1, int(((m.ended_at or 0) - (m.started_at or 0)) // 60)),
            "total_size": sum(f["file_size"] for f in m.recording_files),
            "recording_count": len(m.recording_files),
            "share_url": self._share_url(m),
            "password": m.recording_password,
            "recording_files": m.recording_files,
        }

    # ---- registrants ---------------------------------------------------------------------

    def add_registrant(
        self, caller: Caller, meeting_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        m = self._meeting(caller, meeting_id, "meetingRegistrantCreate")
        host = self.state.users[m.host_id]
        if host.type != 2:
            raise ZoomError(400, 3000, "Registration is only available for licensed hosts.")
        if m.settings.get("approval_type", 2) == 2:
            raise ZoomError(
                400, 3000, f"Registration has not been enabled for this meeting: {m.id}."
            )
        email = body.get("email") if isinstance(body, dict) else None
        first = body.get("first_name") if isinstance(body, dict) else None
        if not isinstance(email, str) or "@" not in email:
            raise invalid("email", "Invalid field.")
        if not isinstance(first, str) or not first.strip():
            raise invalid("first_name", "Invalid field.")
        existing = next((r for r in m.registrants if r.email.lower() == email.lower()), None)
        if existing is None:
            if len(m.registrants) >= 4999:
                raise ZoomError(400, 3043, "Meeting has reached maximum attendee capacity.")
            approved = m.settings.get("approval_type") == 0 or body.get("auto_approve") is True
            existing = Registrant(
                id=zoom_id(12),
                email=email,
                first_name=first,
                last_name=str(body.get("last_name", "")),
                create_time=self.clock.time(),
                status="approved" if approved else "pending",
                join_url=f"{self.config.base_url}/w/{m.id}?tk={secrets.token_urlsafe(16)}",
                participant_pin_code=secrets.randbelow(900_000) + 100_000,
            )
            m.registrants.append(existing)
            self.emit(
                "meeting.registration_created",
                host,
                events.registration("meeting.registration_created", m, existing),
            )
            self.save()
        return {
            "id": m.id,
            "registrant_id": existing.id,
            "join_url": existing.join_url,
            "topic": m.topic,
            "start_time": self._iso_ts(m.start_time),
            "participant_pin_code": existing.participant_pin_code,
        }

    def registrant_status(self, caller: Caller, meeting_id: str, body: dict[str, Any]) -> None:
        """PUT …/registrants/status: the host approves, denies or cancels registrations."""
        m = self._meeting(caller, meeting_id, "meetingRegistrantStatus")
        action = body.get("action")
        to = {"approve": "approved", "deny": "denied", "cancel": "cancelled"}.get(str(action))
        if to is None:
            raise invalid("action", "Invalid field.")
        wanted = body.get("registrants") or []
        if not isinstance(wanted, list):
            raise invalid("registrants", "Invalid field.")
        ids = {w.get("id") for w in wanted if isinstance(w, dict)}
        emails = {str(w.get("email", "")).lower() for w in wanted if isinstance(w, dict)}
        host = self.state.users[m.host_id]
        operator: User = caller.user or host
        event = {
            "approve": "meeting.registration_approved",
            "deny": "meeting.registration_denied",
            "cancel": "meeting.registration_cancelled",
        }[str(action)]
        for r in m.registrants:
            if (r.id in ids or r.email.lower() in emails) and r.status != to:
                r.status = to
                self.emit(event, host, events.registration(event, m, r, operator))
        self.save()

    def list_registrants(
        self, caller: Caller, meeting_id: str, status: str, page_size: int, token: str | None
    ) -> dict[str, Any]:
        m = self._meeting(caller, meeting_id, "meetingRegistrants")
        if status not in ("pending", "approved", "denied"):
            raise invalid("status", "Invalid field.")
        rows = [
            {
                "id": r.id,
                "email": r.email,
                "first_name": r.first_name,
                "last_name": r.last_name,
                "status": r.status,
                "create_time": self._iso_ts(r.create_time),
                "join_url": r.join_url,
                "participant_pin_code": r.participant_pin_code,
            }
            for r in m.registrants
            if r.status == status
        ]
        return self._listing("registrants", rows, page_size, token)
