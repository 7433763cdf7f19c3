"""The one road to Zoom. `ZoomClient.api(connection_id)` gives a `ZoomApi` for one connection:
typed calls for the operations meetbridge uses, iterators over Zoom's pages, and
`call_api(method, path, …)` for any endpoint (what workflows' "call any Zoom API" uses).

`call_api_reply` is the same call with Zoom's status and headers (its tracking id) besides the
body.

Every call: the account's per-label rate limit and, for meeting creates and updates, the host's
100 per UTC day, counted in a store all processes share; a token from the store; one refresh
and one retry on 401 / code 124; a wait on 429 per Retry-After (seconds, a date, or none, with
jitter); bounded retries with backoff on 5xx and timeouts where the call is safe to repeat.
Failures come out as `meetbridge.integrations.zoom.errors`."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from meetbridge.core.clock import Clock, SystemClock
from meetbridge.core.logging import get_logger
from meetbridge.integrations.zoom.auth import ZoomBearer
from meetbridge.integrations.zoom.errors import (
    ZoomAmbiguous,
    ZoomError,
    ZoomRateLimited,
    ZoomUnavailable,
    error_for,
)
from meetbridge.integrations.zoom.limits import (
    Counted,
    Hit,
    Pace,
    RateLimiter,
    next_utc_midnight,
    parse_retry_after,
)
from meetbridge.integrations.zoom.payloads import (
    ZoomMeeting,
    ZoomRecording,
    ZoomRegistrant,
    ZoomUser,
)
from meetbridge.integrations.zoom.tokens import Credentials, SeenState, TokenManager

log = get_logger("meetbridge.integrations.zoom.client")

PLAN_QPS = {
    "basic": {"Light": 4, "Medium": 2, "Heavy": 1},
    "pro": {"Light": 30, "Medium": 20, "Heavy": 10},
    "business": {"Light": 80, "Medium": 60, "Heavy": 40},
}
HOST_DAILY_LIMIT = 100
# Rate-limit labels from Zoom's spec ("Rate Limit Label"); anything not listed counts as Light.
LABELS: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/users/[^/]+/meetings$"), "Medium"),
    ("GET", re.compile(r"^/users/[^/]+/meetings$"), "Medium"),
    ("GET", re.compile(r"^/users$"), "Medium"),
    ("GET", re.compile(r"^/meetings/[^/]+/registrants$"), "Medium"),
    ("GET", re.compile(r"^/users/[^/]+/recordings$"), "Medium"),
]
SAFE_TO_REPEAT = {"GET", "HEAD", "PUT", "PATCH", "DELETE"}


def label_for(method: str, path: str) -> str:
    for m, pattern, label in LABELS:
        if m == method and pattern.match(path):
            return label
    return "Light"


@dataclass(frozen=True)
class ClientConfig:
    api_base: str
    plan: str = "pro"
    qps_multiplier: float = 1.0
    retries: int = 3
    max_wait: float = 30.0
    backoff: float = 0.25


# Zoom's id for one request, on its replies: what Zoom support asks for to trace a call (the
# header Zoom's own SDK reads: zoom/rivet-javascript @7309ea34, meetings/meetings.cjs,
# `WebEndpoints.TRACKING_ID_HEADER = "x-zm-trackingid"`).
TRACKING_HEADER = "x-zm-trackingid"
E = TypeVar("E", bound=ZoomError)


@dataclass(frozen=True)
class ApiReply:
    """One answer from Zoom's REST API: its HTTP status, the decoded JSON body (None for a
    reply without one, such as 204) and its headers."""

    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def request_id(self) -> str | None:
        return self.headers.get(TRACKING_HEADER)


class ZoomClient:
    def __init__(
        self,
        config: ClientConfig,
        tokens: TokenManager,
        limiter: RateLimiter,
        http: httpx.Client,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.limiter = limiter
        self.http = http
        self.sleep = sleep
        self.clock: Clock = clock or SystemClock()

    def meeting_write_hits(self, zoom_account_id: str, zoom_user_id: str) -> list[Hit]:
        """What creating a meeting for this Zoom user counts against Zoom's limits in advance:
        the host's creates and updates today. (Its slot in the account's per-second budget is
        reserved when the call is made: `account_pace`.)"""
        return [self.host_daily_hit(zoom_account_id, zoom_user_id)]

    @staticmethod
    def host_daily_hit(zoom_account_id: str, zoom_user_id: str) -> Hit:
        key = f"zoom:host-daily:{zoom_account_id}:{zoom_user_id.lower()}"
        return Hit(key, HOST_DAILY_LIMIT, 86_400)

    def account_qps(self, label: str) -> int:
        """Calls a second Zoom allows the account for `label` (its plan's, times the setting)."""
        qps = PLAN_QPS.get(self.config.plan, PLAN_QPS["pro"])[label]
        return max(1, int(qps * self.config.qps_multiplier))

    def account_pace(self, zoom_account_id: str, label: str) -> Pace:
        return Pace.per_second(f"zoom:qps:{zoom_account_id}:{label}", self.account_qps(label))

    def api(self, connection_id: str, seen: SeenState | None = None) -> ZoomApi:
        """`seen`: the connection's state as the caller just read it (saves a read)."""
        return ZoomApi(self, connection_id, seen)

    def probe(self, access_token: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET with a token that is not stored yet (checking a fresh connection). No
        limits or retries: the caller shows the outcome to a person."""
        try:
            r = self.http.get(
                self.config.api_base.rstrip("/") + path,
                params=params,
                headers={"Authorization": f"Bearer {access_token}"},
            )
        except httpx.HTTPError as exc:
            raise ZoomUnavailable(f"Zoom could not be reached: {type(exc).__name__}") from None
        if r.status_code < 300:
            return r.json()
        body = _json(r)
        code = body.get("code") if isinstance(body, dict) else None
        message = str(body.get("message", r.reason_phrase)) if isinstance(body, dict) else ""
        if r.status_code >= 500:
            raise ZoomUnavailable(f"Zoom answered {r.status_code}: {message}", status=r.status_code)
        raise error_for(r.status_code, code, message, body)


class ZoomApi:
    """Calls to Zoom through one connection (a member's OAuth or the account's S2S app)."""

    def __init__(
        self, client: ZoomClient, connection_id: str, seen: SeenState | None = None
    ) -> None:
        self.c = client
        self.connection_id = connection_id
        self._seen = seen  # good for the first call only: a refresh moves the version on

    # ---- typed operations ----------------------------------------------------------------------

    def get_user(self, user_id: str = "me") -> ZoomUser:
        return ZoomUser.model_validate(self.call_api("GET", f"/users/{user_id}"))

    def iter_users(self, status: str = "active", page_size: int = 300) -> Iterator[ZoomUser]:
        for row in self.iter_pages("/users", "users", {"status": status, "page_size": page_size}):
            yield ZoomUser.model_validate(row)

    def create_user(
        self, email: str, user_type: int = 1, action: str = "create", **info: str
    ) -> dict[str, Any]:
        body = {"action": action, "user_info": {"email": email, "type": user_type, **info}}
        return dict(self.call_api("POST", "/users", json=body))

    def create_meeting(
        self, body: dict[str, Any], user_id: str = "me", prepaid: Collection[Counted] = ()
    ) -> ZoomMeeting:
        """Not idempotent at Zoom: an ambiguous failure raises ZoomAmbiguous, never retries.
        `prepaid`: this call's hits against Zoom's limits, as the request that asked for it
        counted them (`ZoomClient.meeting_write_hits`); those still in their window are not
        counted again."""
        data = self.call_api(
            "POST", f"/users/{user_id}/meetings", json=body, host=user_id, prepaid=prepaid
        )
        return ZoomMeeting.model_validate(data)

    def get_meeting(self, meeting_id: int | str) -> ZoomMeeting:
        return ZoomMeeting.model_validate(self.call_api("GET", f"/meetings/{meeting_id}"))

    def update_meeting(self, meeting_id: int | str, body: dict[str, Any], host: str) -> None:
        self.call_api("PATCH", f"/meetings/{meeting_id}", json=body, host=host)

    def delete_meeting(self, meeting_id: int | str) -> None:
        self.call_api("DELETE", f"/meetings/{meeting_id}")

    def iter_meetings(
        self, user_id: str = "me", kind: str = "scheduled", page_size: int = 300
    ) -> Iterator[ZoomMeeting]:
        params = {"type": kind, "page_size": page_size}
        for row in self.iter_pages(f"/users/{user_id}/meetings", "meetings", params):
            yield ZoomMeeting.model_validate(row)

    def add_registrant(
        self, meeting_id: int | str, email: str, first_name: str, last_name: str = ""
    ) -> ZoomRegistrant:
        body = {"email": email, "first_name": first_name, "last_name": last_name}
        data = self.call_api("POST", f"/meetings/{meeting_id}/registrants", json=body)
        return ZoomRegistrant.model_validate(data)

    def iter_registrants(
        self, meeting_id: int | str, status: str = "approved"
    ) -> Iterator[ZoomRegistrant]:
        params = {"status": status, "page_size": 300}
        for row in self.iter_pages(f"/meetings/{meeting_id}/registrants", "registrants", params):
            yield ZoomRegistrant.model_validate(row)

    def get_recordings(self, meeting_id: int | str) -> ZoomRecording:
        return ZoomRecording.model_validate(
            self.call_api("GET", f"/meetings/{meeting_id}/recordings")
        )

    def iter_pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Follows next_page_token until Zoom has no more."""
        query = dict(params)
        while True:
            page = self.call_api("GET", path, params=query)
            yield from page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return
            query["next_page_token"] = token

    # ---- any endpoint ----------------------------------------------------------------------

    def call_api(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        host: str | None = None,
        prepaid: Collection[Counted] = (),
    ) -> Any:
        """One call to Zoom's REST API (`path` under /v2). Returns the decoded JSON body, or
        None for 204. `host` names the meeting host for Zoom's per-host daily limit on creates
        and updates ("me" is the connection's own Zoom user). `prepaid`: hits already counted
        for this call, by key and window (see `create_meeting`)."""
        return self.call_api_reply(
            method, path, params=params, json=json, host=host, prepaid=prepaid
        ).body

    def call_api_reply(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        host: str | None = None,
        prepaid: Collection[Counted] = (),
    ) -> ApiReply:
        """`call_api`, with Zoom's status and headers besides the body (an error raised also
        carries Zoom's tracking id, `ZoomError.request_id`)."""
        method = method.upper()
        path = "/" + path.lstrip("/")
        c = self.c
        creds = c.tokens.current(self.connection_id, self._seen)
        self._seen = None
        label = label_for(method, path)
        pace = c.account_pace(creds.zoom_account_id, label)
        if host is not None and method in ("POST", "PATCH") and "/meetings" in path:
            daily = self._host_daily_hit(creds, host)
            now = c.clock.now().timestamp()
            counted = daily.counted_at(now) in {tuple(p) for p in prepaid}
            if not counted and c.limiter.hit_all([daily])[0] > 0:
                raise ZoomRateLimited(
                    f"Zoom allows {HOST_DAILY_LIMIT} meeting creates and updates per host per "
                    "day; this host has used them. They reset at 00:00 UTC.",
                    retry_at=next_utc_midnight(c.clock.now()),
                    daily=True,
                    status=429,
                    code=429,
                )
        auth = ZoomBearer(c.tokens, creds)  # one refresh and retry on a 401, per call
        waited = 0.0
        attempt = 0
        while True:
            waited += self._account_limit(pace, waited)
            try:
                r = c.http.request(
                    method,
                    c.config.api_base.rstrip("/") + path,
                    params=params,
                    json=json,
                    auth=auth,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Never reached Zoom: safe to try again, whatever the method.
                attempt = self._backoff_or_raise(
                    attempt, ZoomUnavailable(f"Zoom could not be reached: {exc}")
                )
                continue
            except httpx.HTTPError as exc:
                error = f"no reply from Zoom: {type(exc).__name__}"
                if method not in SAFE_TO_REPEAT:
                    raise ZoomAmbiguous(error) from None
                attempt = self._backoff_or_raise(attempt, ZoomUnavailable(error))
                continue
            status = r.status_code
            if status < 300:
                return ApiReply(status, r.json() if r.content else None, r.headers)
            body = _json(r)
            code = body.get("code") if isinstance(body, dict) else None
            message = str(body.get("message", r.reason_phrase)) if isinstance(body, dict) else ""
            if status == 429:
                try:
                    wait = self._on_429(r, message, waited, pace)
                except ZoomRateLimited as exc:
                    raise _tracked(exc, r) from None
                c.sleep(wait)
                waited += wait
                continue
            if status >= 500:
                error = f"Zoom answered {status}: {message}"
                if method not in SAFE_TO_REPEAT:
                    raise _tracked(ZoomAmbiguous(error, status=status, code=code), r)
                attempt = self._backoff_or_raise(
                    attempt, _tracked(ZoomUnavailable(error, status=status, code=code), r)
                )
                continue
            raise _tracked(error_for(status, code, message, body), r)

    # ---- limits and retries ----------------------------------------------------------------

    def _host_daily_hit(self, creds: Credentials, host: str) -> Hit:
        host_id = creds.zoom_user_id if host == "me" else host
        return self.c.host_daily_hit(creds.zoom_account_id, host_id or host)

    def _account_limit(self, pace: Pace, waited: float) -> float:
        """Waits for this attempt's moment in the Zoom account's per-second budget (shared by
        every process); refuses when it is further away than the call may still wait."""
        reserved, wait = self.c.limiter.pace(pace, self.c.config.max_wait - waited)
        if not reserved:
            raise ZoomRateLimited(
                "Zoom's per-second limit for this account is reached",
                retry_at=self._at(wait),
                daily=False,
            )
        if wait > 0:
            self.c.sleep(wait)
        return wait

    def _on_429(self, r: httpx.Response, message: str, waited: float, pace: Pace) -> float:
        now = self.c.clock.now().timestamp()
        after = parse_retry_after(r.headers.get("retry-after"), now)
        daily = (
            "daily" in message.lower()
            or r.headers.get("x-ratelimit-type", "").lower() == "daily-limit"
        )
        if daily:
            retry_at = (
                self._at(after) if after is not None else next_utc_midnight(self.c.clock.now())
            )
            raise ZoomRateLimited(
                message or "Zoom's daily limit is reached",
                retry_at=retry_at,
                daily=True,
                status=429,
                code=429,
            )
        if after is None:  # Zoom sometimes sends no Retry-After: back off on our own
            after = min(8.0, self.c.config.backoff * 2 ** min(int(waited), 5) + 0.5)
        else:
            # Zoom's second for the account is spent: the other processes' calls under the
            # same budget wait for it too (each would draw a 429 of its own otherwise).
            self.c.limiter.hold(pace, after)
        wait = after + random.uniform(0, 0.25)
        if waited + wait > self.c.config.max_wait:
            raise ZoomRateLimited(
                message or "Zoom's rate limit is reached",
                retry_at=self._at(wait),
                daily=False,
                status=429,
                code=429,
            )
        log.info("zoom.rate_limited", wait=round(wait, 2), connection_id=self.connection_id)
        return wait

    def _at(self, seconds: float) -> dt.datetime:
        return self.c.clock.now() + dt.timedelta(seconds=seconds)

    def _backoff_or_raise(self, attempt: int, error: Exception) -> int:
        if attempt >= self.c.config.retries:
            raise error
        delay = self.c.config.backoff * 2**attempt
        self.c.sleep(delay + random.uniform(0, delay / 2))
        return attempt + 1


def _tracked(error: E, r: httpx.Response) -> E:
    """`error`, with Zoom's tracking id for the reply it came from."""
    error.request_id = r.headers.get(TRACKING_HEADER)
    return error


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return {}
