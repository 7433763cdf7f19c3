"""The demo organisation's meeting type, so `make run` has a booking page to try at once."""

from __future__ import annotations

from meetbridge.booking.inputs import MeetingTypeInput, TypeMember
from meetbridge.booking.tables import Fallback
from meetbridge.booking.types import MeetingTypes
from meetbridge.core.audit import Origin
from meetbridge.core.models import User

DEMO_TYPE_SLUG = "intro-call"


def ensure_demo_type(types: MeetingTypes, owner: User, members: list[User]) -> None:
    """A published round-robin "Intro call" over the demo's people. Its fallback is a Jitsi
    room, so it is bookable before anyone connects Zoom; once someone has, bookings go to
    their Zoom."""
    origin = Origin(via="demo")
    view = types.create(
        owner,
        MeetingTypeInput(
            name="Intro call",
            slug=DEMO_TYPE_SLUG,
            duration=30,
            assignment="round_robin",
            members=[TypeMember(u.id) for u in [owner, *members]],
            description="A first 30-minute conversation.",
            min_notice=60,
            reminders=[1440, 60],
            cutoff=120,
            fallback=Fallback.JITSI,
        ),
        origin,
    )
    types.publish(owner, view.type.id, True, origin)
