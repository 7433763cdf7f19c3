"""The composition root: builds every long-lived part of one process from its settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from meetbridge.accounts.email_change import EmailChanges
from meetbridge.accounts.orgs import Organisations
from meetbridge.accounts.passwords import PasswordLinks
from meetbridge.accounts.service import Accounts, MemberEvent
from meetbridge.accounts.signin import SignIn
from meetbridge.accounts.tokens import ApiTokens
from meetbridge.booking import availability as booking_availability
from meetbridge.booking import notices as booking_notices
from meetbridge.booking.availability import Availabilities
from meetbridge.booking.notices import Notices
from meetbridge.booking.service import Bookings
from meetbridge.booking.types import MeetingTypes
from meetbridge.core import events as domain_events
from meetbridge.core import retention
from meetbridge.core.busy import BusyTimes
from meetbridge.core.clock import Clock, SystemClock
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database
from meetbridge.core.events import EventBus, EventStatus
from meetbridge.core.files import private_dir
from meetbridge.core.idempotency import Idempotency
from meetbridge.core.jobs import JobQueue, make_huey
from meetbridge.core.models import DomainEvent, EmailMessage, IdempotencyKey, LoginAttempt
from meetbridge.core.retention import Retention, Rule
from meetbridge.core.settings import Settings
from meetbridge.integrations.calendars import CalendarClient
from meetbridge.integrations.zoom.client import ClientConfig, ZoomClient
from meetbridge.integrations.zoom.install import ZoomConnections
from meetbridge.integrations.zoom.limits import RateLimiter, RedisRateLimiter, SqlRateLimiter
from meetbridge.integrations.zoom.oauth import ZoomOAuth
from meetbridge.integrations.zoom.passthrough import ZoomPassthrough
from meetbridge.integrations.zoom.platform import ZoomPlatform
from meetbridge.integrations.zoom.revocations import REVOKE_TASK, Revocations
from meetbridge.integrations.zoom.tables import ConnectionKind, ConnectionStatus, ZoomConnection
from meetbridge.integrations.zoom.tokens import TokenManager
from meetbridge.integrations.zoom.webhooks import WEBHOOK_TASK, Handler, ZoomEvent, ZoomWebhooks
from meetbridge.integrations.zoom.webhooks import retention_rule as webhooks_retention_rule
from meetbridge.meetings.detached import REATTACH_TASK
from meetbridge.meetings.lifecycle import WORK_TASK as MEETINGS_WORK_TASK
from meetbridge.meetings.reconcile import RECONCILE_TASK as MEETINGS_RECONCILE_TASK
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.status import MeetingEvent
from meetbridge.notify.email import Mailer, make_mailer
from meetbridge.notify.outbox import RECONCILE_TASK, SEND_TASK, MailDelivery, MailStatus
from meetbridge.notify.wording import Templates
from meetbridge.projects.service import Projects
from meetbridge.requests import series as request_series
from meetbridge.requests import sync as request_sync
from meetbridge.requests.series import Series
from meetbridge.requests.service import Requests
from meetbridge.workflows import engine as workflow_engine
from meetbridge.workflows.engine import Engine
from meetbridge.workflows.service import EVENT_TRIGGERS, ZOOM_TRIGGERS, Workflows
from meetbridge.workflows.tables import RunStatus, WorkflowRun

# One periodic task finds the Zoom work that is due: revocations, webhook events, old counters.
ZOOM_RECONCILE_TASK = "zoom.reconcile"


@dataclass
class Container:
    settings: Settings
    clock: Clock
    db: Database
    events: EventBus
    retention: Retention
    jobs: JobQueue
    mailer: Mailer
    mail: MailDelivery
    orgs: Organisations
    accounts: Accounts
    signin: SignIn
    api_tokens: ApiTokens
    passwords: PasswordLinks
    email_changes: EmailChanges
    crypto: Crypto
    zoom: ZoomClient
    limiter: RateLimiter
    connections: ZoomConnections
    revocations: Revocations
    webhooks: ZoomWebhooks
    passthrough: ZoomPassthrough
    meetings: Meetings
    projects: Projects
    templates: Templates
    idempotency: Idempotency
    meeting_types: MeetingTypes
    availability: Availabilities
    bookings: Bookings
    requests: Requests
    request_series: Series
    workflows: Workflows

    def close(self) -> None:
        self.zoom.http.close()
        self.db.dispose()


def build_container(
    settings: Settings,
    *,
    immediate_jobs: bool = False,
    mailer: Mailer | None = None,
    zoom_transport: httpx.BaseTransport | None = None,
    clock: Clock | None = None,
) -> Container:
    private_dir(settings.data_dir)
    clock = clock or SystemClock()
    db = Database(settings.effective_database_url)
    jobs = JobQueue(make_huey(settings, immediate=immediate_jobs))
    events = EventBus(db, jobs, clock)
    mailer = mailer or make_mailer(settings)
    mail = MailDelivery(db, mailer, jobs, clock)
    passwords = PasswordLinks(db, settings, mail, clock)
    email_changes = EmailChanges(db, settings, mail, clock)
    mail.secrets = {
        "welcome": passwords.link_for_mail,
        "password_reset": passwords.link_for_mail,
        "email_change": email_changes.link_for_mail,
    }
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
        db,
        crypto,
        oauth,
        settings.zoom_client_id,
        settings.zoom_client_secret.get_secret_value(),
        # A refresh's lease outlasts the token call's timeout, with room to spare.
        lease=dt.timedelta(seconds=max(30.0, 3 * settings.zoom_timeout)),
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
        # Zoom's limits count real seconds (the shared counters and the meetings engine's
        # prepaid windows too): the client keeps the system clock; its tests inject one.
    )
    connections = ZoomConnections(db, settings, crypto, oauth, zoom, jobs)
    meetings = Meetings(db, settings, ZoomPlatform(zoom), jobs, mail, events)
    # The meeting records are meetbridge's: a removal in Zoom deletes the connection's Zoom
    # data, not the meetings (meetings/detached.py); a reconnect attaches them again.
    revocations = Revocations(db, settings, crypto, oauth, zoom, jobs, mail, clock)
    passthrough = ZoomPassthrough(connections, zoom)
    workflows = Workflows(
        db,
        Engine(db, passthrough, meetings, mail, jobs, clock, settings.effective_base_url),
        passthrough,
        crypto,
        clock,
    )

    def on_connected(connection_id: str) -> None:
        jobs.enqueue(REATTACH_TASK, connection_id)
        # The workflow runs a lost account connection stopped go on from their failed step.
        with db.read() as s:
            conn = s.get(ZoomConnection, connection_id)
            org_id = conn.org_id if conn and conn.kind == ConnectionKind.ACCOUNT else None
        if org_id is not None:
            workflows.engine.retry_after_reconnect(org_id)

    connections.on_connected = on_connected
    tokens.on_lost = revocations.connection_lost
    webhooks = ZoomWebhooks(
        db, settings, jobs, zoom_event_handlers(db, revocations, meetings, workflows), clock
    )
    calendars = CalendarClient(allow_private=settings.calendar_allow_private)
    availability = Availabilities(
        db, crypto, calendars, jobs, clock, meetings, settings.calendar_refresh_minutes
    )
    notices = Notices(db, settings, meetings, availability, calendars, mail, jobs, clock)
    busy_elsewhere = BusyTimes()
    bookings = Bookings(
        db,
        settings,
        meetings,
        availability,
        notices,
        clock,
        limiter,
        events=events,
        elsewhere=busy_elsewhere,
    )
    notices.manage_url = bookings.manage_url
    mail.secrets["booking"] = notices.link_for_mail
    # A booking's confirmation waits for its meeting's join link (booking/notices.py).
    for name in (MeetingEvent.CREATED, MeetingEvent.FAILED, MeetingEvent.CANCELLED):
        events.subscribe(name, "booking.confirm", notices.on_meeting_event)
    # A booking follows its meeting moved elsewhere (the Meetings page, the API, Zoom).
    events.subscribe(MeetingEvent.UPDATED, "booking.follow", bookings.on_meeting_moved)
    events.subscribe(MemberEvent.DEACTIVATED, "booking.reassign", bookings.on_member_gone)
    # Workflows start on meetbridge's events and wake when a meeting they made exists.
    for trigger in EVENT_TRIGGERS:
        events.subscribe(trigger, "workflows.trigger", workflows.on_event)
    for name in (MeetingEvent.CREATED, MeetingEvent.FAILED):
        events.subscribe(name, "workflows.wake", workflows.on_meeting_event)
    requests = Requests(db, meetings, mail, jobs, clock, events=events)
    busy_elsewhere.add(requests.members_busy)
    series = Series(db, requests, jobs, clock)
    c = Container(
        settings=settings,
        clock=clock,
        db=db,
        events=events,
        retention=Retention(db, clock, settings.retention_days, _retention_rules()),
        jobs=jobs,
        mailer=mailer,
        mail=mail,
        orgs=Organisations(db),
        accounts=Accounts(db, settings, mail, events, clock),
        signin=SignIn(db, settings, clock),
        api_tokens=ApiTokens(db),
        passwords=passwords,
        crypto=crypto,
        zoom=zoom,
        limiter=limiter,
        connections=connections,
        revocations=revocations,
        webhooks=webhooks,
        passthrough=passthrough,
        meetings=meetings,
        projects=Projects(db),
        templates=Templates(db),
        idempotency=Idempotency(db),
        email_changes=email_changes,
        meeting_types=MeetingTypes(db, meetings.zoom_of_hosts),
        availability=availability,
        bookings=bookings,
        requests=requests,
        request_series=series,
        workflows=workflows,
    )
    register_tasks(c)
    return c


def zoom_event_handlers(
    db: Database, revocations: Revocations, meetings: Meetings, workflows: Workflows
) -> dict[str, Handler]:
    """Zoom's events and who handles each: the one table. An event not in it is answered and
    dropped at intake (not stored, not queued)."""

    def to_workflows(event: ZoomEvent) -> str:
        # The organisations connected to the event's Zoom account (its admin connection or
        # its members' own): the workflows of each that start on it.
        account = str(event.payload.get("account_id") or "")
        with db.read() as s:
            orgs = set(
                s.scalars(
                    select(ZoomConnection.org_id).where(
                        ZoomConnection.zoom_account_id == account,
                        ZoomConnection.status != ConnectionStatus.ENDED,
                    )
                ).all()
            )
        return workflows.on_zoom_event(sorted(orgs), event.name, event.payload, event.event_ts)

    def on_meeting_updated(event: ZoomEvent) -> str:
        return meetings.on_zoom_updated(event.payload, event.event_ts)

    def on_meeting_deleted(event: ZoomEvent) -> str:
        return meetings.on_zoom_deleted(event.payload, event.event_ts)

    return {
        "app_deauthorized": revocations.on_deauthorized,
        "meeting.updated": on_meeting_updated,
        "meeting.deleted": on_meeting_deleted,
        **dict.fromkeys(ZOOM_TRIGGERS, to_workflows),
    }


def _retention_rules() -> list[Rule]:
    """What is pruned, per table: only finished rows."""
    return [
        Rule(
            "email_messages",
            EmailMessage,
            EmailMessage.created_at,
            EmailMessage.status.in_((MailStatus.SENT, MailStatus.FAILED)),
        ),
        webhooks_retention_rule(),
        Rule(
            "domain_events",
            DomainEvent,
            DomainEvent.occurred_at,
            DomainEvent.status.in_((EventStatus.DONE, EventStatus.FAILED)),
        ),
        Rule("login_attempts", LoginAttempt, LoginAttempt.created_at),
        Rule(
            "workflow_runs",
            WorkflowRun,
            WorkflowRun.created_at,
            WorkflowRun.status.in_((RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)),
        ),
        # A key only matters while a client may retry; the created thing stays.
        Rule("idempotency_keys", IdempotencyKey, IdempotencyKey.created_at),
    ]


def register_tasks(c: Container) -> None:
    """Every task the workers run, by name. Each is idempotent and keyed by a domain id."""
    c.jobs.task(domain_events.DISPATCH_TASK, c.events.dispatch)
    c.jobs.periodic(domain_events.RECONCILE_TASK, c.events.reconcile)
    c.jobs.periodic(retention.PRUNE_TASK, c.retention.prune, minutes="17")
    c.jobs.task(SEND_TASK, c.mail.deliver)
    c.jobs.periodic(RECONCILE_TASK, c.mail.reconcile)
    c.jobs.task(REVOKE_TASK, c.revocations.revoke)
    c.jobs.task(WEBHOOK_TASK, c.webhooks.process)

    def zoom_reconcile() -> None:
        c.revocations.reconcile()
        c.webhooks.reconcile()
        c.limiter.prune()

    c.jobs.periodic(ZOOM_RECONCILE_TASK, zoom_reconcile)
    c.jobs.task(MEETINGS_WORK_TASK, c.meetings.work)
    c.jobs.task(REATTACH_TASK, c.meetings.reattach)
    c.jobs.periodic(MEETINGS_RECONCILE_TASK, c.meetings.reconcile)
    c.jobs.task(booking_notices.NOTICE_TASK, c.bookings.notices.run)
    c.jobs.periodic(booking_notices.RECONCILE_TASK, c.bookings.notices.reconcile)
    c.jobs.task(booking_availability.REFRESH_TASK, c.availability.refresh_one)
    c.jobs.periodic(booking_availability.RECONCILE_TASK, c.availability.reconcile)
    c.jobs.task(request_sync.WORK_TASK, c.requests.run_work)
    c.jobs.periodic(request_sync.RECONCILE_TASK, c.requests.reconcile)
    c.jobs.task(request_series.SERIES_TASK, c.request_series.run)
    c.jobs.periodic(request_series.SERIES_RECONCILE_TASK, c.request_series.reconcile)
    c.jobs.task(workflow_engine.RUN_TASK, c.workflows.engine.run)
    c.jobs.periodic(workflow_engine.RECONCILE_TASK, c.workflows.engine.reconcile)
    c.jobs.periodic(workflow_engine.SCHEDULE_TASK, c.workflows.fire_schedules)
