"""Members' busy times that other modules hold: booking must not offer a member's slot while
they provide a service request, but booking and requests know nothing of each other. Each
module that holds such times registers a reader here (the container wires them); booking asks
them all. A reader answers for one organisation, a few members and a window, in one query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

# (member id, start, end) of each busy time overlapping [start, end).
Reader = Callable[
    [str, Sequence[str], dt.datetime, dt.datetime], list[tuple[str, dt.datetime, dt.datetime]]
]


class BusyTimes:
    def __init__(self) -> None:
        self._readers: list[Reader] = []

    def add(self, reader: Reader) -> None:
        self._readers.append(reader)

    def of(
        self, org_id: str, user_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[tuple[str, dt.datetime, dt.datetime]]:
        if not user_ids:
            return []
        return [t for read in self._readers for t in read(org_id, user_ids, start, end)]
