"""Zoom's rules, as data: which scopes an operation needs, its rate-limit label, and the limits
of each plan (Zoom's rate-limit documentation; the spec's `security` and descriptions)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    op_id: str
    label: str  # Light | Medium | Heavy
    classic: tuple[str, ...]  # any one of these (non-admin ones act on "me" only)
    granular: tuple[str, ...]  # <product>:<action>:<object>; ":admin" added for other users


OPERATIONS = {
    "meetingCreate": Operation(
        "meetingCreate",
        "Medium",
        ("meeting:write", "meeting:write:admin"),
        ("meeting:write:meeting",),
    ),
    "meeting": Operation(
        "meeting", "Light", ("meeting:read", "meeting:read:admin"), ("meeting:read:meeting",)
    ),
    "meetingUpdate": Operation(
        "meetingUpdate",
        "Light",
        ("meeting:write", "meeting:write:admin"),
        ("meeting:update:meeting",),
    ),
    "meetingDelete": Operation(
        "meetingDelete",
        "Light",
        ("meeting:write", "meeting:write:admin"),
        ("meeting:delete:meeting",),
    ),
    "meetings": Operation(
        "meetings",
        "Medium",
        ("meeting:read", "meeting:read:admin"),
        ("meeting:read:list_meetings",),
    ),
    "meetingRegistrantCreate": Operation(
        "meetingRegistrantCreate",
        "Light",
        ("meeting:write", "meeting:write:admin"),
        ("meeting:write:registrant",),
    ),
    "meetingRegistrantStatus": Operation(
        "meetingRegistrantStatus",
        "Medium",
        ("meeting:write", "meeting:write:admin"),
        ("meeting:update:registrant_status",),
    ),
    "pastMeetingDetails": Operation(
        "pastMeetingDetails",
        "Light",
        ("meeting:read", "meeting:read:admin"),
        ("meeting:read:past_meeting",),
    ),
    "meetingRegistrants": Operation(
        "meetingRegistrants",
        "Medium",
        ("meeting:read", "meeting:read:admin"),
        ("meeting:read:list_registrants",),
    ),
    "users": Operation("users", "Medium", ("user:read:admin",), ("user:read:list_users:admin",)),
    "userCreate": Operation(
        "userCreate", "Light", ("user:write:admin",), ("user:write:user:admin",)
    ),
    "user": Operation(
        "user", "Light", ("user:read:admin", "user:read", "user_info:read"), ("user:read:user",)
    ),
    "recordingGet": Operation(
        "recordingGet",
        "Light",
        ("recording:read", "recording:read:admin"),
        ("cloud_recording:read:list_recording_files",),
    ),
}

# Requests per second per account and label, by plan; a free account also has daily caps.
PLAN_QPS = {
    "basic": {"Light": 4, "Medium": 2, "Heavy": 1},
    "pro": {"Light": 30, "Medium": 20, "Heavy": 10},
    "business": {"Light": 80, "Medium": 60, "Heavy": 40},
}
PLAN_DAILY = {"basic": {"Light": 6000, "Medium": 2000, "Heavy": 1000}}
# Licensed users on Pro host one meeting at a time; Business and up host two.
PLAN_CONCURRENT = {"basic": 1, "pro": 1, "business": 2}
HOST_DAILY_CREATE_UPDATE = 100


def allowed_by(op: Operation, scopes: frozenset[str], acting_on_self: bool) -> bool:
    """True when the token's scopes allow this operation on this user."""
    for s in op.classic:
        if s in scopes and (s.endswith(":admin") or acting_on_self):
            return True
    for s in op.granular:
        if s.endswith(":admin"):
            if s in scopes:
                return True
        elif f"{s}:admin" in scopes or (acting_on_self and s in scopes):
            return True
    return False


def missing_scopes(op: Operation, acting_on_self: bool) -> list[str]:
    """What Zoom names in a 4711 message: the granular scopes that would have worked."""
    names = []
    for s in op.granular:
        if s.endswith(":admin"):
            names.append(s)
        else:
            names.append(f"{s}:admin")
            if acting_on_self:
                names.append(s)
    return names
