"""The new-request page's "Repeats" fieldset: the form's values as the series service's
`repeat` (recurrence.Rule's fields), what the page could not read, and the rule's own checks
at the form's fields — so a series' bad fields are named together with the request's, not
only after the request is put right (the service checks the rule once the request is valid).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from meetbridge.core.errors import DomainError
from meetbridge.requests.inputs import RequestInput
from meetbridge.scheduling import recurrence
from meetbridge.scheduling.timezones import BadZone, zone

NONE = "none"
FREQUENCIES = {NONE: "Does not repeat", "daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHLY_BY = {"day": "on the same day of the month", "weekday": "on the same nth weekday"}
ENDS = ("until", "count")
# recurrence's field names at the form's fields (a time or zone at the request's own).
AT_FORM = {
    "frequency": "repeat_frequency",
    "interval": "repeat_interval",
    "weekdays": "repeat_weekdays",
    "monthly_by": "repeat_monthly_by",
    "until": "repeat_until",
    "count": "repeat_count",
    "exceptions": "repeat_exceptions",
    "start_date": "start",
    "start_time": "start",
    "duration": "end",
    "timezone": "timezone",
}
# What does not depend on when the series starts: all that is checked while the start is
# unreadable (a count's range, not whether its days fit the two years ahead).
_TIMELESS = {"frequency", "interval", "weekdays", "monthly_by"}


def frequency(form: dict[str, str]) -> str:
    """The chosen frequency; NONE for a single request."""
    return form.get("repeat_frequency", NONE).strip() or NONE


def _number(form: dict[str, str], name: str, errors: dict[str, str], most: int) -> int | None:
    raw = form.get(name, "").strip()
    plain = raw.isascii() and raw.isdigit() and len(raw) <= 9  # "²" is a digit, not a number
    if plain and 1 <= int(raw) <= most:
        return int(raw)
    errors[name] = f"must be a whole number from 1 to {most}" + (f", not {raw}" if plain else "")
    return None


def _day(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw[:10]) if len(raw) == 10 else None
    except ValueError:
        return None


def parsed(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The series' `repeat` as the form gives it, and what the page could not read (by
    form field). Values it cannot read are left out for the rule's checks to skip."""
    errors: dict[str, str] = {}
    freq = frequency(form)
    repeat: dict[str, Any] = {"frequency": freq}
    interval = _number(form, "repeat_interval", errors, recurrence.MAX_INTERVAL)
    repeat["interval"] = interval if interval is not None else 1
    if freq == "weekly":
        repeat["weekdays"] = [i for i in range(7) if form.get(f"repeat_weekday_{i}") == "on"]
    if freq == "monthly":
        repeat["monthly_by"] = form.get("repeat_monthly_by", "day")
    end = form.get("repeat_end", "count")
    if end not in ENDS:
        errors["repeat_end"] = "end the series on a date or after a number of times"
    elif end == "until":
        raw = form.get("repeat_until", "").strip()
        until = _day(raw)
        if until is None:
            errors["repeat_until"] = "enter the last day (YYYY-MM-DD)"
        repeat["until"] = until
    else:
        count = _number(form, "repeat_count", errors, recurrence.MAX_OCCURRENCES)
        repeat["count"] = count
    exceptions, bad = [], []
    for raw in form.get("repeat_exceptions", "").replace(",", " ").split():
        day = _day(raw)
        if day is None:
            bad.append(raw[:20])
        else:
            exceptions.append(day)
    if bad:
        errors["repeat_exceptions"] = f"not a date (YYYY-MM-DD): {', '.join(bad[:5])}"
    if len(exceptions) > recurrence.MAX_EXCEPTIONS:
        errors["repeat_exceptions"] = f"at most {recurrence.MAX_EXCEPTIONS} dates"
    repeat["exceptions"] = exceptions
    return repeat, errors


def rule_errors(
    data: RequestInput, repeat: dict[str, Any], time_known: bool, now: dt.datetime
) -> dict[str, str]:
    """The rule's problems at the form's fields. With the request's start, end and zone
    readable, and the series' end, every check the service makes; otherwise only those that
    do not depend on what is unread (its own error names that)."""
    try:
        zone(data.timezone)
    except BadZone:
        time_known = False
    fields: dict[str, Any]
    if time_known:
        fields = {
            "start_date": data.start.date(),
            "start_time": data.start.time(),
            "duration": int((data.end - data.start).total_seconds() // 60),
            "timezone": data.timezone,
        }
    else:
        fields = {"start_date": now.date(), "start_time": dt.time(9), "duration": 60}
        fields["timezone"] = "UTC"  # placeholders: their problems are left out below
    given = {k: v for k, v in repeat.items() if v is not None}
    end_known = "until" in given or "count" in given
    if not end_known:
        given["count"] = 1
    rule = recurrence.Rule.from_json({**given, **fields})
    out: dict[str, str] = {}
    for name, message in recurrence.problems(rule, now):
        if not time_known and name not in _TIMELESS:
            continue
        if not end_known and name in ("until", "count", "exceptions"):
            continue
        if name == "duration" and fields["duration"] <= 0:
            continue  # the request's "must be after the start" says it
        out = merged(out, {AT_FORM.get(name, "_"): message})
    return out


def merged(*parts: dict[str, str]) -> dict[str, str]:
    """Errors by form field, two reasons at one field both kept."""
    out: dict[str, str] = {}
    for part in parts:
        for at, message in part.items():
            out[at] = f"{out[at]}; {message}" if at in out and out[at] != message else message
    return out


def service_errors(exc: DomainError) -> dict[str, str]:
    """The series service's "repeat.<field>" reasons at the form's fields."""
    out: dict[str, str] = {}
    for e in exc.errors:
        if not e.field.startswith("repeat"):
            continue
        out = merged(out, {AT_FORM.get(e.field.removeprefix("repeat."), "_"): e.reason})
    return out
