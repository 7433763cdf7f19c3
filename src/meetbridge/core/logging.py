"""structlog configuration: JSON lines with request/job ids, and a processor that redacts
secrets so that no token, password or cookie ever reaches a log."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|authorization|cookie|api[_-]?key|code_verifier|refresh)", re.I
)
_SECRET_VALUES = re.compile(r"(Bearer\s+|Basic\s+|mbp_|mbs_)[A-Za-z0-9._~+/=-]+")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUES.sub(lambda m: m.group(1) + REDACTED, value)
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEYS.search(k) else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Drop the value of any secret-looking key and mask bearer-like strings anywhere."""
    return {
        k: (REDACTED if k != "event" and _SECRET_KEYS.search(k) else _scrub(v))
        for k, v in event_dict.items()
    }


class _Stderr:
    """Writes each line to whatever `sys.stderr` is now (not the stream seen at start-up)."""

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _stderr_factory(*_: Any) -> _Stderr:
    return _Stderr()


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_factory,
        # Not cached: loggers follow a later configure_logging (tests, CLI commands in-process).
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Uvicorn's access log would duplicate our request log line without its request id.
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
