"""Fault injection for the Zoom routes: latency, 5xx, timeouts, "committed but the response is
lost", 429 bursts. Global (path "*") or per route (an fnmatch pattern on the path)."""

from __future__ import annotations

import fnmatch
import random
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FaultRule:
    path: str = "*"
    method: str = "*"
    latency_ms: int = 0
    error_rate: float = 0.0  # answer 5xx without doing anything
    error_status: int = 503
    timeout_rate: float = 0.0  # hang without doing anything
    lost_response_rate: float = 0.0  # do it, then hang: committed but the reply is lost
    hang_seconds: float = 10.0
    burst_429: int = 0  # the next N matching requests get 429
    burst_error: int = 0  # the next N matching requests get error_status
    burst_retry_after: str = "seconds"  # seconds | date | none
    hits: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)


@dataclass
class Decision:
    latency_ms: int = 0
    error_status: int | None = None
    timeout: bool = False
    lost: bool = False
    too_many: str | None = None  # retry-after style for a 429 burst
    hang_seconds: float = 10.0


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self.rng = random.Random(seed)

    def set(self, rules: list[dict[str, Any]], seed: int | None = None) -> list[FaultRule]:
        known = set(FaultRule.__dataclass_fields__) - {"hits"}
        parsed = []
        for raw in rules:
            unknown = set(raw) - known
            if unknown:
                raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
            parsed.append(FaultRule(**raw))
        self.rules = parsed
        if seed is not None:
            self.rng.seed(seed)
        return self.rules

    def clear(self) -> None:
        self.rules = []

    def describe(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rules]

    def decide(self, method: str, path: str) -> Decision:
        d = Decision()
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            rule.hits += 1
            d.latency_ms += rule.latency_ms
            d.hang_seconds = rule.hang_seconds
            if rule.burst_429 > 0:
                rule.burst_429 -= 1
                d.too_many = rule.burst_retry_after
                continue
            if rule.burst_error > 0:
                rule.burst_error -= 1
                d.error_status = rule.error_status
                continue
            roll = self.rng.random()
            if roll < rule.error_rate:
                d.error_status = rule.error_status
            elif roll < rule.error_rate + rule.timeout_rate:
                d.timeout = True
            elif roll < rule.error_rate + rule.timeout_rate + rule.lost_response_rate:
                d.lost = True
        return d
