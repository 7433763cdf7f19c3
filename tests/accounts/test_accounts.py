"""Accounts: members' domain events, and what a password change does to other sessions."""

from __future__ import annotations

from meetbridge.container import Container
from meetbridge.core.events import Event
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
    assert seen[0].data == {"email": "new@acme.test", "role": "member"}
    assert seen[2].data["previous_id"] == member.id
    assert all(e.org_id == acme.owner.org_id for e in seen)


def test_changing_a_password_ends_the_other_sessions(container: Container, acme: Org) -> None:
    here = container.accounts.start_session(acme.owner, ORIGIN)
    elsewhere = container.accounts.start_session(acme.owner, ORIGIN)
    container.accounts.change_password(
        acme.owner,
        current=PASSWORD,
        new="a-brand-new-passphrase",
        origin=ORIGIN,
        keep_session=here,
    )
    assert container.accounts.session_user(here) is not None
    assert container.accounts.session_user(elsewhere) is None


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
