"""The checks a workflow meets when it is saved, and what a run keeps of a step (pure: no
database, no Zoom)."""

from __future__ import annotations

from typing import Any

from meetbridge.workflows import definition as defs
from meetbridge.workflows.actions import ACTIONS
from meetbridge.workflows.fields import redact, redact_output

GRANTED = frozenset({"meeting:write:admin", "meeting:read:admin", "user:read:admin",
                     "user:write:admin", "recording:read:admin"})  # fmt: skip


def problems(
    definition: dict[str, Any], granted: frozenset[str] | None = GRANTED
) -> dict[str, str]:
    return {p.field: p.reason for p in defs.check(definition, granted).problems}


def mail(key: str, subject: str, **more: Any) -> dict[str, Any]:
    return {"key": key, "action": "email.send",
            "inputs": {"to": "a@b.test", "subject": subject, "text": "t"}, **more}  # fmt: skip


def test_every_problem_is_reported_at_once_by_its_place() -> None:
    found = problems(
        {
            "trigger": {"kind": "member.onboarded"},
            "steps": [
                mail("a", "{{ member.nmae }}"),
                {"key": "b", "action": "zoom.create_meeting",
                 "inputs": {"topic": "x", "start": "tomorrow", "duration": 0, "host": "h"}},
                {"key": "c", "action": "no.such"},
                mail("a", "{{ steps.zz.id }}"),
            ],
        }
    )  # fmt: skip
    assert "unknown field member.nmae" in found["steps[0].inputs.subject"]
    assert "date and time" in found["steps[1].inputs.start"]
    assert "between 1 and 1440" in found["steps[1].inputs.duration"]
    assert "no action" in found["steps[2].action"]
    assert "also called" in found["steps[3].key"]
    assert "no earlier step 'zz'" in found["steps[3].inputs.subject"]


def test_a_step_may_use_only_earlier_steps_and_what_they_give() -> None:
    found = problems(
        {
            "trigger": {"kind": "manual"},
            "steps": [mail("a", "{{ steps.a.subject }}"), mail("b", "{{ steps.a.nope }}")],
        }
    )
    assert "cycle" in found["steps[0].inputs.subject"]
    assert "gives no 'nope'" in found["steps[1].inputs.subject"]
    ok = {
        "trigger": {"kind": "manual"},
        "steps": [mail("a", "s"), mail("b", "{{ steps.a.subject }} {{ data.anything.deep }}")],
    }
    assert problems(ok) == {}  # fmt: skip


def test_a_loop_gives_item_and_its_items() -> None:
    definition = {
        "trigger": {"kind": "webhook"},
        "steps": [
            mail("each", "{{ item.name }}", for_each="body.hires"),
            mail("after", "{{ steps.each.count }} {{ steps.each.subject }}"),
        ],
    }
    found = problems(definition)
    assert (
        list(found) == ["steps[1].inputs.subject"] and "loops" in found["steps[1].inputs.subject"]
    )
    assert (
        "item"
        in problems({"trigger": {"kind": "manual"}, "steps": [mail("a", "{{ item }}")]})[
            "steps[0].inputs.subject"
        ]
    )


def test_missing_scopes_are_listed_by_step() -> None:
    definition = {"trigger": {"kind": "manual"},
                  "steps": [{"key": "u", "action": "zoom.list_users", "inputs": {}}]}  # fmt: skip
    assert defs.check(definition, GRANTED).missing_scopes == []
    assert defs.check(definition, frozenset({"user:read:list_users:admin"})).missing_scopes == []
    missing = defs.check(definition, frozenset({"meeting:read:admin"})).missing_scopes
    assert missing == ["step 1 (List users): user:read:list_users:admin"]
    assert defs.check(definition, None).missing_scopes  # not connected


def test_chains_of_workflows_that_start_each_other_are_found() -> None:
    graph = {
        "a": ("member.onboarded", {"meeting.scheduled", "meeting.created"}),
        "b": ("meeting.scheduled", {"zoom:meeting.registration_created"}),
        "c": ("zoom:meeting.registration_created", {"meeting.scheduled"}),
    }
    assert defs.find_cycle(graph, "a") is None
    assert defs.find_cycle(graph, "b") == ["b", "c", "b"]


def test_secrets_are_redacted_from_what_a_run_keeps() -> None:
    fields = ACTIONS["zoom.create_user"].fields
    kept = redact(fields, {"email": "a@b.test", "password": "hunter2!"})
    assert kept == {"email": "a@b.test", "password": "••••••"}
    reply = {"password": "x", "h323_password": "1", "download_token": "d",
             "next_page_token": "page2", "items": [{"token": "t", "email": "e"}]}  # fmt: skip
    assert redact_output(reply) == {
        "password": "••••••", "h323_password": "••••••", "download_token": "••••••",
        "next_page_token": "page2", "items": [{"token": "••••••", "email": "e"}],
    }  # fmt: skip
