"""The sample data an organisation's e-mail wording is previewed and checked with: each
editable template's variables with what they mean, an ordinary sample (the preview), and the
edge cases a real e-mail meets (no passcode, no agenda, the longest title, non-ASCII names, a
cancellation). A template is saved only if it renders, within bounds, for every one of them:
a template that breaks on a meeting without a passcode must be refused when it is written, not
when that meeting's invite is due."""

from __future__ import annotations

from typing import Any

from meetbridge.core.errors import ValidationFailed
from meetbridge.notify.render import render_custom

VARIABLES: dict[str, dict[str, str]] = {
    "welcome": {
        "name": "the new member's name",
        "email": "the address they sign in with",
        "inviter": "the admin who created the login",
        "org_name": "your organisation's name",
        "sign_in_url": "the sign-in page",
        "password_url": "their one-time link to choose a password",
    },
    "invite": {
        "title": "the meeting's title (up to 200 characters)",
        "when": "its start, in the meeting's time zone",
        "timezone": "the meeting's time zone",
        "duration": "its length in minutes",
        "join_url": "the Zoom join link",
        "meeting_id": "the Zoom meeting ID",
        "passcode": "the passcode, or none (test with {% if passcode %})",
        "agenda": "the agenda, possibly empty",
        "host": "the host's name",
        "sequence": "0 for the first invite, higher for each change",
        "cancelled": "true in the cancellation e-mail",
    },
    "zoom_lost": {
        "name": "the member's name",
        "what": "what happened to the Zoom connection",
        "link": "the page to connect Zoom again",
    },
    "request": {
        "service": "the service (up to 200 characters)",
        "client": "the client",
        "when": "its start, in the request's time zone",
        "until": "its end, in the request's time zone",
        "timezone": "the request's time zone",
        "location": "where it takes place (a regular request), possibly empty",
        "join_url": "the Zoom invite link, or empty (not a Zoom meeting, or the switch is off)",
        "zoom": "true when the request is a Zoom meeting",
        "notes": "the request's notes, possibly empty",
        "request_id": "the request's ID",
        "sequence": "0 for the first e-mail, higher for each change",
        "cancelled": "true when the request is canceled",
    },
}

SAMPLES: dict[str, dict[str, Any]] = {
    "welcome": {
        "name": "Ada",
        "email": "ada@example.test",
        "inviter": "Grace",
        "org_name": "Example Ltd",
        "sign_in_url": "https://meetbridge.example/signin",
        "password_url": "https://meetbridge.example/password/set?token=…",
    },
    "invite": {
        "title": "Kick-off",
        "when": "Monday 01 March 2027, 09:30",
        "timezone": "Europe/London",
        "duration": 30,
        "join_url": "https://zoom.us/j/12345678901?pwd=abc",
        "meeting_id": 12345678901,
        "passcode": "abc123",
        "agenda": "Plan",
        "host": "Grace",
        "sequence": 0,
        "cancelled": False,
    },
    "zoom_lost": {
        "name": "Ada",
        "what": "Zoom no longer accepts meetbridge's access.",
        "link": "https://meetbridge.example/integrations/zoom",
    },
    "request": {
        "service": "Spanish interpreting",
        "client": "Clinic North",
        "when": "Monday 01 March 2027, 09:30",
        "until": "10:30",
        "timezone": "Europe/London",
        "location": "",
        "join_url": "https://zoom.us/j/12345678901?pwd=abc",
        "zoom": True,
        "notes": "Room 4 if in person",
        "request_id": "3f2c9a1e",
        "sequence": 0,
        "cancelled": False,
    },
}

_NAMES = "Zoë Ångström-Øvergaard 李小龍"
_EDGES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "welcome": [
        ("non-ASCII names", {"name": _NAMES, "inviter": "José Müller", "org_name": "Café Ökonom"})
    ],
    "invite": [
        ("a meeting without a passcode", {"passcode": None}),
        ("a meeting without an agenda", {"agenda": ""}),
        ("the longest title (200 characters)", {"title": ("Quarterly review " * 12)[:200]}),
        ("non-ASCII names", {"title": "Réunion 会议 Встреча", "host": _NAMES}),
        ("a changed meeting", {"sequence": 3}),
        ("a cancellation", {"cancelled": True, "sequence": 4}),
        ("the invite link switched off", {"join_url": ""}),
    ],
    "zoom_lost": [("non-ASCII names", {"name": _NAMES})],
    "request": [
        ("a regular request", {"zoom": False, "join_url": "", "location": "12 High St"}),
        ("the invite link switched off", {"join_url": ""}),
        ("no notes", {"notes": ""}),
        ("the longest service", {"service": ("Interpreting " * 20)[:200]}),
        ("non-ASCII names", {"client": _NAMES}),
        ("a change", {"sequence": 2}),
        ("a cancellation", {"cancelled": True, "sequence": 3}),
    ],
}


def cases(name: str) -> list[tuple[str, dict[str, Any]]]:
    """The samples `name` must render for: the ordinary one, then each edge case."""
    base = SAMPLES[name]
    return [("the ordinary sample", base)] + [
        (label, {**base, **over}) for label, over in _EDGES[name]
    ]


def preview(name: str, subject: str, body_text: str) -> tuple[str, str]:
    """The subject and text as the ordinary sample's e-mail would carry them."""
    return render_custom(subject, body_text, **SAMPLES[name])


def check(name: str, subject: str, body_text: str) -> None:
    """Refuses (ValidationFailed, naming the field and the sample) a wording that fails or
    exceeds the bounds for any sample."""
    for label, context in cases(name):
        try:
            render_custom(subject, body_text, **context)
        except ValueError as whole:
            field, reason = "body_text", str(whole)
            try:  # which field: the subject alone?
                render_custom(subject, "", **context)
            except ValueError as alone:
                field, reason = "subject", str(alone)
            raise ValidationFailed(field, f"does not render for {label}: {reason}") from None
