"""Members' domain events reach subscribers: what onboarding workflows will hang on."""

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
