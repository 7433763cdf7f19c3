"""Recurring requests' pages over HTTP (signed in, with CSRF): the new-request page's
Repeats fieldset makes a series (every bad field of the request and of its rule named at
once, a series past the limit refused with the limit, nothing written), the series page lists
the occurrences and each occurrence links back to it; "Update recurring requests" with Clone
Zoom Settings starts a job whose page shows its progress and reloads itself until finished,
with every occurrence not placed and why. Against the Zoom sandbox: every occurrence becomes
a Zoom meeting on a pool host."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from meetbridge.app import create_app
from meetbridge.container import Container, build_container
from meetbridge.core.errors import Conflict
from meetbridge.core.settings import Settings
from meetbridge.requests.inputs import SettingsInput
from tests.conftest import ORIGIN, Org
from tests.support import SmtpServer
from tests.web.test_form_fuzz import SWEEP
from tests.web.test_pages import csrf, sign_in
from tests.web.test_requests_pages import (
    ACCOUNT,
    POOL,
    _save_pool,
    field_error,
    member,
    request_form,
    scheduler,
)
from tests.zoom_env import ZoomEnv, zoom_env

REFRESH = '<meta http-equiv="refresh" content="2">'


def _next_monday() -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    return today + dt.timedelta(days=7 - today.weekday())


def series_form(token: str, day: dt.date, **over: str) -> dict[str, str]:
    """Weekly on Monday and Wednesday, six times, from `day` (the request's own fields)."""
    repeat = {
        "repeat_frequency": "weekly",
        "repeat_interval": "1",
        "repeat_weekday_0": "on",
        "repeat_weekday_2": "on",
        "repeat_end": "count",
        "repeat_count": "6",
        "repeat_until": "",
        "repeat_exceptions": "",
    }
    return request_form(token, day, **{**repeat, **over})


def new_series(tc: httpx.Client, **over: str) -> str:
    """Posts the series form; the id of the series its page shows."""
    page = tc.get("/requests/new").text
    form = series_form(csrf(page), _next_monday(), **over)
    r = tc.post("/requests/new", data=form, follow_redirects=False)
    assert r.status_code == 303, re.findall(r'role="alert"[^>]*>([^<]*)', r.text)
    where = str(r.headers["location"])
    assert where.startswith("/requests/series/"), where
    return where.rsplit("/", 1)[1]


def _row_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-request-id="([^"]+)"', page)


def test_a_weekly_series_from_the_new_request_page(
    client: TestClient, container: Container, acme: Org
) -> None:
    scheduler(container, acme)
    member(container, acme)  # the series' provider
    sign_in(client, "sid@acme.test")
    new = client.get("/requests/new").text
    assert "<legend>Repeats" in new and 'name="repeat_weekday_6"' in new
    assert "at most 500" in new

    sid = new_series(client, repeat_exceptions="")
    page = client.get(f"/requests/series/{sid}").text
    assert "Series for Mercy Hospital created: 6 occurrences." in html.unescape(page)
    ids = _row_ids(page)
    assert len(ids) == 6
    days = re.findall(r'<td class="when"><a href="/requests/[^"]+">(\w{3}) ', page)
    assert days == ["Mon", "Wed"] * 3
    assert "10:00" in page and "Europe/Paris" in page
    assert 'data-kind="zoom"' not in page and "Update recurring requests" in page
    rows = container.request_series.occurrences(acme.owner, sid)
    assert [r.id for r in rows] == ids
    assert rows[0].start_at.date() == _next_monday()
    assert {r.start_at.astimezone(dt.UTC).hour for r in rows} == {9}  # 10:00 Paris, winter
    assert {(r.client, r.service, r.status, r.kind) for r in rows} == {
        ("Mercy Hospital", "Spanish interpreting", "confirmed", "regular")
    }

    detail = client.get(f"/requests/{ids[2]}").text
    assert f'href="/requests/series/{sid}">Part of a series: 6 occurrences</a>' in detail

    # An exception date leaves that day out; "Does not repeat" makes a single request.
    wednesday = (_next_monday() + dt.timedelta(days=2)).isoformat()
    other = new_series(client, repeat_count="4", repeat_exceptions=wednesday)
    assert len(container.request_series.occurrences(acme.owner, other)) == 3
    token = csrf(client.get("/requests/new").text)
    single = series_form(token, _next_monday(), repeat_frequency="none", repeat_count="x")
    r = client.post("/requests/new", data=single, follow_redirects=False)
    assert r.status_code == 303 and "/series/" not in r.headers["location"]
    assert "Part of a series" not in client.get(r.headers["location"]).text

    # A member sees no series (nor its link on a request they take part in).
    client.cookies.clear()
    sign_in(client, "ann@acme.test")
    assert client.get(f"/requests/series/{sid}").status_code == 404
    theirs = client.get(f"/requests/{ids[2]}")
    assert theirs.status_code == 200 and "Part of a series" not in theirs.text


def test_every_bad_field_of_the_request_and_its_series_at_once(
    client: TestClient, container: Container, acme: Org
) -> None:
    scheduler(container, acme)
    sign_in(client, "sid@acme.test")
    token = csrf(client.get("/requests/new").text)
    bad = series_form(
        token,
        _next_monday(),
        client="",
        status="lost",
        repeat_weekday_0="",
        repeat_weekday_2="",
        repeat_interval="0",
        repeat_count="10000",
        repeat_exceptions="2027-01-04, someday",
    )
    r = client.post("/requests/new", data=bad)
    assert r.status_code == 422
    page = html.unescape(r.text)
    assert field_error(page, "client") == "is required"
    assert "must be one of" in field_error(page, "status")
    assert field_error(page, "repeat_interval") == "must be a whole number from 1 to 99, not 0"
    assert field_error(page, "repeat_count") == "must be a whole number from 1 to 500, not 10000"
    assert "someday" in field_error(page, "repeat_exceptions")
    assert "at least one weekday" in page
    assert 'value="10000"' in page and "someday</textarea>" in page  # what was typed, kept

    # With a readable request, the rule's own checks: 10,000 daily, or daily for two years.
    bad = series_form(token, _next_monday(), repeat_frequency="daily", repeat_count="10000")
    r = client.post("/requests/new", data=bad)
    assert r.status_code == 422 and "from 1 to 500" in field_error(r.text, "repeat_count")
    until = (_next_monday() + dt.timedelta(days=700)).isoformat()
    bad.update(repeat_end="until", repeat_until=until)
    r = client.post("/requests/new", data=bad)
    assert r.status_code == 422
    assert "more than 500 occurrences" in html.unescape(field_error(r.text, "repeat_until"))
    bad.update(repeat_until=(_next_monday() - dt.timedelta(days=1)).isoformat(), end_time="09:00")
    r = client.post("/requests/new", data=bad)
    assert "is before the start date" in html.unescape(field_error(r.text, "repeat_until"))
    assert field_error(r.text, "end_date") == "must be after the start"
    assert container.requests.search(acme.owner) == []  # nothing written


def test_hostile_values_in_every_series_field_give_no_5xx(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    sid = new_series(client)
    token = csrf(client.get(f"/requests/series/{sid}").text)
    fields = [*series_form(token, _next_monday()), "repeat_monthly_by", "repeat_weekday_6"]
    for value in [*SWEEP, "weekly", "monthly", "²", "0001-01-01", "9999-12-31", "-1"]:
        form = {**dict.fromkeys(fields, value), "csrf_token": token}
        for path in ("/requests/new", f"/requests/series/{sid}/update"):
            r = client.post(path, data=form, follow_redirects=False)
            assert r.status_code < 500, (path, value[:40], r.text[:300])
        form.update(repeat_frequency="monthly", start_date="0001-01-01", timezone="Etc/GMT-14")
        r = client.post("/requests/new", data=form)
        assert r.status_code < 500, (value[:40], r.text[:300])
    far_away = (
        (dt.date(1, 1, 1), "Etc/GMT-14", "00:30", "01:30"),
        (dt.date(9999, 12, 31), "Etc/GMT+12", "22:00", "23:00"),
    )
    for day, tz, start, end in far_away:
        far = series_form(token, day, timezone=tz, start_time=start, end_time=end)
        for freq in ("daily", "weekly", "monthly"):
            r = client.post("/requests/new", data={**far, "repeat_frequency": freq})
            assert r.status_code == 422, (day, freq, r.text[:300])
    for path in (f"/requests/series/{'x' * 90}", "/requests/series-jobs/%C3%A9"):
        assert client.get(path).status_code == 404


def test_update_recurring_requests_runs_a_job_whose_page_follows_it(
    settings: Settings, container: Container, acme: Org, globex: Org
) -> None:
    """A container whose jobs go to the queue (as in production): the job page is seen while
    the job waits, then after the worker's run of it."""
    container.requests.save_settings(acme.owner, SettingsInput(15, 15, ""), ORIGIN)
    queued = build_container(settings, immediate_jobs=False)
    try:
        with TestClient(create_app(queued)) as tc:
            sign_in(tc, "owner@acme.test")
            sid = new_series(tc)
            ids = _row_ids(tc.get(f"/requests/series/{sid}").text)
            container.requests.set_status(acme.owner, ids[1], "canceled", ORIGIN)
            page = tc.get(f"/requests/series/{sid}").text
            token = csrf(page)
            r = tc.post(f"/requests/series/{sid}/update", data={"csrf_token": token})
            assert r.status_code == 422 and "choose Yes or No" in r.text
            no = {"csrf_token": token, "clone_zoom_settings": "no"}
            r = tc.post(f"/requests/series/{sid}/update", data=no)
            assert r.status_code == 422 and "nothing to update" in r.text
            assert tc.post(f"/requests/series/{sid}/update", data={}).status_code == 403
            assert container.request_series.latest_job(sid) is None

            yes = {"csrf_token": token, "clone_zoom_settings": "yes"}
            r = tc.post(f"/requests/series/{sid}/update", data=yes, follow_redirects=False)
            assert r.status_code == 303
            job_url = r.headers["location"]
            assert job_url.startswith("/requests/series-jobs/")
            page = html.unescape(tc.get(job_url).text)
            assert "Making 6 occurrences Zoom meetings" in page
            assert REFRESH in page and "Running" in page
            assert '<progress id="job-progress" max="6" value="0">' in page
            assert '<label for="job-progress">Occurrences looked at: 0 of 6</label>' in page
            assert "Update running: 0 of 6" in tc.get(f"/requests/series/{sid}").text
            r = tc.post(f"/requests/series/{sid}/update", data=yes)  # clicked again
            assert r.status_code == 409 and "already running" in r.text
            with pytest.raises(Conflict, match="already running"):  # the API's way in, too
                queued.request_series.clone_zoom(acme.owner, sid, ORIGIN)
            latest = container.request_series.latest_job(sid)
            assert latest is not None and latest.id == job_url.rsplit("/", 1)[1]  # no second one

            assert queued.request_series.run(latest.id) == "done"  # what the worker does
            page = html.unescape(tc.get(job_url).text)
            assert REFRESH not in page and "Finished at" in page
            assert '<progress id="job-progress" max="6" value="6">' in page
            assert re.search(r'id="job-placed">0 Zoom meetings<', page)
            assert re.search(r'id="job-not-placed">6<', page)
            reasons = dict(re.findall(r'<tr data-request-id="([^"]+)">.*?<td>([^<]*)</td>', page))
            assert list(reasons) == ids
            assert reasons[ids[1]] == "canceled: not converted"
            assert "the host pool is empty" in reasons[ids[0]]
            page = tc.get(f"/requests/series/{sid}").text
            assert "Last update: 0 of 6 placed on Zoom, 6 not placed." in page

            # Another organisation's job and series are not found.
            tc.cookies.clear()
            sign_in(tc, "owner@globex.test")
            assert tc.get(job_url).status_code == 404
            assert tc.get(f"/requests/series/{sid}").status_code == 404
            r = tc.post(
                f"/requests/series/{sid}/update",
                data={**yes, "csrf_token": csrf(tc.get("/team").text)},
            )
            assert r.status_code == 404
    finally:
        queued.close()


# ---- against the Zoom sandbox -------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        e.c.connections.save_account(e.user("owner@acme.test"), *ACCOUNT, ORIGIN)
        yield e


def test_clone_zoom_settings_makes_every_occurrence_a_zoom_meeting(env: ZoomEnv) -> None:
    admin = env.signed_in("owner@acme.test")
    assert _save_pool(admin, "\n".join(POOL)).status_code == 303
    sid = new_series(admin, timezone="UTC", repeat_count="4", client="Weekly Tutoring")
    token = csrf(admin.get(f"/requests/series/{sid}").text)
    r = admin.post(
        f"/requests/series/{sid}/update", data={"csrf_token": token, "clone_zoom_settings": "yes"}
    )
    assert r.status_code == 303
    page = admin.get(r.headers["location"]).text
    deadline = time.monotonic() + 30
    while REFRESH in page:  # the worker may still be on it
        assert time.monotonic() < deadline
        time.sleep(0.5)
        page = admin.get(r.headers["location"]).text
    assert re.search(r'id="job-placed">4 Zoom meetings<', page)
    assert re.search(r'id="job-not-placed">0<', page) and 'id="not-placed"' not in page

    page = admin.get(f"/requests/series/{sid}").text
    assert page.count('data-kind="zoom"') == 4
    hosts = re.findall(r'<td class="small">([^<]+@zoom-sandbox\.test)</td>', page)
    assert len(hosts) == 4 and set(hosts) == set(POOL)  # spread over the pool
    deadline = time.monotonic() + 20
    while True:
        at_zoom = [
            m
            for h in POOL
            for m in env.control("GET", f"/meetings?host={h}")
            if "Weekly Tutoring" in str(m["topic"])
        ]
        if len(at_zoom) == 4:
            break
        assert time.monotonic() < deadline, at_zoom
        time.sleep(0.2)
    starts = sorted(str(m["start_time"])[:10] for m in at_zoom)
    monday = _next_monday()
    assert starts == [(monday + dt.timedelta(days=d)).isoformat() for d in (0, 2, 7, 9)]
