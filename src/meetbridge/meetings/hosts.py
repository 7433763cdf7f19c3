"""Scheduling for another host through the organisation's account-level connection (issue
14.14): an admin, or any member when the admin allows it, picks a licensed user of the
organisation's Zoom account as the meeting's host; the meeting is made for that user through
the account connection (`HostRef.user`), and counts against that user's daily limit. The
host pool of service requests is checked against the account's `users` when it is saved
and chosen from its `listed` hosts (no actor check there: only schedulers convert)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from meetbridge.core import errors
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, PermissionDenied, ValidationFailed
from meetbridge.core.models import User
from meetbridge.core.platform import (
    Ambiguous,
    HostRef,
    PlatformError,
    PlatformHost,
    PlatformMeeting,
    PlatformUser,
    RateLimited,
    Unavailable,
    VideoPlatform,
)

# The account connection (the one thing meetings takes from the Zoom package).
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.meetings import statements as q

NO_ACCOUNT = (
    "The organisation's Zoom account is not connected: an admin connects it under "
    "Settings → Integrations → Zoom (Server-to-Server OAuth)"
)
NOT_ALLOWED = (
    "Only admins and schedulers may schedule for another host through the organisation's "
    "Zoom account; an admin can allow members on Settings → Integrations → Zoom"
)


@dataclass(frozen=True)
class AccountHost:
    """A chosen host: the account connection to go through, and the platform user."""

    connection_id: str
    host: PlatformHost


class AccountHosts:
    def __init__(self, db: Database, platform: VideoPlatform) -> None:
        self.db = db
        self.platform = platform

    def _account(self, actor: User) -> tuple[str, bool] | None:
        """The organisation's live account connection and whether members may use it."""
        with self.db.read() as s:
            row = s.execute(
                select(ZoomConnection.id, ZoomConnection.members_may_schedule).where(
                    ZoomConnection.org_id == actor.org_id,
                    ZoomConnection.kind == "account",
                    ZoomConnection.status == "connected",
                )
            ).first()
        return (str(row.id), bool(row.members_may_schedule)) if row is not None else None

    def connection(self, actor: User) -> str | None:
        """The account connection `actor` may schedule through, or None (none, or not
        allowed)."""
        account = self._account(actor)
        if account is None or not (actor.is_scheduler or account[1]):
            return None
        return account[0]

    def _allowed(self, actor: User) -> str:
        account = self._account(actor)
        if account is None:
            raise Conflict("host", NO_ACCOUNT)
        if not (actor.is_scheduler or account[1]):
            raise PermissionDenied(NOT_ALLOWED)
        return account[0]

    def listed(self, connection_id: str) -> list[PlatformHost]:
        """The account's active, licensed users (cached briefly by the platform adapter)."""
        try:
            return self.platform.hosts(connection_id)
        except (Unavailable, RateLimited, Ambiguous) as exc:
            # Zoom failing now (5xx, timeout, 429) is not the caller's mistake: the same
            # request works later, and durable work retries it instead of giving up.
            raise errors.Unavailable(
                "host", f"Zoom did not list the account's users just now: {exc.message}"
            ) from None
        except PlatformError as exc:
            raise Conflict(
                "host", f"Zoom did not list the account's users: {exc.message}"
            ) from None

    def hosts(self, actor: User) -> list[PlatformHost]:
        """The licensed users `actor` may pick as host. PermissionDenied when not allowed,
        Conflict when there is no account connection or the platform cannot list them."""
        return self.listed(self._allowed(actor))

    def resolve(self, actor: User, ref: str) -> AccountHost:
        """The host named by its platform user id or e-mail, if `actor` may pick it."""
        connection_id = self._allowed(actor)
        wanted = ref.strip().lower()
        for host in self.listed(connection_id):
            if wanted in (host.id.lower(), host.email.lower()):
                return AccountHost(connection_id, host)
        raise ValidationFailed(
            "host",
            "not an active, licensed user of the organisation's Zoom account "
            "(GET /api/v1/zoom/hosts lists them)",
        )

    # ---- for a pool of hosts (service requests) -------------------------------------------------

    def account_connection(self, org_id: str) -> str | None:
        """The organisation's live account connection, if any."""
        with self.db.connect() as conn:
            return conn.execute(q.ORG_ACCOUNT, {"org": org_id}).scalar()

    def users(self, connection_id: str) -> list[PlatformUser]:
        """Every user of the account, whatever their status or licence: Unavailable (503,
        Retry-After) while the platform fails, Conflict when it refuses to list them."""
        try:
            return self.platform.users(connection_id)
        except (Unavailable, RateLimited, Ambiguous) as exc:
            # As for `listed`: an outage is not a bad pool; saving it again later works.
            raise errors.Unavailable(
                "host_pool", f"Zoom did not list the account's users just now: {exc.message}"
            ) from None
        except PlatformError as exc:
            raise Conflict(
                "host_pool", f"Zoom did not list the account's users: {exc.message}"
            ) from None

    def at_platform(
        self, connection_id: str, host_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[PlatformMeeting]:
        """The host's meetings at the platform overlapping [start, end), whoever made them
        (cached briefly by the platform adapter); raises the port's errors."""
        return self.platform.scheduled(HostRef(connection_id, user=host_id), start, end)

    def daily_room(self, connection_id: str, host_ids: list[str]) -> dict[str, int]:
        """How many more creates and updates each host may make at the platform today."""
        used = self.platform.daily_used(connection_id, host_ids)
        return {h: max(0, self.platform.daily_limit - used.get(h, 0)) for h in host_ids}
