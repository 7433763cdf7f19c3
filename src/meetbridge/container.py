"""The composition root: builds every long-lived part of one process from its settings."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from meetbridge.accounts.service import Accounts
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database
from meetbridge.core.jobs import JobQueue, make_huey
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.client import ClientConfig, ZoomClient
from meetbridge.integrations.zoom.connections import (
    RECONCILE_TASK as ZOOM_RECONCILE_TASK,
)
from meetbridge.integrations.zoom.connections import (
    REVOKE_TASK,
    WEBHOOK_TASK,
    ZoomConnections,
)
from meetbridge.integrations.zoom.limits import RateLimiter, RedisRateLimiter, SqlRateLimiter
from meetbridge.integrations.zoom.oauth import ZoomOAuth
from meetbridge.integrations.zoom.platform import ZoomPlatform
from meetbridge.integrations.zoom.tokens import TokenManager
from meetbridge.meetings.lifecycle import WORK_TASK as MEETINGS_WORK_TASK
from meetbridge.meetings.reconcile import RECONCILE_TASK as MEETINGS_RECONCILE_TASK
from meetbridge.meetings.service import Meetings
from meetbridge.notify.email import Mailer, make_mailer
from meetbridge.notify.outbox import RECONCILE_TASK, SEND_TASK, MailDelivery
from meetbridge.notify.wording import Templates
from meetbridge.projects.service import Projects


@dataclass
class Container:
    settings: Settings
    db: Database
    jobs: JobQueue
    mailer: Mailer
    mail: MailDelivery
    accounts: Accounts
    crypto: Crypto
    zoom: ZoomClient
    limiter: RateLimiter
    connections: ZoomConnections
    meetings: Meetings
    projects: Projects
    templates: Templates

    def close(self) -> None:
        self.zoom.http.close()
        self.db.dispose()


def build_container(
    settings: Settings,
    *,
    immediate_jobs: bool = False,
    mailer: Mailer | None = None,
    zoom_transport: httpx.BaseTransport | None = None,
) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    jobs = JobQueue(make_huey(settings, immediate=immediate_jobs))
    mailer = mailer or make_mailer(settings)
    mail = MailDelivery(db, mailer, jobs)
    crypto = Crypto.from_settings(settings)
    http = httpx.Client(
        timeout=settings.zoom_timeout,
        transport=zoom_transport,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
    )
    oauth = ZoomOAuth(settings.zoom_oauth_base, http)
    limiter: RateLimiter = (
        RedisRateLimiter(settings.redis_url) if settings.redis_url else SqlRateLimiter(db)
    )
    tokens = TokenManager(
        db, crypto, oauth, settings.zoom_client_id, settings.zoom_client_secret.get_secret_value()
    )
    zoom = ZoomClient(
        ClientConfig(
            api_base=settings.zoom_api_base,
            plan=settings.zoom_plan,
            qps_multiplier=settings.zoom_qps_multiplier,
            retries=settings.zoom_retries,
            max_wait=settings.zoom_max_wait,
        ),
        tokens,
        limiter,
        http,
    )
    connections = ZoomConnections(db, settings, crypto, oauth, zoom, jobs, mail)
    tokens.on_lost = connections.connection_lost
    meetings = Meetings(db, settings, ZoomPlatform(zoom), jobs, mail)
    # Zoom's meeting webhooks and its data-deletion requests reach the meetings engine.
    connections.handlers["meeting.updated"] = meetings.on_zoom_updated
    connections.handlers["meeting.deleted"] = meetings.on_zoom_deleted
    connections.purgers.append(meetings.purge_zoom_data)
    c = Container(
        settings=settings,
        db=db,
        jobs=jobs,
        mailer=mailer,
        mail=mail,
        accounts=Accounts(db, settings, mail),
        crypto=crypto,
        zoom=zoom,
        limiter=limiter,
        connections=connections,
        meetings=meetings,
        projects=Projects(db),
        templates=Templates(db),
    )
    register_tasks(c)
    return c


def register_tasks(c: Container) -> None:
    """Every task the workers run, by name. Each is idempotent and keyed by a domain id."""
    c.jobs.task(SEND_TASK, c.mail.deliver)
    c.jobs.periodic(RECONCILE_TASK, c.mail.reconcile)
    c.jobs.task(REVOKE_TASK, c.connections.revoke)
    c.jobs.task(WEBHOOK_TASK, c.connections.process_webhook)

    def zoom_reconcile() -> None:
        c.connections.reconcile()
        c.limiter.prune()

    c.jobs.periodic(ZOOM_RECONCILE_TASK, zoom_reconcile)
    c.jobs.task(MEETINGS_WORK_TASK, c.meetings.work)
    c.jobs.periodic(MEETINGS_RECONCILE_TASK, c.meetings.reconcile)
