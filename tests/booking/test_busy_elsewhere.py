"""A member is not offered while they take part in a service request: booking reads the busy
times other modules hold (core/busy.py), without knowing the requests module."""

from __future__ import annotations

import datetime as dt

from meetbridge.requests.inputs import Participant, RequestInput
from tests.booking.conftest import make_type, next_weekday, starts_on
from tests.conftest import ORIGIN
from tests.zoom_env import ZoomEnv


def _request(env: ZoomEnv, day: dt.date, provider: str, status: str = "confirmed") -> str:
    at = dt.datetime.combine(day, dt.time(10))
    data = RequestInput(
        client="Clinic North",
        service="Interpreting",
        start=at,
        end=at + dt.timedelta(hours=1),
        timezone="UTC",
        status=status,
        participants=[Participant("provider", provider)],
    )
    return env.c.requests.create(env.user("owner@acme.test"), data, ORIGIN).id


def test_a_member_providing_a_request_is_not_offered_then(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"])
    day = next_weekday()
    assert {"10:00", "10:30", "11:00"} <= starts_on(env, day)
    owner = env.user("owner@acme.test")
    _request(env, day, "owner@acme.test")  # someone else's request: Ann stays free
    _request(env, day, "ann@acme.test", status="draft")  # a draft holds nobody
    assert {"10:00", "10:30"} <= starts_on(env, day)

    rid = _request(env, day, "ann@acme.test")
    starts = starts_on(env, day)
    assert not {"10:00", "10:30"} & starts and {"09:30", "11:00"} <= starts

    env.c.requests.set_status(owner, rid, "canceled", ORIGIN)
    assert {"10:00", "10:30"} <= starts_on(env, day)
