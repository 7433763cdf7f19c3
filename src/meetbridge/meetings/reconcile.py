"""The reconciler (a periodic task): re-queues due work no job is doing, compares upcoming
meetings with the platform (missed webhooks), and sweeps late copies of unclear creates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update

from meetbridge.core.db import Database, utcnow
from meetbridge.core.jobs import RECONCILE_GRACE, JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import Meeting
from meetbridge.core.platform import HostRef, PlatformChange, PlatformError, VideoPlatform
from meetbridge.core.settings import Settings
from meetbridge.meetings.from_zoom import FromPlatform
from meetbridge.meetings.lifecycle import WORK_TASK, spec_of
from meetbridge.meetings.statements import WORK
from meetbridge.meetings.status import Status

log = get_logger("meetbridge.meetings")

RECONCILE_TASK = "meetings.reconcile"
# Clocks differ between us and the platform: a copy's creation time is compared with this
# much slack before our first attempt.
_CLOCK_SLACK = dt.timedelta(minutes=1)


class Reconciler:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        platform: VideoPlatform,
        jobs: JobQueue,
        from_platform: FromPlatform,
    ) -> None:
        self.db = db
        self.settings = settings
        self.platform = platform
        self.jobs = jobs
        self.from_platform = from_platform

    def reconcile(self, sync_batch: int = 50, requeue_batch: int = 500) -> dict[str, int]:
        """Re-enqueues due work that no job is doing (its enqueue was lost, its worker died,
        its back-off is over), and compares upcoming meetings with the platform (missed
        webhooks). A row due for less than RECONCILE_GRACE is most likely still queued."""
        now = utcnow()
        # Due for longer than the grace (its job is most likely lost), or its claim ran out
        # (its worker died): core/work's reconciler query.
        due_ids = WORK.due_ids(self.db, now, grace=RECONCILE_GRACE, limit=requeue_batch)
        with self.db.read() as s:
            stale = s.scalars(
                select(Meeting)
                .where(
                    Meeting.status == Status.SCHEDULED,
                    Meeting.start_at >= now - dt.timedelta(hours=1),
                    or_(
                        Meeting.last_synced_at.is_(None),
                        Meeting.last_synced_at < now - dt.timedelta(minutes=10),
                    ),
                )
                .order_by(Meeting.last_synced_at)
                .limit(sync_batch)
            ).all()
        for mid in due_ids:
            self.jobs.enqueue(WORK_TASK, mid)
        swept = self.sweep_orphans()
        synced = 0
        for m in stale:
            if m.connection_id is None or m.zoom_meeting_id is None:
                continue
            read_at = utcnow()
            try:
                host = HostRef(m.connection_id, user=m.zoom_host_id)
                pm = self.platform.get(host, m.zoom_meeting_id)
            except PlatformError:
                continue
            if pm is None:
                self.from_platform.deleted(PlatformChange(id=m.zoom_meeting_id))
            else:
                # What the platform holds as we read it: as new as anything before the read.
                self.from_platform.changed(
                    PlatformChange(
                        id=pm.id,
                        at=read_at,
                        title=pm.title,
                        start_at=pm.start_at,
                        duration_min=pm.duration_min,
                        timezone=pm.timezone,
                        agenda=pm.agenda,
                    )
                )
            synced += 1
        return {"requeued": len(due_ids), "synced": synced, "orphans_deleted": swept}

    def sweep_orphans(self, limit: int = 50) -> int:
        """The platform has no idempotency key: a create that timed out can still land there
        after the lookup that preceded our retry. Some minutes after such a meeting is
        scheduled, look once more at the host's meetings and delete the copies no row owns:
        only meetings made from this one's whole body, within the time our create attempts
        could have made one (a meeting the host made by hand is not ours to delete)."""
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=self.settings.meetings_sweep_after_seconds)
        lease = dt.timedelta(seconds=self.settings.effective_meetings_lease)
        with self.db.read() as s:
            rows = s.scalars(
                select(Meeting)
                .where(
                    Meeting.status == Status.SCHEDULED,
                    Meeting.had_ambiguity.is_(True),
                    Meeting.swept_at.is_(None),
                    Meeting.updated_at <= cutoff,
                )
                .limit(limit)
            ).all()
        deleted = 0
        for m in rows:
            if m.connection_id is None:
                continue
            host = HostRef(m.connection_id, user=m.zoom_host_id)
            # A request sent by our last create attempt may be handled up to its lease later.
            window = (m.created_at - _CLOCK_SLACK, (m.last_create_at or m.updated_at) + lease)
            try:
                for copy in self.platform.list_copies(host, spec_of(m), window):
                    if copy.id == m.zoom_meeting_id:
                        continue
                    with self.db.read() as s:
                        owned = s.scalar(
                            select(Meeting.id).where(Meeting.zoom_meeting_id == copy.id)
                        )
                    if owned is None:
                        self.platform.delete(host, copy.id)
                        deleted += 1
                        log.warning("meetings.orphan_deleted", meeting_id=m.id, zoom_id=copy.id)
            except PlatformError:
                continue  # try again on the next pass
            with self.db.write() as s:
                s.execute(update(Meeting).where(Meeting.id == m.id).values(swept_at=utcnow()))
        return deleted
