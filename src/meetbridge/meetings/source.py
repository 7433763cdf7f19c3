"""What owns a meeting: a person's own, a booking, a service request, a workflow run."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SourceKind(enum.StrEnum):
    OWN = "own"  # scheduled by a person for themselves (the Meetings page, the API, the CLI)
    BOOKING = "booking"
    REQUEST = "request"  # a service request
    WORKFLOW = "workflow"  # a workflow run


@dataclass(frozen=True)
class Source:
    """Stored on the meeting (`source_kind`, `source_id`) so the module that made it can list
    its meetings (`Meetings.list_by_source`) without touching the engine. `id` is the
    module's own id (a booking's, a request's, a run's); a person's own meeting has none."""

    kind: SourceKind = SourceKind.OWN
    id: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is SourceKind.OWN) != (self.id is None):
            raise ValueError("a person's own meeting has no source id; every other source has one")
        if self.id is not None and not (0 < len(self.id) <= 64):
            raise ValueError("a source id is 1 to 64 characters")


OWN = Source()
