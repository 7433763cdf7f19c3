"""Accounts: members' domain events, and what a password change does to other sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from meetbridge.accounts.inputs import valid_start_date
from meetbridge.container import Container
from meetbridge.core.errors import PermissionDenied, ValidationFailed
from meetbridge.core.events import Event
from meetbridge.core.models import DomainEvent
from tests.conftest import ORIGIN, PASSWORD, Org


def test_creating_deactivating_and_restoring_a_member_tell_subscribers(
    container: Container, acme: Org
) -> None:
    seen: list[Event] = []
    for name in ("member.created", "member.deactivated", "member.restored"):
        container.events.subscribe(name, "tests.onboarding", seen.append)
    member = container.accounts.create_member(
        acme.owner,
        email="new@acme.test",
        name="New Hire",
        role="member",
        password=PASSWORD,
        origin=ORIGIN,
    )
    container.accounts.deactivate_member(acme.owner, member.id, origin=ORIGIN)
    restored = container.accounts.restore_member(
        acme.owner, member.id, password=PASSWORD, origin=ORIGIN
    )
    # immediate_jobs: each event's dispatch ran when it was published, after its commit.
    assert [(e.name, e.subject_id) for e in seen] == [
        ("member.created", member.id),
        ("member.deactivated", member.id),
        ("member.restored", restored.id),
    ]
    # Enough for a workflow to act without reading the member back.
    assert seen[0].data == {
        "member_id": member.id,
        "email": "new@acme.test",
        "role": "member",
        "name": "New Hire",
        "timezone": "UTC",  # the organisation's
        "start_date": None,
    }
    assert seen[1].data == seen[0].data
    assert seen[2].data == {**seen[0].data, "member_id": restored.id, "previous_id": member.id}
    assert all(e.org_id == acme.owner.org_id for e in seen)


def test_changing_a_password_ends_the_other_sessions(container: Container, acme: Org) -> None:
    here = container.signin.start_session(acme.owner, ORIGIN)
    elsewhere = container.signin.start_session(acme.owner, ORIGIN)
    container.accounts.change_password(
        acme.owner,
        current=PASSWORD,
        new="a-brand-new-passphrase",
        origin=ORIGIN,
        keep_session=here,
    )
    assert container.signin.session_user(here) is not None
    assert container.signin.session_user(elsewhere) is None


def test_only_admins_see_deactivated_logins(container: Container, acme: Org) -> None:
    member = container.accounts.create_member(
        acme.owner, email="m@acme.test", name="M", role="member", password=PASSWORD, origin=ORIGIN
    )
    gone = container.accounts.create_member(
        acme.owner, email="g@acme.test", name="G", role="member", password=PASSWORD, origin=ORIGIN
    )
    container.accounts.deactivate_member(acme.owner, gone.id, origin=ORIGIN)
    as_admin = container.accounts.list_members(acme.owner, include_inactive=True)
    as_member = container.accounts.list_members(member, include_inactive=True)
    assert gone.id in {u.id for u in as_admin}
    assert gone.id not in {u.id for u in as_member} and member.id in {u.id for u in as_member}


def test_a_member_is_onboarded_when_a_start_date_is_given_set_or_moved(
    container: Container, acme: Org
) -> None:
    onboarded: list[Event] = []
    container.events.subscribe("member.onboarded", "tests.onboarding", onboarded.append)
    today = container.clock.now().astimezone(dt.UTC).date()
    first_day = today + dt.timedelta(days=30)
    accounts = container.accounts

    def names() -> list[tuple[str, str | None]]:
        return [(e.subject_id, e.data["start_date"]) for e in onboarded]

    hire = accounts.create_member(
        acme.owner,
        email="hire@acme.test",
        name="New Hire",
        role="member",
        password=PASSWORD,
        timezone="Europe/Paris",
        start_date=first_day.isoformat(),
        origin=ORIGIN,
    )
    assert hire.start_date == first_day
    assert onboarded[0].data == {
        "member_id": hire.id,
        "email": "hire@acme.test",
        "role": "member",
        "name": "New Hire",
        "timezone": "Europe/Paris",
        "start_date": first_day.isoformat(),
    }
    plain = accounts.create_member(
        acme.owner, email="p@acme.test", name="P", role="member", password=PASSWORD, origin=ORIGIN
    )
    assert names() == [(hire.id, first_day.isoformat())]  # no start date: not onboarded

    # Unchanged (as a date or as text), or another field changed: nothing.
    accounts.update_member(acme.owner, hire.id, origin=ORIGIN, start_date=first_day)
    accounts.update_member(
        acme.owner, hire.id, origin=ORIGIN, name="Nu Hire", start_date=first_day.isoformat()
    )
    assert len(onboarded) == 1
    # Moved: onboarded again, with the member as they are now.
    later = first_day + dt.timedelta(days=7)
    accounts.update_member(acme.owner, hire.id, origin=ORIGIN, start_date=later.isoformat())
    assert names()[1:] == [(hire.id, later.isoformat())]
    assert onboarded[1].data["name"] == "Nu Hire"
    # Cleared: nothing; set again: onboarded.
    accounts.update_member(acme.owner, hire.id, origin=ORIGIN, start_date="")
    assert accounts.get_member(acme.owner, hire.id).start_date is None
    assert len(onboarded) == 2
    accounts.update_member(acme.owner, plain.id, origin=ORIGIN, start_date=today.isoformat())
    assert names()[2:] == [(plain.id, today.isoformat())]

    # Refused changes record nothing: a member may not set their own start date, and a bad
    # date is refused along with the other bad fields.
    with pytest.raises(PermissionDenied):
        accounts.update_member(plain, plain.id, origin=ORIGIN, start_date=later.isoformat())
    with pytest.raises(ValidationFailed) as bad:
        accounts.update_member(
            acme.owner, hire.id, origin=ORIGIN, timezone="Mars/Olympus", start_date="2027-02-30"
        )
    assert [e.field for e in bad.value.errors] == ["timezone", "start_date"]
    assert len(onboarded) == 3
    with container.db.read() as s:
        rows = s.scalar(select(func.count()).where(DomainEvent.name == "member.onboarded"))
    assert rows == 3  # the rows are the deliveries: none written for the changes that were not

    # A restored login is the same person: their start date comes along, no new onboarding.
    accounts.update_member(acme.owner, hire.id, origin=ORIGIN, start_date=later.isoformat())
    accounts.deactivate_member(acme.owner, hire.id, origin=ORIGIN)
    restored = accounts.restore_member(acme.owner, hire.id, password=PASSWORD, origin=ORIGIN)
    assert restored.start_date == later
    assert [e.subject_id for e in onboarded].count(restored.id) == 0


def test_start_dates_are_read_strictly_and_kept_near_today() -> None:
    today = dt.date(2026, 12, 2)

    def reason(raw: str) -> str:
        with pytest.raises(ValidationFailed) as exc:
            valid_start_date(raw, today)
        [error] = exc.value.errors
        assert error.field == "start_date"
        return error.reason

    assert valid_start_date(" 2027-01-04 ", today) == dt.date(2027, 1, 4)
    assert valid_start_date("", today) is None and valid_start_date(None, today) is None
    assert valid_start_date("2024-12-02", today) == dt.date(2024, 12, 2)  # 2 years back, to the day
    assert valid_start_date("2031-12-02", today) == dt.date(2031, 12, 2)  # 5 years ahead
    assert reason("2024-12-01") == "is more than 2 years ago: the earliest is 2024-12-02"
    assert reason("2031-12-03") == "is more than 5 years ahead: the latest is 2031-12-02"
    assert reason("2027-02-30") == "2027-02-30 is not a day of the calendar"
    # date.fromisoformat alone takes the first two; \d would match the Arabic-Indic digits.
    arabic = "\u0662\u0660\u0662\u0667-\u0660\u0661-\u0660\u0664"
    for raw in ("20270104", "2027-W01-1", "2027-01-04T09:00", arabic):
        assert reason(raw).startswith("must be a date as YYYY-MM-DD"), raw
    assert reason("9" * 5000) == f"must be a date as YYYY-MM-DD, not {'9' * 17 + '...'!r}"
    # 29 February two years back is a day without one: the bound is the 28th.
    leap = dt.date(2028, 2, 29)
    assert valid_start_date("2026-02-28", leap) == dt.date(2026, 2, 28)
    with pytest.raises(ValidationFailed):
        valid_start_date("2026-02-27", leap)
