"""Every POST form route of the pages, with a valid session and CSRF token, gets random and
hostile field values (non-ASCII, huge, NUL, numbers past any limit, dates past the calendar,
missing fields) and path IDs: the answer is never a 5xx. Derandomized: the same cases every run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetbridge.container import Container
from meetbridge.web.routes import ROUTERS
from tests.conftest import ORIGIN, PASSWORD, Org
from tests.web.test_pages import csrf, sign_in

# Every field name the templates' forms use (`name="…"`), plus a few they do not.
FIELDS = [
    *("account_id", "agenda", "body_text", "client_id", "client_secret", "current_password"),
    *("date", "description", "duration", "email", "emails", "invitees", "join_before_host"),
    *("name", "new_password", "passcode", "password", "platform", "project", "project_id"),
    *("role", "subject", "time", "timezone", "title", "token", "username", "waiting_room"),
    *("when", "confirm", "id", "start_date"),
    # The booking pages' forms.
    *("slug", "assignment", "interval", "buffer_before", "buffer_after", "min_notice"),
    *("horizon_days", "daily_cap", "reminders", "cutoff", "fallback", "fallback_value"),
    *("show_members", "published", "day_0", "day_6", "overrides", "location"),
    *("location_value", "kind", "url", "start"),
    # The new request's Repeats fieldset and "Update recurring requests".
    *("repeat_frequency", "repeat_interval", "repeat_weekday_0", "repeat_monthly_by"),
    *("repeat_end", "repeat_until", "repeat_count", "repeat_exceptions", "clone_zoom_settings"),
]
HOSTILE = [
    "",
    " ",
    "é",
    "\x00",
    "a\x00b",
    "日本語のタイトル",
    "\U0001f600" * 50,
    "A" * 100_000,
    "-1",
    "0",
    "1e309",
    "9" * 5000,
    "true",
    "9999-12-31",
    "0001-01-01",
    "23:59",
    "25:61",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "posix/UTC",
    "localtime",
    "owner",
    "admin",
    "<script>alert(1)</script>",
    "{{ 7 * 7 }}{% for x in range(10**9) %}{% endfor %}",
    "' OR 1=1 --",
    "owner@acme.test",
    "a@b",
    ",".join(f"p{i}@x.test" for i in range(400)),
    "on",
]
# The values every field of every form gets at once (the rest come in random mixes).
SWEEP = ["", "é", "a\x00b", "A" * 100_000, "9" * 5000, "9999-12-31", "<script>", "owner"]
# A start whose UTC instant is past year 9999.
FAR_FUTURE = {"title": "x", "date": "9999-12-31", "time": "23:59", "timezone": "Etc/GMT+12"}
VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300))
# The routes left out, and why: signing out ends the session the other cases need.
SKIP = {"/signout"}


def _post_routes() -> list[str]:
    return sorted(
        {
            route.path
            for router in ROUTERS
            for route in router.routes
            if isinstance(route, APIRoute) and "POST" in route.methods and route.path not in SKIP
        }
    )


def _ids(container: Container, acme: Org) -> list[str]:
    member = container.accounts.create_member(
        acme.owner,
        email="member@acme.test",
        name="A Member",
        role="member",
        password=PASSWORD,
        origin=ORIGIN,
    )
    token = container.api_tokens.create_api_token(acme.owner, name="other", origin=ORIGIN)
    return [member.id, token.token.id, "invite", "reminder", "nope", "é", "0" * 36]


@pytest.mark.slow
def test_no_form_gives_a_5xx(client: TestClient, container: Container, acme: Org) -> None:
    ids = _ids(container, acme)
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/team").text)
    routes = _post_routes()
    assert len(routes) >= 20, routes

    statuses: dict[int, int] = {}
    for path in routes:
        # Every field at once holding the same hostile value, then random mixes.
        for form in [dict.fromkeys(FIELDS, v) for v in SWEEP] + [FAR_FUTURE, {}]:
            url = _fill(path, ids)
            r = client.post(url, data={**form, "csrf_token": token}, follow_redirects=False)
            assert r.status_code < 500, (url, form, r.status_code, r.text[:300])
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        _fuzz(client, path, token, ids)
    # The forms were read and answered, not all refused at the door.
    assert {303, 404, 422} <= set(statuses), statuses
    # The session survived the run, so every case above was tried signed in.
    assert client.get("/team", follow_redirects=False).status_code == 200


def _fuzz(client: TestClient, path: str, token: str, ids: list[str]) -> None:
    @given(
        form=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8),
        params=st.lists(st.sampled_from(ids) | st.text(min_size=1, max_size=40), min_size=3),
        query=st.sampled_from(["", "?back=troubleshooting", "?back=%C3%A9", "?x=" + "é" * 9]),
    )
    @settings(
        max_examples=6,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(form: dict[str, str], params: list[str], query: str) -> None:
        url = _fill(path, params) + query
        r = client.post(url, data={**form, "csrf_token": token}, follow_redirects=False)
        assert r.status_code < 500, (url, form, r.status_code, r.text[:300])

    run()


def _fill(path: str, params: list[str]) -> str:
    parts: list[Any] = []
    values = iter(params)
    for piece in path.split("/"):
        if piece.startswith("{") and piece.endswith("}"):
            parts.append(quote(next(values), safe=""))
        else:
            parts.append(piece)
    return "/".join(parts)
