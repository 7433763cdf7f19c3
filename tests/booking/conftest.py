"""Fixtures of the booking tests: the product and the Zoom sandbox live, Ann's Zoom
connected, and helpers to make a published meeting type and book it over the public API."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from meetbridge.booking.inputs import MeetingTypeInput, TypeMember
from meetbridge.booking.types import TypeView
from tests.calendar_servers import feed_server, radicale  # noqa: F401
from tests.conftest import ORIGIN, PASSWORD
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(
        tmp_path, database_url, smtp, zoom_timeout=2.0, booking_link_wait_seconds=0.0
    ) as e:
        browser = e.signed_in("ann@acme.test")
        e.connect(browser, "maria@zoom-sandbox.test")
        yield e


def add_member(env: ZoomEnv, email: str, name: str, zoom_email: str | None = None) -> None:
    """A member of Acme, with their own Zoom connected when `zoom_email` is given."""
    owner = env.user("owner@acme.test")
    env.c.accounts.create_member(
        owner, email=email, name=name, role="member", password=PASSWORD, origin=ORIGIN
    )
    if zoom_email:
        env.connect(env.signed_in(email), zoom_email)


def make_type(env: ZoomEnv, members: list[str], publish: bool = True, **over: Any) -> TypeView:
    owner = env.user("owner@acme.test")
    data = MeetingTypeInput(
        name=over.pop("name", "Intro call"),
        slug=over.pop("slug", "intro"),
        duration=over.pop("duration", 30),
        members=[TypeMember(env.user(m).id) for m in members],
        **over,
    )
    view = env.c.meeting_types.create(owner, data, ORIGIN)
    if publish:
        view = env.c.meeting_types.publish(owner, view.type.id, True, ORIGIN)
    return view


def public(env: ZoomEnv) -> httpx.Client:
    return httpx.Client(base_url=f"{env.product}/api/v1/public", timeout=30)


def next_weekday(days: int = 7) -> dt.date:
    day = dt.date.today() + dt.timedelta(days=days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def slots_on(env: ZoomEnv, day: dt.date, slug: str = "intro") -> list[dict[str, Any]]:
    with public(env) as api:
        start = dt.datetime.combine(day, dt.time(0), dt.UTC)
        r = api.get(
            f"/acme/{slug}/slots",
            params={
                "from": start.isoformat(),
                "to": (start + dt.timedelta(days=1)).isoformat(),
                "timezone": "UTC",
            },
        )
        assert r.status_code == 200, r.text
        return list(r.json())


def starts_on(env: ZoomEnv, day: dt.date, slug: str = "intro") -> set[str]:
    """The slots offered that day, as UTC "HH:MM"."""
    return {s["start"][11:16] for s in slots_on(env, day, slug)}


def mail_about(
    smtp: SmtpServer, to: str, subject: str, count: int = 1, timeout: float = 15
) -> list[EmailMessage]:
    """The e-mails to `to` whose subject has `subject` in it, once there are `count`."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in smtp.inbox.messages if to in str(m["To"]) and subject in m["Subject"]]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, (
            f"no {subject!r} e-mail to {to}: {[str(m['Subject']) for m in smtp.inbox.messages]}"
        )
        time.sleep(0.05)


def book(
    env: ZoomEnv, start: str, email: str = "client@example.test", slug: str = "intro", **over: Any
) -> httpx.Response:
    body = {"start": start, "name": "Cleo Client", "email": email, "timezone": "Europe/Paris"}
    with public(env) as api:
        return api.post(f"/acme/{slug}/bookings", json={**body, **over})


def api_as(env: ZoomEnv, email: str) -> httpx.Client:
    """The signed-in API (/api/v1) with a token of `email`'s."""
    token = env.c.api_tokens.create_api_token(
        env.user(email), name=f"t-{uuid.uuid4()}", origin=ORIGIN
    ).secret
    return httpx.Client(
        base_url=f"{env.product}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def manage_link(mail: EmailMessage) -> tuple[str, str]:
    """(booking id, token) of the booker's manage link in `mail`."""
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = text.split("Reschedule or cancel: ")[1].split()[0]
    bid, token = link.rsplit("/", 2)[-2:]
    return bid, token
