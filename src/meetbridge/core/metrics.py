"""Prometheus metrics, in a registry owned by the app (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "meetbridge_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        # By status class only (2xx … 5xx): what a dashboard's error rate and an alert read.
        # Failures that raised are counted here too, as 5xx.
        self.responses = Counter(
            "meetbridge_http_responses_total",
            "HTTP responses by status class",
            ["status_class"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "meetbridge_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
