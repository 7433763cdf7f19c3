"""Renders the e-mail templates shipped with meetbridge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

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
