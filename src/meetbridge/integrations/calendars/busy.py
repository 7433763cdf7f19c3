"""iCalendar text → busy times, the one set of rules for feeds and CalDAV alike.

Recurring events are expanded by `recurring-ical-events` (RRULE, RDATE, EXDATE and
RECURRENCE-ID overrides); transparent and cancelled events are free time; all-day (DATE) and
floating times are read in the member's own zone, since that is the day they meant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

from meetbridge.core.calendars import Busy, CalendarError
from meetbridge.notify.ics import own_uid

# Floating and all-day times are compared by the library as if in UTC; members' zones are at
# most 14 hours away, so asking for two extra days on each side never misses one, and the
# exact clip happens after conversion.
_MARGIN = dt.timedelta(days=2)
# A rule such as FREQ=SECONDLY expands to millions of occurrences in a month: a feed that big
# is refused rather than allowed to eat the worker's memory and time.
MAX_OCCURRENCES = 20_000


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"'{name}' is not a known time zone") from exc


def parse_calendar(data: bytes | str) -> icalendar.Calendar:
    """One VCALENDAR, or CalendarError('not an iCalendar file')."""
    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # the parser raises ValueError, KeyError, IndexError… on junk
        raise CalendarError("not an iCalendar file") from exc
    if not isinstance(cal, icalendar.Calendar) or cal.name != "VCALENDAR":
        raise CalendarError("not an iCalendar file")
    return cal


def _utc(value: dt.date | dt.datetime, local: ZoneInfo) -> dt.datetime:
    if not isinstance(value, dt.datetime):  # a DATE: the member's local midnight
        value = dt.datetime.combine(value, dt.time(0), local)
    elif value.tzinfo is None:  # floating: the member's wall clock
        value = value.replace(tzinfo=local)
    return value.astimezone(dt.UTC)


def _is_free(event: icalendar.cal.Component) -> bool:
    transp = str(event.get("TRANSP", "OPAQUE")).upper()
    status = str(event.get("STATUS", "")).upper()
    return transp == "TRANSPARENT" or status == "CANCELLED"


def _own(event: icalendar.cal.Component) -> str:
    uid = str(event.get("UID", ""))
    return uid if own_uid(uid) is not None else ""


def busy_between(
    calendars: Iterable[icalendar.Calendar],
    start: dt.datetime,
    end: dt.datetime,
    timezone: str,
) -> tuple[Busy, ...]:
    """The busy times of every VEVENT in `calendars`, clipped to [start, end), sorted, each
    interval once (an event with a UID like meetbridge's once per UID: see `Busy.uid`).
    `start` and `end` must be aware."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    local = zone(timezone)
    lo, hi = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    found: set[Busy] = set()
    seen = 0
    for cal in calendars:
        try:
            query = recurring_ical_events.of(cal, skip_bad_series=True)
            series_list = list(query.series)
        except Exception as exc:  # the library's own InvalidCalendar and parse errors
            raise CalendarError("the calendar's events could not be read") from exc
        for series in series_list:
            try:
                for occurrence in series.between(lo - _MARGIN, hi + _MARGIN):
                    seen += 1
                    if seen > MAX_OCCURRENCES:
                        raise CalendarError("the calendar has too many events in this period")
                    event = occurrence.as_component(False)
                    if _is_free(event):
                        continue
                    b_start = _utc(occurrence.start, local)
                    b_end = _utc(occurrence.end, local)
                    b_start, b_end = max(b_start, lo), min(b_end, hi)
                    if b_start < b_end:  # zero-length events and those outside are not busy
                        found.add(Busy(b_start, b_end, _own(event)))
            except CalendarError:
                raise
            except Exception:  # noqa: S112 - one broken series must not hide the others
                continue
    return tuple(sorted(found, key=lambda b: (b.start, b.end, b.uid)))
