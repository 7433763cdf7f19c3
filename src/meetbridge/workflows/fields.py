"""A step's inputs: what each field holds, how a literal is checked when the workflow is saved,
and how a rendered value becomes the value an action uses. Pure: no database, no Zoom.

A value in a definition is either a literal (checked at save) or a template (`{{ … }}`, its
references checked at save, its rendered text checked when the step runs)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from meetbridge.scheduling.timezones import zone

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TEXT = 10_000


class FieldRefused(ValueError):
    """A value a field cannot take; the message says why."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | int | bool | choice | datetime | email | emails | timezone | json
    required: bool = False
    default: Any = None  # may be a template ("{{ member.timezone }}")
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    max_len: int = 2000
    secret: bool = False  # redacted in the run's history
    help: str = ""


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def templates_in(value: Any) -> list[str]:
    """Every template string inside a value (a JSON body holds them in its strings)."""
    if isinstance(value, str):
        return [value] if is_template(value) else []
    if isinstance(value, dict):
        return [t for v in value.values() for t in templates_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in templates_in(v)]
    return []


def coerce(f: Field, value: Any) -> Any:
    """The value a field takes from a literal or a rendered template; FieldRefused says why
    not. None or "" for an optional field is None."""
    if value is None or (isinstance(value, str) and not value.strip() and f.kind != "json"):
        if f.required:
            raise FieldRefused("is required")
        return None
    kind = f.kind
    if kind == "text":
        text = str(value)
        if len(text) > f.max_len:
            raise FieldRefused(f"is longer than {f.max_len:,} characters")
        return text
    if kind == "int":
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None:
            raise FieldRefused(f"must be a whole number, not {str(value)[:40]!r}")
        if (f.low is not None and number < f.low) or (f.high is not None and number > f.high):
            raise FieldRefused(f"must be between {f.low} and {f.high}")
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        raise FieldRefused("must be true or false")
    if kind == "choice":
        word = str(value).strip()
        if word not in f.choices:
            raise FieldRefused(f"must be one of {', '.join(f.choices)}")
        return word
    if kind == "email":
        address = str(value).strip()
        if not EMAIL.match(address) or len(address) > 254:
            raise FieldRefused(f"is not an e-mail address: {address[:60]!r}")
        return address
    if kind == "emails":
        items = value if isinstance(value, list) else re.split(r"[,;\s]+", str(value))
        addresses = [str(a).strip() for a in items if str(a).strip()]
        bad = [a for a in addresses if not EMAIL.match(a)]
        if bad:
            raise FieldRefused(f"has addresses that are not e-mail addresses: {', '.join(bad[:5])}")
        if f.required and not addresses:
            raise FieldRefused("needs at least one e-mail address")
        if f.high is not None and len(addresses) > f.high:
            raise FieldRefused(f"has more than {f.high} addresses")
        return list(dict.fromkeys(addresses))
    if kind == "timezone":
        name = str(value).strip()
        try:
            zone(name)
        except Exception:
            raise FieldRefused(f"is not a time zone: {name[:60]!r}") from None
        return name
    if kind == "datetime":
        return parse_when(str(value))
    if kind == "json":
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise FieldRefused(f"is not JSON: {exc}") from None
        return value
    raise AssertionError(f"unknown field kind {kind}")


_WHEN = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_when(text: str) -> dt.datetime:
    """A wall-clock time ("2026-12-07 09:00", naive: in the step's time zone) or an instant
    ("2026-12-07T09:00:00Z", "+01:00")."""
    text = text.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in _WHEN:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise FieldRefused(f"is not a date and time (YYYY-MM-DD HH:MM): {text[:40]!r}")


def redact(fields: Sequence[Field], values: dict[str, Any]) -> dict[str, Any]:
    """What the run's history keeps of a step's inputs: secrets replaced."""
    secret = {f.name for f in fields if f.secret}
    return {k: ("••••••" if k in secret and v else _redact_deep(v)) for k, v in values.items()}


# Keys whose values are secrets wherever they appear (Zoom's replies carry `password`,
# `h323_password`, `encrypted_password`, a recording's `download_token`); a paging token
# (`next_page_token`) is not one.
_SECRET_KEYS = re.compile(
    r"^((.*_)?(password|passcode|pwd|secret|access_token|refresh_token|download_token"
    r"|authorization|api_key)|token)$",
    re.I,
)


def _redact_deep(value: Any) -> Any:
    """Secrets inside a JSON value (a call's body, Zoom's reply): by their key's name."""
    if isinstance(value, dict):
        return {
            k: ("••••••" if _SECRET_KEYS.match(str(k)) and v else _redact_deep(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_deep(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def redact_output(value: Any) -> Any:
    return _redact_deep(value)
