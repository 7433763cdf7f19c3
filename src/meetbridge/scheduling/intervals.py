"""Half-open time intervals [start, end) of aware datetimes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Interval:
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("intervals take aware datetimes")
        if self.end < self.start:
            raise ValueError("an interval ends after it starts")

    @classmethod
    def lasting(cls, start: dt.datetime, minutes: int) -> Interval:
        return cls(start, start + dt.timedelta(minutes=minutes))

    @property
    def empty(self) -> bool:
        return self.start == self.end

    def overlaps(self, other: Interval) -> bool:
        """They share some time (an empty interval shares none, even inside another)."""
        if self.empty or other.empty:
            return False
        return self.start < other.end and other.start < self.end

    def contains(self, at: dt.datetime) -> bool:
        return self.start <= at < self.end

    def widened(self, before: dt.timedelta, after: dt.timedelta) -> Interval:
        return Interval(self.start - before, self.end + after)
