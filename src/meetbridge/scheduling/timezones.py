"""Time zones people may choose, and wall-clock times that exist exactly once in them."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo


class BadZone(ValueError):
    """Not a time zone a person can meet in."""


class BadWallTime(ValueError):
    """A wall-clock time that does not exist (clocks spring forward over it) or exists twice
    (clocks go back over it), or one whose UTC instant is past the calendar's ends (year 9999
    in a zone behind UTC): `kind` is "missing", "repeated" or "out_of_range"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# Entries of the tz database that are files, not places: `localtime` is the machine's own
# zone (it differs between the web and worker hosts), `posixrules` and `Factory` are
# placeholders, and `posix/…` and `right/…` are copies of every zone (`right/` counts leap
# seconds, so its times are off by ~27 s from what Zoom and calendars use).
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})
_COPIES = ("posix/", "right/")


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` (e.g. "Europe/Paris"); BadZone for anything else."""
    if not isinstance(name, str) or name in _NOT_PLACES or name.startswith(_COPIES):
        raise BadZone(name)
    if name not in _known():
        raise BadZone(name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadZone(name) from None


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except BadZone:
        return False
    return True


def wall_to_utc(wall: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant of the naive wall-clock time `wall` in `tz`. Refuses a time the clocks
    skip (BadWallTime("missing")) and one they pass twice (BadWallTime("repeated")): guessing
    an hour would put the meeting an hour off for someone. An aware `wall` is taken as is.
    Every conversion of a given time to UTC goes through here: one whose instant falls outside
    years 1-9999 (`9999-12-31T23:59:59-14:00`) is BadWallTime("out_of_range"), not an
    OverflowError."""
    try:
        if wall.tzinfo is not None:
            return wall.astimezone(dt.UTC)
        first = wall.replace(tzinfo=tz, fold=0)
        second = wall.replace(tzinfo=tz, fold=1)
        if first.utcoffset() != second.utcoffset():
            # fold matters only where the offset changes: at a gap (neither reading
            # round-trips) or an overlap (both do, to different instants).
            back = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
            raise BadWallTime("repeated" if back == wall else "missing")
        return first.astimezone(dt.UTC)
    except OverflowError:
        raise BadWallTime("out_of_range") from None


def utc_to_wall(at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The naive wall-clock time in `tz` of the aware instant `at`."""
    if at.tzinfo is None:
        raise ValueError("needs an aware datetime")
    return at.astimezone(tz).replace(tzinfo=None)
