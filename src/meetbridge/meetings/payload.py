"""What the first attempt's job carries from the request that scheduled the meeting
(decisions/0005-hot-paths.md, rule 7): the row as written and claimed, the host's
connection as the write saw it, and the reservation in the platform's limits, unopened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from meetbridge.core.platform import NOTHING_RESERVED, Reservation

# The row's columns that hold times (sent as ISO strings).
_TIMES = frozenset(
    {
        "start_at",
        "next_attempt_at",
        "claimed_until",
        "created_at",
        "updated_at",
        "changed_at",
        "last_create_at",
        "last_error_at",
        "last_synced_at",
        "swept_at",
    }
)


@dataclass(frozen=True)
class FirstAttempt:
    """`row`: the meeting's columns as written (`claimed_until` is the request's claim);
    `seen`: the connection's (status, token version) as the write returned them, or None."""

    row: dict[str, Any]
    seen: tuple[str, int] | None
    reservation: Reservation = NOTHING_RESERVED

    @property
    def claimed_until(self) -> dt.datetime:
        until = self.row["claimed_until"]
        assert isinstance(until, dt.datetime)
        return until

    def to_json(self) -> dict[str, Any]:
        return {
            "row": {
                k: (v.isoformat() if k in _TIMES and v is not None else v)
                for k, v in self.row.items()
            },
            "seen": list(self.seen) if self.seen is not None else None,
            "reservation": self.reservation.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FirstAttempt:
        row = {
            k: (dt.datetime.fromisoformat(v) if k in _TIMES and isinstance(v, str) else v)
            for k, v in data["row"].items()
        }
        seen = data.get("seen")
        return cls(
            row=row,
            seen=(str(seen[0]), int(seen[1])) if seen else None,
            reservation=Reservation.from_json(data.get("reservation")),
        )
