"""Pruning: tables that grow with every request or event are trimmed to a retention period
(`MEETBRIDGE_RETENTION_DAYS`). Each module names its own rules in the composition root; only
rows that are finished (sent, handled, failed long ago) are removed, never work still due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, select

from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.logging import get_logger

log = get_logger("meetbridge.retention")

PRUNE_TASK = "retention.prune"


@dataclass(frozen=True)
class Rule:
    """Rows of `table` whose `age` column is older than the retention period and that match
    `finished` (None: all rows that old) are deleted."""

    name: str
    table: Any
    age: Any
    finished: ColumnElement[bool] | None = None


class Retention:
    def __init__(self, db: Database, clock: Clock, days: int, rules: Sequence[Rule]) -> None:
        self.db = db
        self.clock = clock
        self.days = days
        self.rules = list(rules)

    def prune(self, batch: int = 5000) -> dict[str, int]:
        """Deletes what is past its time, in batches (a long delete would hold SQLite's one
        write lock). Returns the rows deleted per rule."""
        cutoff = self.clock.now() - dt.timedelta(days=self.days)
        counts: dict[str, int] = {}
        for rule in self.rules:
            table = getattr(rule.table, "__table__", rule.table)
            key = next(iter(table.primary_key.columns))
            old = rule.age < cutoff
            where = old if rule.finished is None else old & rule.finished
            deleted = 0
            while True:
                with self.db.single() as conn:
                    ids = select(key).where(where).limit(batch).scalar_subquery()
                    n = conn.execute(delete(table).where(key.in_(ids))).rowcount
                deleted += n
                if n < batch:
                    break
            counts[rule.name] = deleted
        if any(counts.values()):
            log.info("retention.pruned", **counts)
        return counts
