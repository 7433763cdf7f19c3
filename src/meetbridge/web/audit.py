"""The audit log: each entry's changes as readable before → after per field, filtered by who,
what and when, fifty at a time with newer / older links (keyset paging by id)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.accounts.audit_log import AuditQuery
from meetbridge.web.kit import container, render, signed_in_user

router = APIRouter(include_in_schema=False)
PAGE = 50


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_text(v)}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:  # an ISO time, as the log stores it: shown as the page's other times
            return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            pass
    return str(value)


def _label(key: str) -> str:
    return key.removesuffix("_at").removesuffix("_min").replace("_", " ")


def readable(details: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """`changes`: (field, before, after) for what changed; `facts`: (name, value, "") for the
    rest. The log holds changes as {"from": {...}, "to": {...}} or {field: {"from", "to"}}."""
    changes: list[tuple[str, str, str]] = []
    facts: list[tuple[str, str, str]] = []
    before, after = details.get("from"), details.get("to")
    if isinstance(before, dict) and isinstance(after, dict):
        for key in dict.fromkeys([*before, *after]):
            if before.get(key) != after.get(key):
                changes.append((_label(key), _text(before.get(key)), _text(after.get(key))))
    for key, value in details.items():
        if key in ("from", "to") and isinstance(before, dict) and isinstance(after, dict):
            continue
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            changes.append((_label(key), _text(value["from"]), _text(value["to"])))
        else:
            facts.append((_label(key), _text(value), ""))
    return {"changes": changes, "facts": facts}


def _day(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and int(raw) < 2**31 else None


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    user = signed_in_user(request)
    c = container(request)
    p = request.query_params
    query = AuditQuery(
        actor_id=p.get("who") or None,
        action=p.get("what") or None,
        since=_day(p.get("from")),
        until=_day(p.get("to")),
        limit=PAGE,
        before_id=_id(p.get("before")),
        after_id=_id(p.get("after")),
    )
    events = c.accounts.list_audit(user, query)
    actions = c.accounts.audit_actions(user)
    kept = {
        k: v
        for k, v in (
            ("who", query.actor_id),
            ("what", query.action),
            ("from", p.get("from") if query.since else None),
            ("to", p.get("to") if query.until else None),
        )
        if v
    }
    newer = older = None
    if events and (query.before_id or (query.after_id and len(events) == PAGE)):
        newer = "/audit?" + urlencode({**kept, "after": events[0].id})
    if events and (len(events) == PAGE or query.after_id):
        older = "/audit?" + urlencode({**kept, "before": events[-1].id})
    return render(
        request,
        "audit.html",
        user,
        events=events,
        readable=readable,
        members=c.accounts.list_members(user, include_inactive=True),
        actions=actions,
        families=sorted({a.split(".")[0] for a in actions if "." in a}),
        kept=kept,
        newer=newer,
        older=older,
        nav="audit",
    )
