"""Renders the e-mail templates shipped with meetbridge."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    nodes,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


# The e-mails meetbridge sends, each a subject, a text and an HTML part under templates/.
SHIPPED = (
    "welcome",
    "invite",
    "zoom_lost",
    "password_reset",
    "email_change",
    "email_change_notice",
    "booking",
    "booking_alert",
    "request",
    "workflow",  # a workflow's "send an e-mail" step: its own subject and text, rendered
    "workflow_failed",
)


def render_email(template: str, /, **context: Any) -> tuple[str, str, str]:
    """Returns (subject, text, html) for `template` (`<template>.subject.txt`, `.txt`, `.html`)."""
    subject = _env.get_template(f"{template}.subject.txt").render(**context).strip()
    text = _env.get_template(f"{template}.txt").render(**context)
    html = _env.get_template(f"{template}.html").render(**context)
    return subject, text, html


# Organisations may write their own subject and text. They are rendered in Jinja2's sandbox
# (the documented variables and nothing else) and bounded, since an organisation's admin is not
# trusted with the server's CPU and memory: a few characters of template can otherwise loop for
# a year (`range` nested) or build gigabytes (`'A' * 10**9`, a string doubled in a loop). So:
# - only plain constructs: output, if, for, set, filters from a short list, no `~`, no blocks
#   that capture output (`{% set %}…{% endset %}`, macros, call and filter blocks);
# - every string or list an operator or filter builds is at most MAX_OUTPUT long;
# - the output is at most MAX_OUTPUT characters, and the render stops after MAX_SECONDS.
MAX_OUTPUT = 100_000
MAX_SECONDS = 0.5
_SAFE_FILTERS = (
    *("abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int"),
    *("join", "last", "length", "lower", "replace", "round", "string", "striptags", "title"),
    *("trim", "truncate", "upper", "wordcount"),
)
_REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.Concat: "the ~ operator (write {{ a }}{{ b }} instead)",
    nodes.AssignBlock: "{% set %}…{% endset %} blocks",
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.FilterBlock: "filter blocks",
    nodes.Include: "includes",
    nodes.Import: "imports",
    nodes.FromImport: "imports",
    nodes.Extends: "extends",
}


class TemplateRefused(ValueError):
    """An organisation's template cannot be used; the message says why."""


def _bounded(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT:
        raise TemplateRefused(f"builds a text longer than {MAX_OUTPUT:,} characters")
    return value


class _BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset(["+", "*", "**", "%", "//"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            seq, n = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(n, int)
                and len(seq) * n > MAX_OUTPUT
            ):
                raise TemplateRefused(f"builds a text longer than {MAX_OUTPUT:,} characters")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise TemplateRefused("raises a number to too high a power")
        return _bounded(super().call_binop(context, operator, left, right))


def _custom_env() -> SandboxedEnvironment:
    env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False)
    kept = {}
    for name in _SAFE_FILTERS:
        inner = env.filters[name]
        kept[name] = functools.wraps(inner)(lambda *a, _f=inner, **kw: _bounded(_f(*a, **kw)))
    # Filters that take a context or environment keep their markers through `wraps`.
    env.filters = kept
    env.globals = {"range": env.globals["range"]}
    return env


_custom = _custom_env()


def _check(source: str) -> None:
    for node_type, what in _REFUSED_NODES.items():
        if next(_custom.parse(source).find_all(node_type), None) is not None:
            raise TemplateRefused(f"uses {what}, which e-mail templates do not allow")


def _deadline(seconds: float) -> Callable[[], None]:
    """Starts a time limit on this thread's Python code (the template's compiled code runs
    line by line); returns the function that ends it. The limit is on the CPU time this
    thread spends, not the wall clock: on a loaded machine a short render may wait its turn
    for longer than the limit, and that is no reason to refuse it. Callers compile first."""
    end = time.thread_time() + seconds
    previous = sys.gettrace()
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        if count % 128 == 0 and time.thread_time() > end:
            raise TemplateRefused(f"takes longer than {seconds} s to render")
        return tracer

    sys.settrace(tracer)
    return lambda: sys.settrace(previous)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    _check(source)
    return _custom.from_string(source)


def _render_bounded(source: str, context: dict[str, Any], budget: list[int]) -> str:
    out: list[str] = []
    for chunk in _compiled(source).generate(**context):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise TemplateRefused(f"renders more than {MAX_OUTPUT:,} characters")
        out.append(chunk)
    return "".join(out)


EDITABLE = {
    "welcome": ("name", "email", "inviter", "org_name", "sign_in_url", "password_url"),
    "invite": (
        "title",
        "when",
        "timezone",
        "duration",
        "join_url",
        "meeting_id",
        "passcode",
        "agenda",
        "host",
        "sequence",
        "cancelled",
    ),
    "zoom_lost": ("name", "what", "link"),
    "request": (
        *("service", "client", "when", "until", "timezone", "location", "join_url", "zoom"),
        *("notes", "request_id", "sequence", "cancelled"),
    ),
}
# Templates whose e-mails may carry a meeting's Zoom invite link: each organisation switches
# it on or off per template (`EmailTemplate.include_join_link`; off: `join_url` is empty).
WITH_JOIN_LINK = ("invite", "request")


def default_source(template: str) -> tuple[str, str]:
    """The shipped subject and text of an editable template (Jinja2 source)."""
    assert _env.loader is not None
    subject = _env.loader.get_source(_env, f"{template}.subject.txt")[0].strip()
    text = _env.loader.get_source(_env, f"{template}.txt")[0]
    return subject, text


def render_custom(subject: str, text: str, /, **context: Any) -> tuple[str, str]:
    """Renders an organisation's own subject and text, bounded in time and size. Raises
    ValueError (TemplateRefused) with the reason, whatever went wrong: a template error, an
    error the template raised (`{{ 1/0 }}`, a filter given None), or a bound."""
    budget = [MAX_OUTPUT]
    check_source(subject)
    check_source(text)
    stop = _deadline(MAX_SECONDS)
    try:
        return (
            _render_bounded(subject, context, budget).strip(),
            _render_bounded(text, context, budget),
        )
    except TemplateRefused:
        raise
    except TemplateError as exc:
        raise TemplateRefused(str(exc)) from None
    except Exception as exc:  # the template's own error: any exception a render can raise
        raise TemplateRefused(f"{type(exc).__name__}: {exc}") from None
    finally:
        stop()


# ---- one value at a time (a workflow step's inputs) --------------------------------------------


def check_source(source: str) -> None:
    """Raises TemplateRefused when `source` does not parse or uses what templates may not."""
    try:
        _compiled(source)
    except TemplateRefused:
        raise
    except TemplateError as exc:
        raise TemplateRefused(str(exc)) from None


def references(source: str) -> list[tuple[str, ...]]:
    """The variables `source` reads, each as the path of names it follows from the context
    (`{{ member.name }}` → ("member", "name"); `steps["a"].id` → ("steps", "a", "id")). A
    path stops where a name is not literal (`x[i]`) or a filter or call takes over. Names
    the template sets itself (`{% set %}`, `{% for x in … %}`) are not the context's."""
    check_source(source)
    tree = _custom.parse(source)
    local: set[str] = set()
    for stmt in tree.find_all((nodes.Assign, nodes.For)):
        target: nodes.Expr = stmt.target  # type: ignore[attr-defined]
        for name in [target, *target.find_all(nodes.Name)]:
            if isinstance(name, nodes.Name):
                local.add(name.name)
    found: list[tuple[str, ...]] = []
    seen_inner: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if id(node) in seen_inner:
            continue
        path: list[str] = []
        cur: nodes.Node = node
        while isinstance(cur, nodes.Getattr | nodes.Getitem):
            seen_inner.add(id(cur.node))
            if isinstance(cur, nodes.Getattr):
                path.append(cur.attr)
            elif isinstance(cur.arg, nodes.Const) and isinstance(cur.arg.value, str | int):
                path.append(str(cur.arg.value))
            else:
                path.clear()  # a computed key: only what comes before it is known
            cur = cur.node
        if isinstance(cur, nodes.Name) and cur.ctx == "load" and cur.name not in local:
            found.append((cur.name, *reversed(path)))
    return found


def render_value(source: str, context: dict[str, Any]) -> str:
    """Renders one value (a workflow step's input) in the bounded sandbox; TemplateRefused
    says why it could not."""
    if "{" not in source:
        return source  # nothing to render: most inputs are plain text
    check_source(source)
    stop = _deadline(MAX_SECONDS)
    try:
        return _render_bounded(source, context, [MAX_OUTPUT])
    except TemplateRefused:
        raise
    except TemplateError as exc:
        raise TemplateRefused(str(exc)) from None
    except Exception as exc:  # the template's own error
        raise TemplateRefused(f"{type(exc).__name__}: {exc}") from None
    finally:
        stop()


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """The value of one expression (`steps.users.users`, a workflow loop's list), in the same
    bounded sandbox; TemplateRefused says why it could not."""
    source = expression.strip()
    if source.startswith("{{") and source.endswith("}}"):
        source = source[2:-2].strip()
    try:
        compiled = _expression(source)
    except TemplateError as exc:
        raise TemplateRefused(str(exc)) from None
    stop = _deadline(MAX_SECONDS)
    try:
        return compiled(**context)
    except TemplateRefused:
        raise
    except TemplateError as exc:
        raise TemplateRefused(str(exc)) from None
    except Exception as exc:
        raise TemplateRefused(f"{type(exc).__name__}: {exc}") from None
    finally:
        stop()


@functools.lru_cache(maxsize=256)
def _expression(source: str) -> Callable[..., Any]:
    _check("{{ " + source + " }}")
    return _custom.compile_expression(source, undefined_to_none=False)
