"""The organisation's Zoom account through admin OAuth, end to end against the live sandbox:
an owner or admin of the Zoom account authorizes meetbridge's admin app on the Integrations
page; workflows then call Zoom through it (`ZoomPassthrough.for_org`)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select

from meetbridge.integrations.zoom.passthrough import CallFailed, ZoomReply
from meetbridge.integrations.zoom.tables import ZoomConnection, ZoomRevocation
from meetbridge_sandbox.config import DEFAULT_ADMIN_SCOPES, DEMO_USER_PASSWORD
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, csrf, zoom_env

ADMIN_APP = "mbDemoAdminApp"
S2S = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        yield e


def start(env: ZoomEnv, browser: httpx.Client) -> str:
    """Clicks "Connect with Zoom (admin OAuth)"; returns Zoom's authorize URL."""
    page = browser.get("/integrations/zoom")
    assert "Connect with Zoom (admin OAuth)" in page.text
    r = browser.post("/integrations/zoom/account/connect", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"].startswith(env.zoom), r.text
    return str(r.headers["location"])


def admin_connect(env: ZoomEnv, browser: httpx.Client, zoom_email: str) -> httpx.Response:
    """The whole flow: to Zoom, sign in, Allow, back; returns meetbridge's final page."""
    callback = env.consent(browser, start(env, browser), zoom_email)
    assert callback.startswith(f"{env.product}/integrations/zoom/account/callback?")
    return browser.get(callback, follow_redirects=True)


def out_of_zoom(env: ZoomEnv, browser: httpx.Client) -> httpx.Client:
    """The same meetbridge session in a browser signed out of Zoom."""
    other = httpx.Client(base_url=env.product, follow_redirects=False, timeout=15)
    other.cookies = httpx.Cookies(browser.cookies)
    other.cookies.delete("zsb_session")
    return other


def org_id(env: ZoomEnv) -> str:
    return env.user("owner@acme.test").org_id


def account(env: ZoomEnv) -> ZoomConnection | None:
    return env.c.connections.account_connection(env.user("owner@acme.test"))


def grants(env: ZoomEnv) -> list[tuple[str, str]]:
    users = {u["id"]: u["email"] for u in env.control("GET", "")["users"]}
    return [(g["client_id"], users[g["user_id"]]) for g in env.control("GET", "")["grants"]]


def failed(env: ZoomEnv, method: str, path: str, **kw: object) -> CallFailed:
    with pytest.raises(CallFailed) as caught:
        env.c.passthrough.for_org(org_id(env), method, path, **kw)  # type: ignore[arg-type]
    return caught.value


def test_an_owner_connects_the_account_and_workflows_call_zoom_through_it(env: ZoomEnv) -> None:
    owner = env.signed_in("owner@acme.test")
    authorize = start(env, owner)
    query = parse_qs(urlparse(authorize).query)
    assert query["client_id"] == [ADMIN_APP] and query["code_challenge_method"] == ["S256"]
    assert query["scope"][0].split() == list(DEFAULT_ADMIN_SCOPES)  # asked for explicitly
    assert query["redirect_uri"] == [f"{env.product}/integrations/zoom/account/callback"]
    callback = env.consent(owner, authorize, "dana@zoom-sandbox.test")
    page = owner.get(callback, follow_redirects=True)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert (
        "The Zoom account mbDemoAccount01 is connected through admin OAuth, authorized by "
        "dana@zoom-sandbox.test." in text
    )
    facts = text[text.index('id="account-zoom-facts"') :]
    assert "Admin OAuth" in facts and "dana@zoom-sandbox.test" in facts
    assert "user:read:list_users:admin" in facts and "user:write:user:admin" in facts

    conn = account(env)
    assert conn and conn.kind == "account" and conn.auth_method == "admin_oauth"
    dana = next(u for u in env.control("GET", "")["users"] if u["email"].startswith("dana@"))
    assert (conn.zoom_account_id, conn.zoom_user_id, conn.client_id) == (
        "mbDemoAccount01",
        dana["id"],
        ADMIN_APP,
    )
    assert conn.client_secret_enc is None and conn.refresh_token_enc and conn.user_id is None
    refresh = next(
        t["value"]
        for t in env.control("GET", "/tokens")
        if t["client_id"] == ADMIN_APP and t["kind"] == "refresh"
    )
    assert refresh not in conn.refresh_token_enc  # stored encrypted
    [entry] = [
        e
        for e in env.c.accounts.list_audit(env.user("owner@acme.test"))
        if e.action == "zoom.account_connected"
    ]
    assert entry.details["how"] == "admin_oauth"
    assert entry.details["zoom_email"] == "dana@zoom-sandbox.test"
    assert entry.actor_id == env.user("owner@acme.test").id and entry.ip == "127.0.0.1"

    org = org_id(env)
    scopes = env.c.passthrough.account_scopes(org)
    assert scopes == frozenset(DEFAULT_ADMIN_SCOPES)
    users = env.c.passthrough.for_org(org, "GET", "/users", params={"page_size": 300})
    assert isinstance(users, ZoomReply) and users.status == 200
    assert len(users.body["users"]) == 6 and users.body["total_records"] == 6
    assert users.request_id and users.request_id.startswith("v=2.0;")
    created = env.c.passthrough.for_org(
        org,
        "POST",
        "/users",
        body={"action": "create", "user_info": {"email": "nova@zoom-sandbox.test", "type": 1}},
    )
    assert created.status == 201 and created.body["email"] == "nova@zoom-sandbox.test"
    assert created.request_id and created.request_id != users.request_id
    assert "nova@zoom-sandbox.test" in [u["email"] for u in env.control("GET", "")["users"]]
    # :admin scopes act on any user of the account, not only on the admin who authorized.
    meeting = env.c.passthrough.for_org(
        org, "POST", "/users/maria@zoom-sandbox.test/meetings", body={"topic": "Onboarding"}
    )
    assert meeting.status == 201
    listed = env.c.passthrough.for_org(org, "GET", "/users/maria@zoom-sandbox.test/meetings")
    assert [m["topic"] for m in listed.body["meetings"]] == ["Onboarding"]
    gone = env.c.passthrough.for_org(org, "DELETE", f"/meetings/{meeting.body['id']}")
    assert gone.status == 204 and gone.body is None and gone.request_id

    missing = failed(env, "GET", "/users/nobody@zoom-sandbox.test")
    assert missing.kind == "not_found" and missing.status == 404 and missing.code == 1001
    assert missing.request_id
    refused = failed(env, "POST", "/users", body={"action": "create", "user_info": {}})
    assert refused.kind == "refused" and refused.errors
    assert refused.errors[0]["field"] == "user_info.email"
    taken = failed(
        env,
        "POST",
        "/users",
        body={"action": "create", "user_info": {"email": "sam@zoom-sandbox.test", "type": 1}},
    )
    assert taken.kind == "refused" and taken.status == 409 and taken.code == 1005


def test_a_member_of_the_zoom_account_is_refused_at_zooms_consent_page(env: ZoomEnv) -> None:
    owner = env.signed_in("owner@acme.test")
    authorize = start(env, owner)
    r = owner.get(authorize)
    assert r.status_code == 303  # Zoom's sign-in first
    r = owner.post(
        f"{env.zoom}{r.headers['location']}",
        data={"email": "maria@zoom-sandbox.test", "password": DEMO_USER_PASSWORD},
    )
    r = owner.get(f"{env.zoom}{r.headers['location']}")
    assert r.status_code == 403
    assert "An account admin is required to install this type of app" in html.unescape(r.text)
    assert "Allow" not in r.text and "location" not in r.headers  # nothing goes back
    form = dict(parse_qs(urlparse(authorize).query))
    forged = owner.post(
        f"{env.zoom}/oauth/authorize",
        data={**{k: v[0] for k, v in form.items()}, "decision": "allow"},
    )
    assert forged.status_code == 403 and "location" not in forged.headers
    assert grants(env) == [] and account(env) is None
    # An admin (not the owner) of the Zoom account may.
    with out_of_zoom(env, owner) as again:
        done = admin_connect(env, again, "priya@zoom-sandbox.test")
    assert "authorized by priya@zoom-sandbox.test" in html.unescape(done.text)
    assert grants(env) == [(ADMIN_APP, "priya@zoom-sandbox.test")]


def test_a_zoom_admin_demoted_before_the_callback_is_refused_and_the_grant_revoked(
    env: ZoomEnv,
) -> None:
    owner = env.signed_in("owner@acme.test")
    callback = env.consent(owner, start(env, owner), "priya@zoom-sandbox.test")
    env.control("PATCH", "/users/priya@zoom-sandbox.test", json={"role_name": "Member"})
    page = owner.get(callback)
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert "priya@zoom-sandbox.test is a member of its Zoom account, not an owner or admin" in text
    assert "Connect with Zoom (admin OAuth)" in text
    assert account(env) is None
    with env.c.db.read() as s:
        [rev] = s.scalars(select(ZoomRevocation)).all()
    assert rev.status == "done" and rev.client_id == ADMIN_APP
    assert grants(env) == []  # what Zoom granted is revoked there


def test_states_are_checked_and_a_declined_consent_is_explained(env: ZoomEnv) -> None:
    owner = env.signed_in("owner@acme.test")
    r = owner.get("/integrations/zoom/account/callback", params={"code": "x", "state": "forged"})
    assert r.status_code == 400 and "was not started here" in r.text
    assert "Start again with Connect with Zoom (admin OAuth)" in html.unescape(r.text)
    # A member's connect attempt is no good at the account's callback (nor the other way).
    page = owner.get("/integrations/zoom")
    r = owner.post("/integrations/zoom/connect", data={"csrf_token": csrf(page.text)})
    state = parse_qs(urlparse(r.headers["location"]).query)["state"][0]
    r = owner.get("/integrations/zoom/account/callback", params={"code": "x", "state": state})
    assert r.status_code == 400 and "was not started here" in r.text
    authorize = start(env, owner)
    declined = env.consent(owner, authorize, "dana@zoom-sandbox.test", decision="deny")
    r = owner.get(declined)
    assert r.status_code == 400
    assert "You declined access in Zoom, so the Zoom account is not connected" in r.text
    assert account(env) is None


def test_members_cannot_start_it_and_forms_need_the_csrf_token(env: ZoomEnv) -> None:
    member = env.signed_in("ann@acme.test")
    page = member.get("/integrations/zoom").text
    assert "Connect with Zoom (admin OAuth)" not in page and 'id="account-zoom"' not in page
    r = member.post("/integrations/zoom/account/connect", data={"csrf_token": csrf(page)})
    assert r.status_code == 403
    owner = env.signed_in("owner@acme.test")
    r = owner.post("/integrations/zoom/account/connect", data={"csrf_token": "0" * 32})
    assert r.status_code == 403 and "location" not in r.headers

    def api(email: str) -> httpx.Response:
        token = env.c.api_tokens.create_api_token(
            env.user(email), name=f"t-{email}", origin=ORIGIN
        ).secret
        return httpx.post(
            f"{env.product}/api/v1/zoom/account/authorize",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    assert api("ann@acme.test").status_code == 403
    r = api("owner@acme.test")
    assert r.status_code == 200
    query = parse_qs(urlparse(r.json()["authorize_url"]).query)
    assert query["client_id"] == [ADMIN_APP] and "user:write:user:admin" in query["scope"][0]


def test_an_expired_access_token_is_renewed_with_the_refresh_token_grant(env: ZoomEnv) -> None:
    owner = env.signed_in("owner@acme.test")
    admin_connect(env, owner, "dana@zoom-sandbox.test")
    before = account(env)
    assert before
    old = [t for t in env.control("GET", "/tokens") if t["client_id"] == ADMIN_APP]
    env.control("POST", "/tokens/expire")
    reply = env.c.passthrough.for_org(org_id(env), "GET", "/users/me")
    assert reply.status == 200 and reply.body["email"] == "dana@zoom-sandbox.test"
    now = {t["value"]: t for t in env.control("GET", "/tokens") if t["client_id"] == ADMIN_APP}
    [old_refresh] = [t for t in old if t["kind"] == "refresh"]
    assert now[old_refresh["value"]]["superseded"]  # rotated away by the refresh_token grant
    fresh = [t for t in now.values() if t["kind"] == "refresh" and not t["superseded"]]
    assert len(fresh) == 1 and fresh[0]["user_id"] == before.zoom_user_id
    after = account(env)
    assert after and after.id == before.id and after.token_version == before.token_version + 1
    assert after.refresh_token_enc != before.refresh_token_enc
    assert after.client_secret_enc is None and after.auth_method == "admin_oauth"


def test_the_app_removed_in_zoom_gives_refresh_and_refused_s2s_credentials_give_auth(
    env: ZoomEnv,
) -> None:
    owner = env.signed_in("owner@acme.test")
    admin_connect(env, owner, "dana@zoom-sandbox.test")
    # Dana removes meetbridge (admin) on Zoom's Added Apps page (the browser is signed in).
    apps = owner.get(f"{env.zoom}/marketplace/user/installed")
    token = re.search(r"name='csrf' value='([^']+)'", apps.text)
    assert token and "meetbridge (admin)" in apps.text
    owner.post(
        f"{env.zoom}/marketplace/user/installed",
        data={"csrf": token.group(1), "client_id": ADMIN_APP},
    )
    assert grants(env) == []
    lost = failed(env, "GET", "/users")
    assert lost.kind == "refresh" and "connect the Zoom account again" in lost.message
    conn = account(env)
    assert conn and conn.status == "needs_reconnect" and conn.refresh_token_enc is None
    assert env.c.passthrough.account_scopes(org_id(env)) is None
    issued = len(env.control("GET", "/tokens"))
    assert failed(env, "GET", "/users").kind == "refresh"
    assert len(env.control("GET", "/tokens")) == issued  # no more calls to Zoom
    page = html.unescape(owner.get("/integrations/zoom").text)
    assert "Needs reconnecting" in page and "Connect with Zoom (admin OAuth) again" in page
    admin_connect(env, owner, "dana@zoom-sandbox.test")  # connects again
    assert env.c.passthrough.for_org(org_id(env), "GET", "/users").status == 200

    # Server-to-Server: its secret regenerated in Zoom, the cached token expired.
    env.c.connections.save_account(env.user("owner@acme.test"), *S2S, ORIGIN)
    assert env.c.passthrough.for_org(org_id(env), "GET", "/users").status == 200
    env.control("PATCH", "/apps/mbDemoS2SApp", json={"client_secret": "regenerated-secret"})
    env.control("POST", "/tokens/expire")
    refused = failed(env, "GET", "/users")
    assert refused.kind == "auth" and "Server-to-Server" in refused.message


def test_replacing_and_disconnecting_revoke_the_admin_grant(env: ZoomEnv) -> None:
    owner = env.signed_in("owner@acme.test")
    admin_connect(env, owner, "dana@zoom-sandbox.test")
    first = account(env)
    # The same Zoom admin again: one grant at Zoom, which the new tokens belong to.
    admin_connect(env, owner, "dana@zoom-sandbox.test")
    second = account(env)
    assert first and second and second.id != first.id
    assert grants(env) == [(ADMIN_APP, "dana@zoom-sandbox.test")]
    assert env.c.passthrough.for_org(org_id(env), "GET", "/users").status == 200
    # Another admin replaces it: Dana's grant is revoked.
    with out_of_zoom(env, owner) as other:
        admin_connect(env, other, "priya@zoom-sandbox.test")
    assert grants(env) == [(ADMIN_APP, "priya@zoom-sandbox.test")]
    page = owner.get("/integrations/zoom")
    done = owner.post(
        "/integrations/zoom/account/disconnect",
        data={"csrf_token": csrf(page.text)},
        follow_redirects=True,
    )
    assert "The Zoom account is disconnected" in done.text
    assert grants(env) == []  # revoked at Zoom
    with env.c.db.read() as s:
        revs = s.scalars(select(ZoomRevocation)).all()
        ended = s.scalars(select(ZoomConnection)).all()
    assert [r.status for r in revs] == ["done", "done"]
    assert all(c.status == "ended" and c.refresh_token_enc is None for c in ended)
    assert failed(env, "GET", "/users").kind == "not_connected"
    assert env.c.passthrough.account_scopes(org_id(env)) is None
    audit = [e.action for e in env.c.accounts.list_audit(env.user("owner@acme.test"))]
    assert audit.count("zoom.account_connected") == 3 and "zoom.account_disconnected" in audit


@pytest.fixture
def narrow(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    """meetbridge asking for fewer admin scopes, and waiting less on a 429."""
    asked = " ".join(s for s in DEFAULT_ADMIN_SCOPES if s != "user:write:user:admin")
    with zoom_env(tmp_path, database_url, smtp, zoom_admin_scopes=asked, zoom_max_wait=0.5) as e:
        yield e


def test_zooms_refusals_come_back_as_their_kinds(narrow: ZoomEnv) -> None:
    env = narrow
    owner = env.signed_in("owner@acme.test")
    admin_connect(env, owner, "dana@zoom-sandbox.test")
    assert "user:write:user:admin" not in (env.c.passthrough.account_scopes(org_id(env)) or ())
    scope = failed(
        env,
        "POST",
        "/users",
        body={"action": "create", "user_info": {"email": "x@zoom-sandbox.test", "type": 1}},
    )
    assert scope.kind == "scope" and "user:write:user:admin" in scope.message
    assert scope.code == 4711 and scope.request_id

    env.control("POST", "/faults", json={"path": "/v2/users", "burst_429": 5})
    began = time.monotonic()
    limited = failed(env, "GET", "/users")
    assert time.monotonic() - began < 2  # Retry-After 1 s is past the 0.5 s max wait
    assert limited.kind == "rate_limited" and limited.status == 429 and limited.request_id
    assert limited.retry_at and limited.retry_at.tzinfo is not None
    # Zoom said when to come back: until then no call under that budget is sent (no Zoom
    # tracking id: it never reached Zoom), whichever process makes it.
    again = failed(env, "GET", "/users")
    assert again.kind == "rate_limited" and again.request_id is None
    env.control("DELETE", "/faults")
    time.sleep(1.1)

    env.control("POST", "/faults", json={"path": "/v2/users", "error_rate": 1.0})
    down = failed(env, "GET", "/users")
    assert down.kind == "unavailable" and down.status == 503
    body = {"action": "create", "user_info": {"email": "y@zoom-sandbox.test", "type": 1}}
    unclear = failed(env, "POST", "/users", body=body)  # a create: maybe done, maybe not
    assert unclear.kind == "unclear"
    env.control("DELETE", "/faults")
    assert failed(env, "GET", "/users/../users").kind == "refused"


def test_the_admin_apps_deauthorization_ends_the_account_connection_only(env: ZoomEnv) -> None:
    # With a deauthorization URL on the admin app (signed with the same secret token here).
    env.control(
        "PATCH",
        f"/apps/{ADMIN_APP}",
        json={"deauth_url": f"{env.product}/webhooks/zoom/deauthorize"},
    )
    owner = env.signed_in("owner@acme.test")
    admin_connect(env, owner, "dana@zoom-sandbox.test")
    ann = env.signed_in("ann@acme.test")
    env.connect(ann, "dana@zoom-sandbox.test")  # Ann's own Zoom is Dana's Zoom user too
    apps = owner.get(f"{env.zoom}/marketplace/user/installed")
    token = re.search(r"name='csrf' value='([^']+)'", apps.text)
    assert token
    owner.post(
        f"{env.zoom}/marketplace/user/installed",
        data={"csrf": token.group(1), "client_id": ADMIN_APP},
    )
    env.control("POST", "/webhooks/flush")
    deadline = time.monotonic() + 10
    while account(env) is not None:
        assert time.monotonic() < deadline, "the deauthorization did not arrive"
        time.sleep(0.1)
    with env.c.db.read() as s:
        conns = {c.kind: c for c in s.scalars(select(ZoomConnection))}
    assert conns["account"].status == "ended" and conns["account"].end_reason == "removed_in_zoom"
    assert conns["account"].refresh_token_enc is None
    mine = env.c.connections.my_connection(env.user("ann@acme.test"))
    assert mine and mine.status == "connected"  # the user app's grant is another one
    assert failed(env, "GET", "/users").kind == "not_connected"
