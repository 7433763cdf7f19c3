"""Revoking at Zoom as durable work (a moved clock, not edited rows), and Zoom's removal of the
app matching only the Zoom user it names."""

from __future__ import annotations

from sqlalchemy import func, select

from meetbridge.container import Container
from meetbridge.core.clock import ManualClock
from meetbridge.core.models import AuditEvent
from meetbridge.integrations.zoom.oauth import OAuthFailed, ZoomOAuth
from meetbridge.integrations.zoom.revocations import RETRY, Revocations, queue_revocation
from meetbridge.integrations.zoom.tables import (
    ConnectionKind,
    ConnectionStatus,
    RevocationStatus,
    ZoomConnection,
    ZoomRevocation,
)
from meetbridge.integrations.zoom.webhooks import ZoomEvent
from tests.conftest import Org


class ZoomDown(ZoomOAuth):
    def __init__(self) -> None:
        self.calls = 0

    def revoke(self, client_id: str, client_secret: str, token: str) -> None:
        self.calls += 1
        raise OAuthFailed("server_error", "Zoom is down", 503)


def _revocations(c: Container, oauth: ZoomOAuth, clock: ManualClock) -> Revocations:
    return Revocations(c.db, c.settings, c.crypto, oauth, c.zoom, c.jobs, c.mail, clock)


def test_a_revoke_zoom_keeps_failing_ends_failed_and_the_token_goes(container: Container) -> None:
    with container.db.write() as s:
        rid = queue_revocation(s, container.crypto.encrypt("refresh-token"), "app")
    clock, zoom = ManualClock(), ZoomDown()  # from the moment it was queued
    revocations = _revocations(container, zoom, clock)
    for attempt in range(1, RETRY.max_attempts or 0):
        assert revocations.revoke(rid) == RevocationStatus.PENDING
        assert revocations.revoke(rid) == RevocationStatus.PENDING  # not due: no call
        assert zoom.calls == attempt
        clock.advance(RETRY.delay(attempt).total_seconds())
    assert revocations.revoke(rid) == RevocationStatus.FAILED
    with container.db.read() as s:
        row = s.get(ZoomRevocation, rid)
    assert row and row.token_enc == "" and row.last_error == "server_error: Zoom is down"
    assert row.attempts == RETRY.max_attempts and zoom.calls == RETRY.max_attempts
    clock.advance(days=1)
    assert revocations.reconcile() == 0


def test_a_removal_without_the_zoom_user_matches_no_purged_connection(
    container: Container, acme: Org
) -> None:
    """A connection whose Zoom data was deleted has NULL Zoom ids; `== None` would match it."""
    with container.db.write() as s:
        s.add(
            ZoomConnection(
                org_id=acme.owner.org_id,
                kind=ConnectionKind.USER,
                user_id=acme.owner.id,
                status=ConnectionStatus.ENDED,
                zoom_account_id=None,
                zoom_user_id=None,
            )
        )

    def audited() -> int:
        with container.db.read() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "zoom.removed_in_zoom")
                )
                or 0
            )

    for payload in ({}, {"account_id": "acct"}, {"user_id": "u"}):
        event = ZoomEvent("app_deauthorized", payload, 1)
        assert container.revocations.on_deauthorized(event) == "ignored"
    assert audited() == 0
