"""Zoom's webhook fixtures (fixtures/<event>__<variant>.json, in the shape Zoom publishes) and
the shape of an event derived from them: which keys appear at which path, with which JSON type.
An event conforms when it uses only paths the fixtures of its event use, with their types, and
has every path all of them have."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixtures() -> dict[str, dict[str, Any]]:
    """name (`<event>__<variant>`) -> body."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))}


def of_event(event: str) -> list[dict[str, Any]]:
    return [body for name, body in fixtures().items() if name.split("__")[0] == event]


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def paths(doc: Any, prefix: str = "") -> dict[str, str]:
    """`payload.object.recording_files[].file_size` -> "number", for every key in `doc`."""
    out: dict[str, str] = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = f"{prefix}.{key}" if prefix else key
            out[path] = _type(value)
            out.update(paths(value, path))
    elif isinstance(doc, list):
        for item in doc:
            out.update(paths(item, f"{prefix}[]"))
    return out


@dataclass(frozen=True)
class Shape:
    allowed: dict[str, set[str]]  # path -> the types the fixtures give it
    required: set[str]  # the paths every fixture has

    @classmethod
    def of(cls, event: str) -> Shape:
        seen = [paths(body) for body in of_event(event)]
        assert seen, f"no fixture for {event}"
        allowed: dict[str, set[str]] = {}
        for p in seen:
            for path, kind in p.items():
                allowed.setdefault(path, set()).add(kind)
        return cls(allowed, set.intersection(*(set(p) for p in seen)))

    def problems(self, doc: Any) -> list[str]:
        got = paths(doc)
        out = [f"{p}: not in Zoom's shape" for p in got if p not in self.allowed]
        out += [
            f"{p}: {kind}, Zoom sends {sorted(self.allowed[p])}"
            for p, kind in got.items()
            if p in self.allowed and kind not in self.allowed[p]
        ]
        out += [f"{p}: missing" for p in sorted(self.required - set(got))]
        return out
