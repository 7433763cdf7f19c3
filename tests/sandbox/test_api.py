"""The /v2 operations: behaviour, Zoom's errors, and every 2xx body validated against Zoom's
published OpenAPI spec (openapi-core)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.sandbox.conftest import Sandbox, bearer

SPEC = (
    Path(__file__).resolve().parent / "fixtures" / "ZoomMeetingAPISpec.2023-10.covered-paths.json"
)
COVERED = [
    "/users",
    "/users/{userId}",
    "/users/{userId}/meetings",
    "/meetings/{meetingId}",
    "/meetings/{meetingId}/registrants",
    "/meetings/{meetingId}/recordings",
    "/meetings/{meetingId}/registrants/status",
    "/past_meetings/{meetingId}",
]


COVERED_OPERATIONS = {
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{userId}"),
    ("POST", "/users/{userId}/meetings"),
    ("GET", "/users/{userId}/meetings"),
    ("GET", "/meetings/{meetingId}"),
    ("PATCH", "/meetings/{meetingId}"),
    ("DELETE", "/meetings/{meetingId}"),
    ("POST", "/meetings/{meetingId}/registrants"),
    ("GET", "/meetings/{meetingId}/registrants"),
    ("GET", "/meetings/{meetingId}/recordings"),
    ("PUT", "/meetings/{meetingId}/registrants/status"),
    ("GET", "/past_meetings/{meetingId}"),
}


def _normalise(node: Any, parent: str = "") -> Any:
    """Makes the downloaded spec valid OpenAPI 3.0 without changing what it says: `in` and
    `style` in lower case, and its non-standard `extensions` objects (vendor `x-` keys)
    dropped."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if (
                k == "extensions"
                and parent != "properties"
                and isinstance(v, dict)
                and all(key.startswith("x-") for key in v)
            ):
                continue
            if k in ("in", "style") and isinstance(v, str) and parent != "properties":
                v = v.lower()
            out[k] = _normalise(v, k)
        return out
    if isinstance(node, list):
        return [_normalise(v, parent) for v in node]
    return node


def zoom_spec() -> dict[str, Any]:
    raw = json.loads(SPEC.read_text())
    raw["paths"] = {p: raw["paths"][p] for p in COVERED}
    raw["servers"] = [{"url": "https://api.zoom.us/v2"}]
    return _normalise(raw)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(zoom_spec())


@dataclass
class _Req:
    method: str
    path: str
    body: bytes | None
    content_type: str = "application/json"
    host_url: str = "https://api.zoom.us"
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Resp:
    status_code: int
    data: bytes
    content_type: str
    headers: Headers


def conforms(openapi: OpenAPI, r: httpx.Response) -> httpx.Response:
    """Raises unless the response matches Zoom's spec for that operation."""
    url = urlparse(str(r.request.url))
    req = _Req(
        r.request.method.lower(),
        url.path,
        r.request.content or None,
        parameters=RequestParameters(
            query=ImmutableMultiDict(httpx.QueryParams(url.query).multi_items())
        ),
    )
    resp = _Resp(
        r.status_code,
        r.content,
        r.headers.get("content-type", "application/json"),
        Headers(list(r.headers.items())),
    )
    openapi.validate_response(req, resp)
    return r


@pytest.fixture
def admin(sandbox: Sandbox) -> httpx.Client:
    client = sandbox.http()
    client.headers.update(bearer(sandbox.s2s_token()))
    return client


def test_meeting_lifecycle_conforms(
    sandbox: Sandbox, admin: httpx.Client, openapi: OpenAPI
) -> None:
    body = {
        "topic": "Design review",
        "type": 2,
        "start_time": "2030-03-10T15:00:00",
        "timezone": "Europe/Berlin",
        "duration": 45,
        "agenda": "Roadmap",
        "password": "ab@-_*12",
        "settings": {"waiting_room": True, "join_before_host": True, "approval_type": 0},
    }
    created = conforms(openapi, admin.post("/v2/users/sam@zoom-sandbox.test/meetings", json=body))
    assert created.status_code == 201
    m = created.json()
    assert isinstance(m["id"], int) and m["id"] >= 10**10
    assert m["start_time"] == "2030-03-10T14:00:00Z"  # 15:00 in Berlin (CET) is 14:00 UTC
    assert m["timezone"] == "Europe/Berlin" and m["password"] == "ab@-_*12"
    assert f"/j/{m['id']}?pwd=" in m["join_url"] and "/s/" in m["start_url"]
    assert m["settings"]["join_before_host"] is False  # off while the waiting room is on
    assert "uuid" not in m  # only GET carries uuid, host_id, status

    got = conforms(openapi, admin.get(f"/v2/meetings/{m['id']}")).json()
    assert got["uuid"] and got["status"] == "waiting" and got["host_id"]

    r = admin.patch(
        f"/v2/meetings/{m['id']}",
        json={"topic": "Design review (moved)", "start_time": "2030-03-11T09:30:00Z"},
    )
    assert r.status_code == 204 and r.content == b""
    got = admin.get(f"/v2/meetings/{m['id']}").json()
    assert got["topic"] == "Design review (moved)" and got["start_time"] == "2030-03-11T09:30:00Z"
    admin.patch(f"/v2/meetings/{m['id']}", json={"start_time": "2001-01-01T00:00:00Z"})
    assert admin.get(f"/v2/meetings/{m['id']}").json()["start_time"] == "2030-03-11T09:30:00Z"

    reg = conforms(
        openapi,
        admin.post(
            f"/v2/meetings/{m['id']}/registrants",
            json={"email": "guest@example.test", "first_name": "Gus"},
        ),
    )
    assert reg.status_code == 201 and reg.json()["registrant_id"]
    listed = conforms(openapi, admin.get(f"/v2/meetings/{m['id']}/registrants")).json()
    assert [x["email"] for x in listed["registrants"]] == ["guest@example.test"]
    assert (
        admin.get(f"/v2/meetings/{m['id']}/registrants?status=pending").json()["total_records"] == 0
    )
    deny = {"action": "deny", "registrants": [{"email": "guest@example.test"}]}
    r = conforms(openapi, admin.put(f"/v2/meetings/{m['id']}/registrants/status", json=deny))
    assert r.status_code == 204
    assert admin.get(f"/v2/meetings/{m['id']}/registrants?status=denied").json()["total_records"]

    assert admin.delete(f"/v2/meetings/{m['id']}").status_code == 204
    r = admin.get(f"/v2/meetings/{m['id']}")
    assert r.status_code == 404
    assert r.json() == {"code": 3001, "message": f"Meeting {m['id']} is not found or has expired."}


def test_start_time_rules(admin: httpx.Client) -> None:
    host = "/v2/users/li@zoom-sandbox.test/meetings"  # host time zone America/New_York
    cases = [
        ({"start_time": "2030-07-01T12:00:00Z", "timezone": "Asia/Tokyo"}, "2030-07-01T12:00:00Z"),
        ({"start_time": "2030-07-01T12:00:00", "timezone": "Asia/Tokyo"}, "2030-07-01T03:00:00Z"),
        ({"start_time": "2030-07-01T12:00:00"}, "2030-07-01T16:00:00Z"),
    ]
    for extra, expected in cases:
        m = admin.post(host, json={"topic": "t", **extra}).json()
        assert m["start_time"] == expected, extra


def test_lists_users_and_meetings_with_pagination(
    sandbox: Sandbox, admin: httpx.Client, openapi: OpenAPI
) -> None:
    for i in range(5):
        admin.post(
            "/v2/users/priya@zoom-sandbox.test/meetings",
            json={"topic": f"m{i}", "start_time": f"2030-01-0{i + 1}T10:00:00Z"},
        )
    seen, token = [], ""
    while True:
        r = conforms(
            openapi,
            admin.get(
                "/v2/users/priya@zoom-sandbox.test/meetings",
                params={"page_size": 2, "next_page_token": token},
            ),
        )
        page = r.json()
        seen += [x["topic"] for x in page["meetings"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == ["m0", "m1", "m2", "m3", "m4"]
    users = conforms(openapi, admin.get("/v2/users", params={"page_size": 4})).json()
    assert len(users["users"]) == 4 and users["next_page_token"]
    nxt = admin.get(
        "/v2/users", params={"page_size": 4, "next_page_token": users["next_page_token"]}
    )
    assert len(nxt.json()["users"]) == 2
    sandbox.control("POST", "/clock", json={"advance": 16 * 60})
    expired = admin.get(
        "/v2/users", params={"page_size": 4, "next_page_token": users["next_page_token"]}
    )
    assert expired.status_code == 400 and expired.json()["code"] == 300
    one = conforms(openapi, admin.get("/v2/users/dana@zoom-sandbox.test")).json()
    assert one["email"] == "dana@zoom-sandbox.test" and one["type"] == 2


def test_create_user(admin: httpx.Client, openapi: OpenAPI) -> None:
    body = {
        "action": "create",
        "user_info": {"email": "new@zoom-sandbox.test", "type": 1, "first_name": "New"},
    }
    r = conforms(openapi, admin.post("/v2/users", json=body))
    assert r.status_code == 201 and r.json()["email"] == "new@zoom-sandbox.test"
    pending = admin.get("/v2/users", params={"status": "pending"}).json()
    assert [u["email"] for u in pending["users"]] == ["new@zoom-sandbox.test"]
    dup = admin.post("/v2/users", json=body)
    assert dup.status_code == 409 and dup.json()["code"] == 1005
    bad = admin.post("/v2/users", json={"action": "create", "user_info": {"email": "x", "type": 1}})
    assert bad.status_code == 400
    assert bad.json() == {
        "code": 300,
        "message": "Validation Failed.",
        "errors": [{"field": "user_info.email", "message": "Invalid field."}],
    }


def test_recordings_appear_after_the_meeting_ends(
    sandbox: Sandbox, admin: httpx.Client, openapi: OpenAPI
) -> None:
    m = admin.post("/v2/users/me@x/meetings", json={}).json()  # unknown user
    assert m == {"code": 1001, "message": "User does not exist: me@x."}
    m = admin.post(
        "/v2/users/dana@zoom-sandbox.test/meetings",
        json={"topic": "Recorded", "settings": {"auto_recording": "cloud"}},
    ).json()
    r = admin.get(f"/v2/meetings/{m['id']}/recordings")
    assert r.status_code == 404 and r.json()["code"] == 3301
    sandbox.control("POST", f"/meetings/{m['id']}/start")
    assert admin.delete(f"/v2/meetings/{m['id']}").json()["code"] == 3002  # in progress
    sandbox.control("POST", "/clock", json={"advance": 600})
    sandbox.control("POST", f"/meetings/{m['id']}/end")
    rec = conforms(openapi, admin.get(f"/v2/meetings/{m['id']}/recordings")).json()
    assert rec["recording_count"] == 2 and rec["duration"] == 10
    assert {f["file_type"] for f in rec["recording_files"]} == {"MP4", "M4A"}
    # A UUID may hold `/` (about one in three do): Zoom wants it double-encoded in the path.
    uuid = quote(quote(rec["uuid"], safe=""), safe="")
    past = conforms(openapi, admin.get(f"/v2/past_meetings/{uuid}")).json()
    assert past["uuid"] == rec["uuid"] and past["duration"] == 10


def test_a_pro_host_runs_one_meeting_at_a_time(sandbox: Sandbox, admin: httpx.Client) -> None:
    a = admin.post("/v2/users/sam@zoom-sandbox.test/meetings", json={"topic": "a"}).json()
    b = admin.post("/v2/users/sam@zoom-sandbox.test/meetings", json={"topic": "b"}).json()
    sandbox.control("POST", f"/meetings/{a['id']}/start")
    r = httpx.post(f"{sandbox.url}/_sandbox/meetings/{b['id']}/start")
    assert r.status_code == 409 and "already hosting" in r.json()["error"]


def test_start_url_expires_after_two_hours(sandbox: Sandbox, admin: httpx.Client) -> None:
    m = admin.post("/v2/users/sam@zoom-sandbox.test/meetings", json={"topic": "s"}).json()
    start_url = m["start_url"]
    sandbox.control("POST", "/clock", json={"advance": 2 * 3600 + 1})
    assert httpx.get(start_url).status_code == 403
    admin.headers.update(bearer(sandbox.s2s_token()))  # the old token expired with the hour
    fresh = admin.get(f"/v2/meetings/{m['id']}").json()["start_url"]
    assert httpx.get(fresh).status_code == 200
    assert admin.get(f"/v2/meetings/{m['id']}").json()["status"] == "started"


def test_zoom_errors(sandbox: Sandbox, admin: httpx.Client) -> None:
    api = sandbox.http()
    assert api.get("/v2/users").json() == {"code": 124, "message": "Invalid access token."}
    assert api.get("/v2/users", headers=bearer("nope")).status_code == 401
    cases = [
        ({"topic": "x" * 201}, "topic"),
        ({"duration": -5}, "duration"),
        ({"type": 5}, "type"),
        ({"start_time": "tomorrow"}, "start_time"),
        ({"start_time": "0640-05-19T11:58:50+04:43"}, "start_time"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"agenda": "a" * 2001}, "agenda"),
    ]
    for body, field_name in cases:
        r = admin.post("/v2/users/dana@zoom-sandbox.test/meetings", json=body)
        assert r.status_code == 400, body
        assert r.json()["code"] == 300 and r.json()["errors"][0]["field"] == field_name
    r = admin.post("/v2/users/dana@zoom-sandbox.test/meetings", json={"password": "12345678901"})
    assert r.status_code == 400 and r.json()["code"] == 300
    r = admin.post(
        "/v2/users/dana@zoom-sandbox.test/meetings",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == 300
    assert admin.get("/v2/meetings/12345678901").json()["code"] == 3001
    assert admin.get("/v2/users", params={"page_size": 301}).status_code == 400
    m = admin.post("/v2/users/dana@zoom-sandbox.test/meetings", json={"topic": "no reg"}).json()
    r = admin.post(
        f"/v2/meetings/{m['id']}/registrants", json={"email": "a@b.test", "first_name": "A"}
    )
    assert r.status_code == 400 and r.json()["code"] == 3000
    basic = admin.post(
        "/v2/users/basil@zoom-sandbox.test/meetings", json={"settings": {"approval_type": 0}}
    ).json()
    r = admin.post(
        f"/v2/meetings/{basic['id']}/registrants", json={"email": "a@b.test", "first_name": "A"}
    )
    assert r.status_code == 400 and "licensed" in r.json()["message"]


def test_scopes_classic_granular_and_4711(sandbox: Sandbox) -> None:
    # A user-level token with the default scopes acts on its own user only.
    tokens = sandbox.user_tokens("maria@zoom-sandbox.test")
    api = sandbox.http()
    api.headers.update(bearer(tokens["access_token"]))
    mine = api.post("/v2/users/me/meetings", json={"topic": "mine"})
    assert mine.status_code == 201
    r = api.post("/v2/users/sam@zoom-sandbox.test/meetings", json={"topic": "not mine"})
    assert r.status_code == 400 and r.json()["code"] == 4711
    assert "meeting:write:meeting:admin" in r.json()["message"]
    r = api.get("/v2/users")
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Invalid access token, does not contain scopes:[user:read:list_users:admin]."
    )
    other = sandbox.http()
    other.headers.update(bearer(sandbox.s2s_token()))
    sams = other.post("/v2/users/sam@zoom-sandbox.test/meetings", json={"topic": "sam"}).json()
    r = api.get(f"/v2/meetings/{sams['id']}")
    assert r.status_code == 400 and r.json()["code"] == 3000
    # granular scopes: write creates; update and delete need their own
    sandbox.control(
        "PATCH",
        f"/apps/{sandbox.core.config.s2s_client_id}",
        json={"scopes": ["meeting:write:meeting:admin", "meeting:read:meeting:admin"]},
    )
    g = sandbox.http()
    g.headers.update(bearer(sandbox.s2s_token()))
    made = g.post("/v2/users/sam@zoom-sandbox.test/meetings", json={"topic": "g"})
    assert made.status_code == 201
    r = g.delete(f"/v2/meetings/{made.json()['id']}")
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Invalid access token, does not contain scopes:[meeting:delete:meeting:admin]."
    )


def test_start_meeting_page_lists_scopes_on_consent(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.url, follow_redirects=True) as browser:
        r = browser.post(
            "/signin", data={"email": "li@zoom-sandbox.test", "password": "sandbox-password"}
        )
        assert "Meetings of Li Wei" in r.text
        r = browser.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": sandbox.core.config.user_client_id,
                "redirect_uri": sandbox.core.config.redirect_uris[0],
            },
        )
        assert "meeting:write" in r.text and "Allow" in r.text


def _expires(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_registrant_capacity_is_4999(sandbox: Sandbox, admin: httpx.Client) -> None:
    m = admin.post(
        "/v2/users/dana@zoom-sandbox.test/meetings",
        json={"topic": "full", "settings": {"approval_type": 0}},
    ).json()
    core = sandbox.core
    meeting = core.find_meeting(str(m["id"]))
    from meetbridge_sandbox.state import Registrant

    meeting.registrants = [
        Registrant(
            id=str(i),
            email=f"r{i}@example.test",
            first_name="R",
            last_name="",
            status="approved",
            create_time=0,
            join_url="",
            participant_pin_code=1,
        )
        for i in range(4999)
    ]
    r = admin.post(
        f"/v2/meetings/{m['id']}/registrants",
        json={"email": "one-more@example.test", "first_name": "One"},
    )
    assert r.status_code == 400 and r.json()["code"] == 3043
    again = admin.post(
        f"/v2/meetings/{m['id']}/registrants", json={"email": "r7@example.test", "first_name": "R"}
    )
    assert again.status_code == 201  # an existing registrant is returned, not refused
