"""The video-platform port: what the meetings engine needs from a platform that hosts meetings
(Zoom today). This is the extension point for another platform: implement `VideoPlatform`
in `integrations/<platform>/platform.py`, map every failure to the errors below, and wire
it in the composition root. The engine stays platform-neutral: it never builds a request
body, never matches a platform's listing, and never words a platform's error.

Rules every implementation keeps (docs/decisions/0004-no-duplicate-meetings.md):

- `create` is not assumed idempotent. When the request may have reached the platform but no
  clear answer came back, raise `Ambiguous`; the engine then asks `find_copy` before it
  creates again, and `list_copies` once more later to delete a copy that landed late.
- Only "never sent" failures may be retried inside the platform; a "maybe sent" create is
  never repeated there.
- `before_call`, when given, is called before each request the method makes (a listing makes
  one per page): the engine renews its lease there, so no second worker takes over a meeting
  while this attempt still talks to the platform.
- Data in and out is neutral (`MeetingSpec`, `PlatformMeeting`, `PlatformChange`); times are
  aware datetimes in UTC."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection

# ---- errors ------------------------------------------------------------------------------------


class PlatformError(Exception):
    """Base. `message` is for people: the platform words it (it knows its own limits)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Ambiguous(PlatformError):
    """A create may or may not have taken effect: look for a copy before trying again."""


class RateLimited(PlatformError):
    """The platform takes the call again at `retry_at`; `daily`: a per-day limit (the host's
    creates and updates), not a per-second one."""

    def __init__(self, message: str, *, retry_at: dt.datetime, daily: bool) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.daily = daily


class Unavailable(PlatformError):
    """Not reachable or failing now, and the call certainly had no effect: try again later."""


class NeedsReconnect(PlatformError):
    """The host's connection is gone or refused: a person must connect again."""


class Refused(PlatformError):
    """The platform answered no (bad input, not found, not allowed): retrying will not help
    until something changes."""


# ---- data --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostRef:
    """Whose platform account a call goes through: the host's connection, and its state as
    the caller just read it (`seen`, opaque; saves the platform a read), or None. `user`:
    the platform user the meeting is hosted by when the connection is an account-level one
    that schedules for any of its users; None for the connection's own user."""

    connection_id: str
    seen: Hashable | None = None
    user: str | None = None


@dataclass(frozen=True)
class PlatformHost:
    """A user of an account-level connection who may host meetings (licensed, active)."""

    id: str
    email: str
    name: str = ""


@dataclass(frozen=True)
class PlatformUser:
    """Any user of an account-level connection's account, as the platform describes them:
    whether they may host (`licensed`: no 40-minute cap) and whether they are `active`."""

    id: str
    email: str
    name: str
    licensed: bool
    active: bool
    status: str  # the platform's word: active, inactive, pending


@dataclass(frozen=True)
class MeetingSpec:
    """Everything meetbridge sends for a meeting. `start_at` is aware (UTC)."""

    title: str
    start_at: dt.datetime
    timezone: str
    duration_min: int
    agenda: str
    passcode: str | None
    waiting_room: bool
    join_before_host: bool
    registration: bool = False  # people register (approved at once)


@dataclass(frozen=True)
class PlatformMeeting:
    """A meeting as the platform holds it. `host_url` starts the meeting as its host: a
    credential, never stored. `created_at`: when the platform made it, if it says.
    `host_id`: the platform's id of the user who hosts it, if it says."""

    id: int
    join_url: str
    title: str = ""
    start_at: dt.datetime | None = None
    duration_min: int | None = None
    timezone: str | None = None
    agenda: str | None = None
    created_at: dt.datetime | None = None
    host_url: str = ""
    host_id: str | None = None


@dataclass(frozen=True)
class PlatformChange:
    """A change a person made at the platform (a webhook, or a meeting read back). `id` None
    matches nothing; `account` (the platform account the event came from) restricts matching
    to meetings whose connection belongs to it; `at`: when the platform made the change, so
    an older one (a late redelivery) is not applied over a newer. None fields did not
    change."""

    id: int | None
    account: str | None = None
    at: dt.datetime | None = None
    deleted: bool = False
    title: str | None = None
    start_at: dt.datetime | None = None
    duration_min: int | None = None
    timezone: str | None = None
    agenda: str | None = None


@dataclass(frozen=True)
class Reservation:
    """Room in the platform's rate limits, counted by the request for the job's create. The
    engine carries it unopened (`to_json` / `from_json` for the job) and hands it back to
    `create`; what is inside is the platform's."""

    held: tuple[Any, ...] = ()

    def to_json(self) -> list[Any]:
        return [list(h) if isinstance(h, tuple) else h for h in self.held]

    @classmethod
    def from_json(cls, data: Any) -> Reservation:
        return cls(tuple(tuple(h) if isinstance(h, list) else h for h in data or ()))


NOTHING_RESERVED = Reservation()


class Reserving(Protocol):
    """A reservation being made around the write that schedules a meeting (see `reserve`)."""

    def count_in(
        self, conn: Connection, account: Hashable | None, at: dt.datetime
    ) -> Reservation | None:
        """Counts in the write's own transaction when the platform's counters live in that
        database (a rollback takes it back); None when they do not, or when counting has
        already been sent (then `finish`)."""

    def finish(self, account: Hashable | None, at: dt.datetime) -> Reservation:
        """After the write, which confirmed the host's platform `account` (None: not known
        yet): the reservation to carry, or NOTHING_RESERVED (the create counts for itself)."""

    def cancel(self) -> None:
        """The write failed: anything counted is taken back."""


# ---- the port ----------------------------------------------------------------------------------


class VideoPlatform(Protocol):
    """One video platform, as the meetings engine uses it."""

    name: str  # for people: "Zoom"

    def reserve(self, host_user_id: str) -> Reserving:
        """Starts counting the create a job will make for this host against the platform's
        limits, so the job need not count (decisions/0005-hot-paths.md, rule 10). Called on
        the request's hot path: no round trip of its own beyond what can overlap the write."""

    def create(
        self,
        host: HostRef,
        spec: MeetingSpec,
        reservation: Reservation = NOTHING_RESERVED,
        before_call: Callable[[], None] | None = None,
    ) -> PlatformMeeting:
        """Makes the meeting. Raises Ambiguous when it may have been made anyway."""

    def get(
        self, host: HostRef, meeting_id: int, before_call: Callable[[], None] | None = None
    ) -> PlatformMeeting | None:
        """The meeting as the platform holds it now (with `host_url`); None when it is gone."""

    def update(
        self,
        host: HostRef,
        meeting_id: int,
        spec: MeetingSpec,
        before_call: Callable[[], None] | None = None,
    ) -> None:
        """Makes the meeting match `spec`."""

    def delete(
        self, host: HostRef, meeting_id: int, before_call: Callable[[], None] | None = None
    ) -> None:
        """Deletes the meeting; one already gone counts as deleted."""

    def list_copies(
        self,
        host: HostRef,
        spec: MeetingSpec,
        made_between: tuple[dt.datetime, dt.datetime] | None = None,
        before_call: Callable[[], None] | None = None,
    ) -> list[PlatformMeeting]:
        """The host's upcoming meetings that meetbridge could have made from `spec` (the
        whole of it, not only title and start), made within `made_between` when given: a
        meeting a person made by hand is never one of them unless it is the same in every
        field meetbridge sends."""

    def find_copy(
        self,
        host: HostRef,
        spec: MeetingSpec,
        owned_elsewhere: Callable[[int], bool],
        before_call: Callable[[], None] | None = None,
    ) -> PlatformMeeting | None:
        """After an ambiguous create: the first of `list_copies` that no other meeting owns
        (`owned_elsewhere(id)`), with its join link; None when the create did not happen."""

    def read_change(self, payload: dict[str, Any], event_ts: int | None) -> PlatformChange:
        """A webhook's payload about a meeting, as a neutral change."""

    def hosts(self, connection_id: str) -> list[PlatformHost]:
        """The users an account-level connection may schedule for (`HostRef.user`): active
        and licensed to host. May be a little stale (cached briefly); raises the port's
        errors."""

    def users(self, connection_id: str) -> list[PlatformUser]:
        """Every user of an account-level connection's account, whatever their status or
        licence (to check a list of hosts against it). Raises the port's errors."""

    def scheduled(
        self, host: HostRef, start: dt.datetime, end: dt.datetime
    ) -> list[PlatformMeeting]:
        """The host's upcoming meetings at the platform that overlap [start, end), whoever
        made them (meetbridge or a person in the platform's own app). May be a little stale
        (cached briefly); raises the port's errors."""

    def daily_used(self, connection_id: str, user_ids: list[str]) -> dict[str, int]:
        """How many of each account user's creates and updates the platform's per-host daily
        limit has counted today (meetbridge's own calls, as counted before they are made),
        and `daily_limit` is that limit."""

    daily_limit: int
