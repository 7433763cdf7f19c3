"""A meeting's status, the moves between them (written once, here), and what an attempt can
end in."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    CREATING = "creating"  # the row is written; a job makes it at the platform
    SCHEDULED = "scheduled"  # it is at the platform as the row says
    UPDATING = "updating"  # a change is on its way to the platform
    CANCELLING = "cancelling"  # the deletion is on its way
    CANCELLED = "cancelled"
    FAILED = "failed"  # an attempt was refused; a person sees the error and may retry
    DELETED_IN_ZOOM = "deleted_in_zoom"  # the host deleted it at the platform

    @property
    def pending(self) -> bool:
        """Work for the lifecycle: the platform does not match the row yet."""
        return self in PENDING

    @property
    def gone(self) -> bool:
        return self in (Status.CANCELLING, Status.CANCELLED, Status.DELETED_IN_ZOOM)

    def can_become(self, new: Status) -> bool:
        return new in TRANSITIONS[self]


# Every move a meeting can make. A pending status may "become" itself: an edit made while an
# update is on its way starts the next one.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.CREATING: frozenset(
        {Status.SCHEDULED, Status.FAILED, Status.CANCELLING, Status.DELETED_IN_ZOOM}
    ),
    Status.SCHEDULED: frozenset(
        {Status.SCHEDULED, Status.UPDATING, Status.CANCELLING, Status.DELETED_IN_ZOOM}
    ),
    Status.UPDATING: frozenset(
        {
            Status.UPDATING,
            Status.SCHEDULED,
            Status.FAILED,
            Status.CANCELLING,
            Status.DELETED_IN_ZOOM,
        }
    ),
    Status.CANCELLING: frozenset({Status.CANCELLED}),
    # A failed create is retried as a create, a failed update as an update (the row knows
    # which by its platform id); a failed meeting never made at the platform is simply
    # cancelled.
    Status.FAILED: frozenset(
        {
            Status.CREATING,
            Status.UPDATING,
            Status.CANCELLING,
            Status.CANCELLED,
            Status.DELETED_IN_ZOOM,
        }
    ),
    Status.CANCELLED: frozenset(),
    Status.DELETED_IN_ZOOM: frozenset(),
}

PENDING: tuple[Status, ...] = (Status.CREATING, Status.UPDATING, Status.CANCELLING)


class Outcome(enum.StrEnum):
    """How an attempt (`work`) ended. When it could not claim the meeting, `work` returns
    the meeting's Status instead (or MISSING)."""

    DONE = "done"  # the platform matches the row
    CHANGED = "changed"  # the row changed meanwhile; it is worked on again at once
    LATER = "later"  # not now (unavailable, rate-limited, unclear): tried again later
    FAILED = "failed"  # refused: a person must act
    MISSING = "missing"  # no such meeting


class IllegalMove(Exception):
    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"a meeting cannot go from {old} to {new}")


def move(old: str, new: Status) -> Status:
    """`new`, if a meeting in `old` may become it; else IllegalMove (a bug, not a user
    error: the services check what a person may do before they move a meeting)."""
    if not Status(old).can_become(new):
        raise IllegalMove(old, new)
    return new


class Applied(enum.StrEnum):
    """What became of a change made at the platform (a webhook's handler returns it)."""

    DONE = "done"
    IGNORED = "ignored"  # not ours, not found, ours on its way, or older than the row


class MeetingEvent(enum.StrEnum):
    """The domain events the engine writes, in the transaction of the change (core/events.py)."""

    SCHEDULED = "meeting.scheduled"  # recorded here; on its way to the platform
    CREATED = "meeting.created"  # it exists at the platform: its join link is known
    UPDATED = "meeting.updated"  # by a person here, or at the platform (`data.by`)
    CANCELLED = "meeting.cancelled"  # by a person here, or deleted at the platform
    FAILED = "meeting.failed"  # an attempt was refused; a person must act
