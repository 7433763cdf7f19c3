"""Renders the e-mail templates shipped with meetbridge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_email(template: str, /, **context: Any) -> tuple[str, str, str]:
    """Returns (subject, text, html) for `template` (`<template>.subject.txt`, `.txt`, `.html`)."""
    subject = _env.get_template(f"{template}.subject.txt").render(**context).strip()
    text = _env.get_template(f"{template}.txt").render(**context)
    html = _env.get_template(f"{template}.html").render(**context)
    return subject, text, html


# Organisations may write their own subject and text: rendered in Jinja2's sandbox, so a
# template can use the documented variables and nothing else.
_custom = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
EDITABLE = {
    "welcome": ("name", "email", "inviter", "org_name", "sign_in_url"),
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
}


def default_source(template: str) -> tuple[str, str]:
    """The shipped subject and text of an editable template (Jinja2 source)."""
    assert _env.loader is not None
    subject = _env.loader.get_source(_env, f"{template}.subject.txt")[0].strip()
    text = _env.loader.get_source(_env, f"{template}.txt")[0]
    return subject, text


def render_custom(subject: str, text: str, /, **context: Any) -> tuple[str, str]:
    """Renders an organisation's own subject and text. Raises ValueError with the reason."""
    try:
        return (
            _custom.from_string(subject).render(**context).strip(),
            _custom.from_string(text).render(**context),
        )
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
