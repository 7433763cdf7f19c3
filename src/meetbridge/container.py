"""The composition root: builds every long-lived part of one process from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from meetbridge.core.db import Database
from meetbridge.core.jobs import JobQueue, make_huey
from meetbridge.core.settings import Settings
from meetbridge.notify.email import Mailer, make_mailer
from meetbridge.services.accounts import Accounts
from meetbridge.services.mail import RECONCILE_TASK, SEND_TASK, MailDelivery


@dataclass
class Container:
    settings: Settings
    db: Database
    jobs: JobQueue
    mailer: Mailer
    mail: MailDelivery
    accounts: Accounts

    def close(self) -> None:
        self.db.dispose()


def build_container(
    settings: Settings, *, immediate_jobs: bool = False, mailer: Mailer | None = None
) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    jobs = JobQueue(make_huey(settings, immediate=immediate_jobs))
    mailer = mailer or make_mailer(settings)
    mail = MailDelivery(db, mailer, jobs)
    register_tasks(jobs, mail)
    return Container(
        settings=settings,
        db=db,
        jobs=jobs,
        mailer=mailer,
        mail=mail,
        accounts=Accounts(db, settings, mail),
    )


def register_tasks(jobs: JobQueue, mail: MailDelivery) -> None:
    """Every task the workers run, by name. Each is idempotent and keyed by a domain id."""
    jobs.task(SEND_TASK, mail.deliver)
    jobs.periodic(RECONCILE_TASK, mail.reconcile)
