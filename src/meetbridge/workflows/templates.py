"""Workflows to start from: each a definition an admin then adjusts in the editor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meetbridge.core.models import User


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    summary: str
    definition: Callable[[User], dict[str, Any]]


def _onboarding(owner: User) -> dict[str, Any]:
    return {
        "trigger": {"kind": "member.onboarded"},
        "steps": [
            {
                "key": "zoom_user",
                "action": "zoom.create_user",
                "inputs": {
                    "email": "{{ member.email }}",
                    "first_name": "{{ member.name.split(' ')[0] }}",
                    "last_name": "{{ member.name.split(' ')[1:] | join(' ') }}",
                    "user_type": "basic",
                    "how": "create",
                },
            },
            {
                "key": "orientation",
                "action": "zoom.create_meeting",
                "inputs": {
                    "topic": "Day 1 orientation for {{ member.name }}",
                    "start": "{{ member.start_date }} 09:00",
                    "timezone": "{{ member.timezone }}",
                    "duration": 60,
                    # The host is a licensed user of the Zoom account: change it to who runs
                    # the orientations.
                    "host": owner.email,
                    "agenda": "Welcome to the team.",
                    "registration": True,
                },
            },
            {
                "key": "register",
                "action": "zoom.add_registrant",
                "inputs": {
                    "meeting_id": "{{ steps.orientation.zoom_id }}",
                    "email": "{{ member.email }}",
                    "first_name": "{{ member.name }}",
                },
            },
            {
                "key": "tell",
                "action": "email.send",
                "inputs": {
                    "to": "{{ member.email }}",
                    "subject": "Your Day 1 orientation on Zoom",
                    "text": (
                        "Hello {{ member.name }},\n\nWelcome! Your Day 1 orientation is on "
                        "{{ member.start_date }} at 09:00 ({{ member.timezone }}).\n\n"
                        "Join on Zoom: {{ steps.register.join_url }}\n"
                    ),
                },
            },
        ],
    }


def _recordings(owner: User) -> dict[str, Any]:
    return {
        "trigger": {"kind": "zoom:meeting.ended"},
        "steps": [
            # Zoom makes the cloud recording after the meeting ends; it can take a while.
            {"key": "later", "action": "wait.until", "inputs": {"minutes": 30}},
            {
                "key": "recordings",
                "action": "zoom.get_recordings",
                "inputs": {"meeting_id": "{{ meeting.uuid }}"},
            },
            {
                "key": "host",
                "action": "zoom.call_api",
                "inputs": {"method": "GET", "path": "/v2/users/{{ meeting.host_id }}"},
            },
            {
                "key": "tell",
                "action": "email.send",
                "inputs": {
                    "to": "{{ steps.host.body.email }}",
                    "subject": "The recording of {{ meeting.topic }}",
                    "text": (
                        "Hello,\n\nThe recording of {{ meeting.topic }} is ready: "
                        "{{ steps.recordings.share_url }}\n\n"
                        "{{ steps.recordings.recording_count }} files.\n"
                    ),
                },
            },
        ],
    }


TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        Template(
            "onboarding",
            "Onboarding → Day-1 orientation",
            "When a member is onboarded with a start date: create their Zoom user, schedule "
            "the Day-1 orientation, register them and e-mail them the link.",
            _onboarding,
        ),
        Template(
            "recordings",
            "Meeting ended → fetch recordings → e-mail the host",
            "When a Zoom meeting ends: wait for the cloud recording, fetch it and e-mail the "
            "host its link.",
            _recordings,
        ),
    )
}
