"""Zoom as a `VideoPlatform` (core/platform.py): Zoom's request body, how a copy of our
create is recognised in a host's listing, Zoom's errors mapped to the port's and worded for
people, and the rate-limit reservation the request makes for the job's create."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from meetbridge.core import platform as port
from meetbridge.core.platform import (
    NOTHING_RESERVED,
    HostRef,
    MeetingSpec,
    PlatformChange,
    PlatformMeeting,
    Reservation,
)
from meetbridge.integrations.zoom.client import HOST_DAILY_LIMIT, ZoomApi, ZoomClient
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    NotConnected,
    ZoomAmbiguous,
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomUnavailable,
)
from meetbridge.integrations.zoom.limits import Counted, Hit, Later
from meetbridge.integrations.zoom.payloads import ZoomMeeting
from meetbridge.integrations.zoom.tokens import SeenState

_LIST_PAGE = 300  # Zoom's largest page for GET /users/{id}/meetings
# Zoom's user types (GET /users, `type`): 1 basic, 2 licensed, 99 none. Only a licensed user
# hosts scheduled meetings without the 40-minute cap (ZOOM_API_FACTS).
_LICENSED = 2
_HOSTS_FOR = 60.0  # seconds a listing of an account's hosts is reused
# Seconds a host's upcoming meetings, as Zoom lists them, are reused: a conversion choosing
# among many hosts reads each at most once a minute (GET /users/{id}/meetings is a Medium
# call); meetbridge's own meetings are checked in its database, never from this cache.
_SCHEDULED_FOR = 60.0


def zoom_body(spec: MeetingSpec) -> dict[str, Any]:
    """What meetbridge sends to create or update a meeting. Zoom's rule: the wall-clock time
    without "Z" plus the IANA time zone (a "Z" time would be taken as UTC and the time zone
    only shown)."""
    local = spec.start_at.astimezone(zoneinfo.ZoneInfo(spec.timezone))
    body: dict[str, Any] = {
        "topic": spec.title,
        "type": 2,
        "start_time": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "timezone": spec.timezone,
        "duration": spec.duration_min,
        "agenda": spec.agenda,
        "settings": {"waiting_room": spec.waiting_room, "join_before_host": spec.join_before_host},
    }
    if spec.registration:
        # Zoom's approval_type: 0 approves registrants at once, 2 (its default) has none.
        body["settings"]["approval_type"] = 0
    if spec.passcode:
        body["password"] = spec.passcode
    return body


def zoom_time(value: Any) -> dt.datetime | None:
    """Zoom's times: "2026-01-02T09:30:00Z" (UTC) in replies and webhooks."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _meeting(zm: ZoomMeeting) -> PlatformMeeting:
    return PlatformMeeting(
        id=zm.id,
        join_url=zm.join_url,
        title=zm.topic,
        start_at=zoom_time(zm.start_time),
        duration_min=zm.duration,
        timezone=zm.timezone,
        agenda=zm.agenda,
        created_at=zoom_time(getattr(zm, "created_at", None)),
        host_url=str(getattr(zm, "start_url", "") or ""),
        host_id=zm.host_id or None,
    )


def _listed_as_sent(row: ZoomMeeting, spec: MeetingSpec) -> bool:
    """The fields Zoom's listing shows, compared with what we would have sent."""
    return (
        row.topic == spec.title
        # We send whole seconds (zoom_body): a start with a fraction comes back without it.
        and zoom_time(row.start_time) == spec.start_at.replace(microsecond=0)
        and row.duration == spec.duration_min
        and row.timezone == spec.timezone
        and (row.agenda or "") == spec.agenda
    )


def _got_as_sent(zm: ZoomMeeting, spec: MeetingSpec) -> bool:
    """The fields only a GET shows: the passcode and the settings we send. Without a
    passcode of ours Zoom makes one up (when the account requires passcodes, its default),
    so the passcode is compared only when we sent one. Zoom turns join_before_host off while
    the waiting room is on (its meeting settings docs), so that one is compared only when we
    asked for no waiting room."""
    settings = zm.settings or {}
    if spec.passcode and zm.password != spec.passcode:
        return False
    if bool(settings.get("waiting_room")) != spec.waiting_room:
        return False
    return spec.waiting_room or bool(settings.get("join_before_host")) == spec.join_before_host


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ZoomPlatform:
    """`VideoPlatform` on ZoomClient / ZoomApi (integrations/zoom/client.py)."""

    name = "Zoom"

    def __init__(self, zoom: ZoomClient) -> None:
        self.zoom = zoom
        # Host user id → their Zoom (account id, user id), as the last meeting this process
        # scheduled for them found it (see `reserve`).
        self._zoom_users: dict[str, tuple[str, str]] = {}
        # Account connection id → (when listed, its licensed users), see `hosts`.
        self._hosts: dict[str, tuple[float, list[port.PlatformHost]]] = {}
        # (connection id, user) → (when listed, the user's upcoming meetings), see `scheduled`.
        self._scheduled: dict[tuple[str, str], tuple[float, list[PlatformMeeting]]] = {}

    def _api(self, host: HostRef) -> ZoomApi:
        seen = host.seen
        state = SeenState(*seen) if isinstance(seen, tuple) and seen and seen[0] else None
        return self.zoom.api(host.connection_id, state)

    # ---- the port ----------------------------------------------------------------------------

    def reserve(self, host_user_id: str) -> _ZoomReserving:
        """Counts the job's create against the host's 100 creates+updates a day (the
        account's per-second budget is paced when the call is made). With Redis the count
        is sent now, for the host's Zoom user as this process last saw it, and read after
        the write; with the counters in the database it rides in the write's transaction
        (`count_in`)."""
        known = self._zoom_users.get(host_user_id)
        early: tuple[list[Hit], Later] | None = None
        if known is not None:
            hits = self.zoom.meeting_write_hits(*known)
            later = self.zoom.limiter.hit_all_later(hits)
            early = (hits, later) if later is not None else None
        return _ZoomReserving(self, host_user_id, early)

    def create(
        self,
        host: HostRef,
        spec: MeetingSpec,
        reservation: Reservation = NOTHING_RESERVED,
        before_call: Callable[[], None] | None = None,
    ) -> PlatformMeeting:
        prepaid = [(str(k), int(w)) for k, w in reservation.held]
        if before_call is not None:
            before_call()
        try:
            zm = self._api(host).create_meeting(
                zoom_body(spec), user_id=host.user or "me", prepaid=prepaid
            )
        except ZoomError as exc:
            raise _port_error(exc) from exc
        return _meeting(zm)

    def get(
        self, host: HostRef, meeting_id: int, before_call: Callable[[], None] | None = None
    ) -> PlatformMeeting | None:
        if before_call is not None:
            before_call()
        try:
            return _meeting(self._api(host).get_meeting(meeting_id))
        except ZoomNotFound:
            return None
        except ZoomError as exc:
            raise _port_error(exc) from exc

    def update(
        self,
        host: HostRef,
        meeting_id: int,
        spec: MeetingSpec,
        before_call: Callable[[], None] | None = None,
    ) -> None:
        if before_call is not None:
            before_call()
        try:
            self._api(host).update_meeting(meeting_id, zoom_body(spec), host=host.user or "me")
        except ZoomError as exc:
            raise _port_error(exc) from exc

    def delete(
        self, host: HostRef, meeting_id: int, before_call: Callable[[], None] | None = None
    ) -> None:
        if before_call is not None:
            before_call()
        try:
            self._api(host).delete_meeting(meeting_id)
        except ZoomNotFound:  # already gone at Zoom: the goal is met
            return
        except ZoomError as exc:
            raise _port_error(exc) from exc

    def list_copies(
        self,
        host: HostRef,
        spec: MeetingSpec,
        made_between: tuple[dt.datetime, dt.datetime] | None = None,
        before_call: Callable[[], None] | None = None,
    ) -> list[PlatformMeeting]:
        return list(self._copies(host, spec, made_between, before_call))

    def find_copy(
        self,
        host: HostRef,
        spec: MeetingSpec,
        owned_elsewhere: Callable[[int], bool],
        before_call: Callable[[], None] | None = None,
    ) -> PlatformMeeting | None:
        for copy in self._copies(host, spec, None, before_call):
            if not owned_elsewhere(copy.id):
                return copy
        return None

    def read_change(self, payload: dict[str, Any], event_ts: int | None) -> PlatformChange:
        """meeting.updated / meeting.deleted. Zoom sends the changed fields in `object` and
        the old ones in `old_object`; `event_ts` (ms since the epoch, beside `payload`) is
        when Zoom made the change. Zoom redelivers an event it got no 200 for 5, 20 and 60
        minutes later (Zoom's webhook docs, "Notification delivery"), so an event may be
        older than what we already hold."""
        obj = payload.get("object") if isinstance(payload.get("object"), dict) else {}
        assert isinstance(obj, dict)
        account = payload.get("account_id")
        at = (
            dt.datetime.fromtimestamp(event_ts / 1000, dt.UTC)
            if isinstance(event_ts, int) and not isinstance(event_ts, bool)
            else None
        )

        def text(key: str, most: int) -> str | None:
            value = obj.get(key)
            return value[:most] if isinstance(value, str) else None

        duration = obj.get("duration")
        return PlatformChange(
            id=_int(obj.get("id")),
            account=account if isinstance(account, str) and account else None,
            at=at,
            title=text("topic", 200),
            start_at=zoom_time(obj.get("start_time")),
            duration_min=duration if isinstance(duration, int) and duration > 0 else None,
            timezone=text("timezone", 64),
            agenda=text("agenda", 2000),
        )

    def hosts(self, connection_id: str) -> list[port.PlatformHost]:
        """GET /users?status=active through the account connection, the licensed ones."""
        now = time.monotonic()
        cached = self._hosts.get(connection_id)
        if cached is not None and now - cached[0] < _HOSTS_FOR:
            return cached[1]
        try:
            users = list(self.zoom.api(connection_id).iter_users("active"))
        except ZoomError as exc:
            raise _port_error(exc) from exc
        found = [
            port.PlatformHost(u.id, u.email, f"{u.first_name} {u.last_name}".strip())
            for u in users
            if u.type == _LICENSED
        ]
        if len(self._hosts) > 1000:
            self._hosts.clear()
        self._hosts[connection_id] = (now, found)
        return found

    def users(self, connection_id: str) -> list[port.PlatformUser]:
        """GET /users for each status Zoom lists (active, inactive, pending)."""
        api = self.zoom.api(connection_id)
        found: list[port.PlatformUser] = []
        try:
            for status in ("active", "inactive", "pending"):
                for u in api.iter_users(status):
                    found.append(
                        port.PlatformUser(
                            u.id,
                            u.email,
                            f"{u.first_name} {u.last_name}".strip(),
                            licensed=u.type == _LICENSED,
                            active=status == "active",
                            status=status,
                        )
                    )
        except ZoomError as exc:
            raise _port_error(exc) from exc
        return found

    def scheduled(
        self, host: HostRef, start: dt.datetime, end: dt.datetime
    ) -> list[PlatformMeeting]:
        """GET /users/{id}/meetings?type=upcoming (every page), cached for a minute. Zoom
        lists scheduled, unexpired meetings only, at most six months ahead (ZOOM_API_FACTS);
        a listed meeting without a start or duration is taken as an hour from its start."""
        key = (host.connection_id, host.user or "me")
        now = time.monotonic()
        cached = self._scheduled.get(key)
        if cached is None or now - cached[0] >= _SCHEDULED_FOR:
            api = self._api(host)
            try:
                listed = [_meeting(m) for m in api.iter_meetings(host.user or "me", "upcoming")]
            except ZoomError as exc:
                raise _port_error(exc) from exc
            if len(self._scheduled) > 10_000:
                self._scheduled.clear()
            cached = self._scheduled[key] = (now, listed)
        out = []
        for m in cached[1]:
            if m.start_at is None:
                continue
            until = m.start_at + dt.timedelta(minutes=m.duration_min or 60)
            if m.start_at < end and until > start:
                out.append(m)
        return out

    daily_limit = HOST_DAILY_LIMIT

    def daily_used(self, connection_id: str, user_ids: list[str]) -> dict[str, int]:
        account = self.zoom.tokens.zoom_account_of(connection_id)
        if account is None:
            return dict.fromkeys(user_ids, 0)
        keys = {u: self.zoom.host_daily_hit(account, u).key for u in user_ids}
        used = self.zoom.limiter.used_many(list(keys.values()), 86_400)
        return {u: used[k] for u, k in keys.items()}

    # ---- copies ------------------------------------------------------------------------------

    def _copies(
        self,
        host: HostRef,
        spec: MeetingSpec,
        made_between: tuple[dt.datetime, dt.datetime] | None,
        before_call: Callable[[], None] | None,
    ) -> Iterator[PlatformMeeting]:
        api = self._api(host)
        query: dict[str, Any] = {"type": "upcoming", "page_size": _LIST_PAGE}
        while True:
            if before_call is not None:
                before_call()
            try:
                page = api.call_api("GET", f"/users/{host.user or 'me'}/meetings", params=query)
            except ZoomError as exc:
                raise _port_error(exc) from exc
            for raw in page.get("meetings", []):
                row = ZoomMeeting.model_validate(raw)
                if not _listed_as_sent(row, spec):
                    continue
                made = zoom_time(raw.get("created_at"))
                if made_between is not None and (
                    made is None or not made_between[0] <= made <= made_between[1]
                ):
                    continue
                if before_call is not None:
                    before_call()
                try:
                    full = api.get_meeting(row.id)  # the passcode and settings
                except ZoomNotFound:
                    continue
                except ZoomError as exc:
                    raise _port_error(exc) from exc
                if _got_as_sent(full, spec):
                    yield _meeting(full)
            token = page.get("next_page_token")
            if not token:
                return
            query["next_page_token"] = token


class _ZoomReserving:
    def __init__(
        self, zp: ZoomPlatform, host_user_id: str, early: tuple[list[Hit], Later] | None
    ) -> None:
        self.zp = zp
        self.host_user_id = host_user_id
        self.early = early

    def count_in(
        self, conn: Connection, account: Hashable | None, at: dt.datetime
    ) -> Reservation | None:
        if self.early is not None:
            return None
        if not isinstance(account, tuple):
            return NOTHING_RESERVED
        hits = self.zp.zoom.meeting_write_hits(*account)
        waits = self.zp.zoom.limiter.hit_all_in(conn, hits)
        return None if waits is None else _within(hits, waits, at)

    def finish(self, account: Hashable | None, at: dt.datetime) -> Reservation:
        zoom_user = account if isinstance(account, tuple) else None
        known = self.zp._zoom_users
        if zoom_user is not None:
            if len(known) > 10_000:
                known.clear()
            known[self.host_user_id] = zoom_user
        if self.early is None:
            return NOTHING_RESERVED
        hits, later = self.early
        if zoom_user is None or self.zp.zoom.meeting_write_hits(*zoom_user) != hits:  # changed
            later.cancel()
            return NOTHING_RESERVED
        try:
            return _within(hits, later.waits(), at)
        except Exception:  # no answer: counted or not, the job counts for itself
            return NOTHING_RESERVED

    def cancel(self) -> None:
        if self.early is not None:
            self.early[1].cancel()


def _within(hits: Sequence[Hit], waits: Sequence[float], now: dt.datetime) -> Reservation:
    """The hits counted within their limits, with their windows (as of `now`, taken before
    the count: should a window end in between, the job finds its window passed and counts
    again, never too few). The job counts the others itself (and waits, or is told the day
    is used up); their count here landed in a window already full."""
    at = now.timestamp()
    counted: list[Counted] = [h.counted_at(at) for h, w in zip(hits, waits, strict=True) if w <= 0]
    return Reservation(tuple(counted))


def _port_error(exc: ZoomError) -> port.PlatformError:
    if isinstance(exc, ZoomAmbiguous):
        return port.Ambiguous(
            f"Zoom did not answer clearly ({exc.message}); checking before trying again"
        )
    if isinstance(exc, ZoomRateLimited):
        what = (
            "Zoom's limit of 100 meeting creates and updates per host per day is reached; "
            f"the meeting will be sent to Zoom when it resets at {exc.retry_at:%H:%M} UTC"
            if exc.daily
            else "Zoom is busy (rate limit); trying again shortly"
        )
        return port.RateLimited(what, retry_at=exc.retry_at, daily=exc.daily)
    if isinstance(exc, ZoomUnavailable):
        return port.Unavailable(f"Zoom is unavailable ({exc.message}); trying again")
    if isinstance(exc, NeedsReconnect | NotConnected):
        return port.NeedsReconnect(f"{exc.message}. Reconnect Zoom, then retry.")
    return port.Refused(f"Zoom refused: {exc.message}")
