"""Choosing a pool host for a request's window.

The window a Zoom request holds on its host is [start - lead, end + padding]: the host link
opens `lead` minutes early and an overrun has `padding` minutes (the organisation's
settings). Another meeting on the host conflicts when its own window, widened the same way,
overlaps it — so two meetings on one host are more than lead + padding apart.

The hosts of the pool are tried in a shuffled order; a host is skipped when
- it is no active, licensed user of the account now (Zoom's listing, cached a minute),
- another request holds an overlapping window on it, or a meeting meetbridge made on it
  another way (the Meetings page's host picker) overlaps,
- it has used Zoom's 100 creates and updates for today,
- Zoom lists a meeting on it that meetbridge did not make (made in Zoom's own app) and
  that overlaps (read through the account connection, cached a minute).
The first three are read before the lock, then the request holds are read again under the
organisation's lock (`still_free`), so two conversions never take one host for overlapping
times; Zoom's listing is read outside any transaction."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict
from meetbridge.core.platform import PlatformError, PlatformHost
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.source import SourceKind
from meetbridge.requests.reads import LONGEST_BLOCK
from meetbridge.requests.tables import RequestSettings, ServiceRequest
from meetbridge.scheduling import pool
from meetbridge.scheduling.intervals import Interval

Window = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Choice:
    host: PlatformHost
    block: Window  # [start - lead, end + padding]
    note: str  # the hosts skipped and why, for the request's page


def _hhmm(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


class HostChooser:
    def __init__(self, db: Database, meetings: Meetings) -> None:
        self.db = db
        self.meetings = meetings
        # Fairness, not secrecy: a seeded generator shuffles 200 hosts six times cheaper
        # than the OS's randomness.
        self._shuffle = random.Random().shuffle

    def choose(
        self,
        r: ServiceRequest,
        start: dt.datetime,
        end: dt.datetime,
        *,
        prefer: str | None = None,
        spent: dict[str, int] | None = None,
    ) -> Choice:
        """A free host for [start, end] (`prefer`, the request's host now, first), or
        Conflict naming the window and every host tried with why. `spent`: creates a bulk
        job has already asked of each host (by platform id) that Zoom's count may not show
        yet; the least used go first, so a series spreads over the pool. The caller has
        checked that its actor is a scheduler: any listed user of the account may host."""
        with self.db.connect() as conn:
            st = conn.execute(_SETTINGS, {"org": r.org_id}).first()
            if st is None or not st.host_pool:
                raise Conflict(
                    "host_pool",
                    "the host pool is empty: an admin adds Zoom users under Settings → "
                    "Integrations → Zoom",
                )
            lead = dt.timedelta(minutes=st.lead_minutes)
            pad = dt.timedelta(minutes=st.padding_minutes)
            block = (start - lead, end + pad)
            # Every host's, in the same connection; those of the pool are kept below.
            held = busy_blocks(conn, r.org_id, block, exclude=r.id)
        connection = self.meetings.account_connection(r.org_id)
        if connection is None:
            raise Conflict(
                "host",
                "the organisation's Zoom account is not connected (Settings → Integrations → Zoom)",
            )
        listed = {h.email.lower(): h for h in self.meetings.listed_hosts(connection)}
        order = list(st.host_pool)
        self._shuffle(order)
        if prefer is not None:
            order.sort(key=lambda e: listed.get(e) is None or listed[e].id != prefer)
        spent = spent or {}
        if spent:
            order.sort(key=lambda e: spent.get(listed[e].id, 0) if e in listed else 0)
        tried: list[str] = []
        hosts: list[PlatformHost] = []
        for email in order:
            host = listed.get(email)
            if host is None:
                tried.append(f"{email}: not an active, licensed user of the account now")
            else:
                hosts.append(host)
        ids = [h.id for h in hosts]
        pooled = set(ids)
        held = {h: ws for h, ws in held.items() if h in pooled}
        # Meetings made on these hosts another way: widened by lead and padding.
        for _mid, host_id, at, until, kind in self.meetings.pool_busy(
            r.org_id, ids, block[0] - pad, block[1] + lead
        ):
            if kind != SourceKind.REQUEST:
                held.setdefault(host_id, []).append((at - lead, until + pad))
        index = pool.Busy({h: [Interval(*w) for w in ws] for h, ws in held.items()})
        window = Interval(*block)
        by_id = {h.id: h for h in hosts}
        # Hosts found unfit once free in meetbridge: at Zoom's daily limit, or with a meeting
        # Zoom lists that meetbridge did not make. Both are read for a candidate only (one
        # counter, one cached listing), not for the whole pool.
        flags: dict[str, str] = {}
        while True:
            c = pool.choose(window, [pool.Host(h, flags.get(h, "")) for h in ids], index, spent)
            skipped = tried + [f"{by_id[k.host_id].email}: {k.reason}" for k in c.skipped]
            if c.host_id is None:
                break
            host = by_id[c.host_id]
            room = self.meetings.daily_room(connection, [host.id])[host.id]
            if room - spent.get(host.id, 0) <= 0:
                flags[c.host_id] = f"at Zoom's {pool.DAILY_LIMIT} a day"
                continue
            outside = self._outside(connection, host, block[0] - pad, block[1] + lead)
            if outside is None:
                note = "; ".join(skipped)
                return Choice(host, block, f"Skipped: {note}" if note else "")
            flags[c.host_id] = outside
        raise Conflict(
            "host",
            f"no host of the pool is free from {_hhmm(block[0])} to {_hhmm(block[1])} "
            f"({st.lead_minutes} minutes before the start and {st.padding_minutes} after the "
            f"end included); tried: " + ("; ".join(skipped) or "none"),
        )

    def _outside(
        self, connection: str, host: PlatformHost, start: dt.datetime, end: dt.datetime
    ) -> str | None:
        """Why a meeting in Zoom that meetbridge did not make keeps the host, or None."""
        try:
            listed = self.meetings.at_platform(connection, host.id, start, end)
        except PlatformError as exc:
            return f"Zoom did not list its meetings ({exc.message}); not chosen unseen"
        if not listed:
            return None
        ours = self.meetings.known_platform_ids([m.id for m in listed])
        for m in listed:
            if m.id not in ours and m.start_at is not None:
                return f"has a meeting made in Zoom outside meetbridge at {_hhmm(m.start_at)}"
        return None

    def still_free(self, s: Session, r: ServiceRequest, choice: Choice) -> bool:
        """Under the organisation's lock: no other request took the host for the window."""
        held = busy_blocks(s.connection(), r.org_id, choice.block, exclude=r.id)
        return choice.host.id not in held


# Built once: on a choice's path, composing and caching a statement costs as much as running it.
_SETTINGS = select(
    RequestSettings.lead_minutes, RequestSettings.padding_minutes, RequestSettings.host_pool
).where(RequestSettings.org_id == bindparam("org"))
# By the organisation's time index, every host: an IN of a whole pool would make the database
# seek once per host; the caller keeps the hosts it asks about.
_HELD = select(
    ServiceRequest.zoom_host_id, ServiceRequest.block_start, ServiceRequest.block_end
).where(
    ServiceRequest.org_id == bindparam("org"),
    ServiceRequest.block_start >= bindparam("since"),
    ServiceRequest.block_start < bindparam("until"),
    ServiceRequest.block_end > bindparam("after"),
    ServiceRequest.id != bindparam("exclude"),
)


def busy_blocks(
    conn: Connection, org_id: str, block: Window, *, exclude: str | None
) -> dict[str, list[Window]]:
    """The windows other requests (not `exclude`) hold on any host that overlap `block`."""
    rows = conn.execute(
        _HELD,
        {
            "org": org_id,
            "since": block[0] - LONGEST_BLOCK,
            "until": block[1],
            "after": block[0],
            "exclude": exclude or "",
        },
    )
    out: dict[str, list[Window]] = {}
    for host, bs, be in rows:
        if host is not None and bs is not None and be is not None:
            out.setdefault(host, []).append((bs, be))
    return out
