"""The booking module's domain events, written in the booking's own transaction when anyone
subscribes (core/events.py) and published once it has committed.

A subscriber (a workflow) must be able to act on the event's data alone: it may not read the
booking tables. So the data is the booking as it is after the change, under "booking", with
the names a workflow author templates on. What is secret stays out: the manage link (it
cancels and moves the booking) and the booker's address on the network."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

from meetbridge.booking.tables import Booking, Fallback
from meetbridge.core.models import User


class BookingEvent(enum.StrEnum):
    CREATED = "booking.created"  # booked on the public page or through the API
    RESCHEDULED = "booking.rescheduled"  # moved to another time (`data.booking.moved_by`)
    REASSIGNED = "booking.reassigned"  # given to another member (an admin, or a member gone)
    CANCELLED = "booking.cancelled"  # by the booker or a member (`data.booking.cancelled_by`)


# For the composition root's subscriptions.
BOOKING_CREATED = BookingEvent.CREATED.value
BOOKING_RESCHEDULED = BookingEvent.RESCHEDULED.value
BOOKING_REASSIGNED = BookingEvent.REASSIGNED.value
BOOKING_CANCELLED = BookingEvent.CANCELLED.value
BOOKING_EVENTS: tuple[str, ...] = tuple(e.value for e in BookingEvent)

SUBJECT = "booking"
# Fallback places that are a link to join (the others are a phone number or an address).
_ONLINE = (Fallback.JITSI.value, Fallback.LINK.value)


def iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat() if at is not None else None


def booking_data(
    bk: Booking,
    type_name: str,
    users: Mapping[str, User],
    *,
    zoom_join_url: str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The event's data: `users` holds at least the booking's host and members (by id);
    `zoom_join_url` the Zoom meeting's join link when it is known at the change (a new
    booking's meeting is made after the commit: not yet)."""
    host = users.get(bk.host_user_id)
    join_url = zoom_join_url if bk.location == "zoom" else None
    if bk.location in _ONLINE and bk.location_value:
        join_url = bk.location_value  # the fallback's room: known at once
    return {
        "booking": {
            "id": bk.id,
            "meeting_type": type_name,
            "meeting_type_id": bk.type_id,
            "start_at": iso(bk.start_at),
            "end_at": iso(bk.end_at),
            "timezone": bk.timezone,  # the booker's
            "attendee_name": bk.booker_name,
            "attendee_email": bk.booker_email,
            "notes": bk.notes or "",
            "host_user_id": bk.host_user_id,
            "host_email": host.email if host is not None else None,
            "host_name": host.name if host is not None else None,
            # Everyone in it (a collective booking invites several members).
            "member_emails": [users[u].email for u in bk.member_ids if u in users],
            "meeting_id": bk.meeting_id,  # the meetbridge meeting; None with the fallback
            "location": bk.location,  # "zoom", or the fallback (jitsi, link, phone, in_person)
            "location_value": bk.location_value or "",
            "join_url": join_url,
            "status": bk.status,
            **more,
        }
    }


def people(bk: Booking) -> list[str]:
    """The user ids a booking's event names."""
    return sorted({bk.host_user_id, *bk.member_ids})
