"""An organisation's own templates are rendered within bounds: no template can hold a web
thread or a worker for long, or make an e-mail huge; each refusal says why."""

from __future__ import annotations

import time

import pytest

from meetbridge.notify.render import MAX_OUTPUT, render_custom

CONTEXT = {"name": "Ada", "passcode": None, "title": "Kick-off"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
            "{% endfor %}{% endfor %}{% endfor %}",
            "takes longer than",
        ),
        ("{{ 'A' * 5242880 }}", "longer than 100,000 characters"),
        ("{{ 10 ** 100000000 }}", "too high a power"),
        ("{% for i in range(100000) %}abc{% endfor %}", "renders more than 100,000"),
        ("{% set x = 'AB' %}{% for i in range(30) %}{{ x ~ x }}{% endfor %}", "the ~ operator"),
        ("{% set x %}{{ name }}{{ name }}{% endset %}{{ x }}", "{% set %}…{% endset %}"),
        ("{% macro m() %}x{% endmacro %}{{ m() }}", "macros"),
        ("{{ name|center(100000000) }}", "No filter named 'center'"),
        ("{{ 1/0 }}", "ZeroDivisionError"),
        ("{% if passcode|length %}x{% endif %}", "TypeError"),
        ("{{ unknown }}", "'unknown' is undefined"),
        ("{{ name.__class__.__mro__ }}", "unsafe"),
    ],
)
def test_a_template_beyond_the_bounds_is_refused_quickly(body: str, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(ValueError, match=None) as refused:
        render_custom("Subject", body, **CONTEXT)
    assert reason in str(refused.value)
    assert time.monotonic() - started < 2


def test_an_ordinary_template_renders() -> None:
    subject, text = render_custom(
        "Welcome, {{ name|upper }}",
        "{% if passcode %}Passcode {{ passcode }}{% else %}No passcode{% endif %}\n"
        "{% for i in range(3) %}{{ i }}{% endfor %} {{ title|truncate(4, True, '', 0) }}",
        **CONTEXT,
    )
    assert subject == "Welcome, ADA"
    assert text == "No passcode\n012 Kick"


def test_the_bound_counts_subject_and_text_together() -> None:
    half = "{% for i in range(" + str(MAX_OUTPUT // 2 // 10 + 1) + ") %}0123456789{% endfor %}"
    render_custom("s", half, **CONTEXT)
    with pytest.raises(ValueError, match="renders more than"):
        render_custom(half, half, **CONTEXT)
