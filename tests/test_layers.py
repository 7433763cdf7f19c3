"""Keeps the layer rules of docs/architecture.md: dependencies point down only, modules reach
the meetings engine through its public face, only the integrations (Zoom, members' calendars)
speak HTTP, and the product never imports the sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "meetbridge"

# What each layer may import from inside meetbridge (besides itself). A layer is the first
# package under meetbridge/, or `integrations.zoom` for a platform.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "scheduling": set(),
    "notify": {"core"},
    "integrations": {"core", "notify"},
    "accounts": {"core", "notify"},
    "projects": {"core"},
    "meetings": {"core", "notify", "scheduling", "accounts"},
    # The faces serve the booking module's pages and endpoints too (the API its slot type).
    "api": {
        *("core", "accounts", "projects", "meetings", "integrations", "notify", "container"),
        *("booking", "requests", "reports", "scheduling", "workflows"),
    },
    # The web pages may use scheduling's pure code too (the workflow editor words a cron).
    "web": {
        *("core", "accounts", "projects", "meetings", "integrations", "notify", "container"),
        *("booking", "requests", "reports", "scheduling", "workflows"),
    },
    "cli": {
        *("core", "accounts", "projects", "meetings", "integrations", "notify", "container"),
        *("booking", "requests", "workflows"),
    },
    "migrations": {
        "core",
        "integrations",
        "booking",
        "requests",
        "workflows",
    },  # to see every table
    # The modules to come use the engine only through its public face (booking, service
    # requests, workflows), or read the tables (reports).
    "booking": {"core", "scheduling", "notify"},
    "requests": {"core", "scheduling", "notify"},
    "workflows": {"core", "scheduling", "notify"},
    "reports": {"core", "scheduling", "notify"},
}
# Layers that may import only these modules of another layer (by dotted prefix).
NARROW: dict[str, tuple[str, ...]] = {
    # The hot path's INSERT … SELECT checks the host's Zoom connection in the same statement:
    # the engine sees the connection table, nothing else of the Zoom package.
    "meetings": ("meetbridge.integrations.zoom.tables",),
    "booking": (
        "meetbridge.meetings.service",
        "meetbridge.meetings.inputs",
        "meetbridge.meetings.source",
        "meetbridge.meetings.status",
    ),
    "requests": (
        "meetbridge.meetings.service",
        "meetbridge.meetings.inputs",
        "meetbridge.meetings.source",
        "meetbridge.meetings.status",
    ),
    "workflows": (
        "meetbridge.meetings.service",
        "meetbridge.meetings.inputs",
        "meetbridge.meetings.source",
        "meetbridge.meetings.status",
        "meetbridge.integrations.zoom.passthrough",
        "meetbridge.integrations.zoom.openapi",
    ),
    # Reports read other modules through their read functions, and the tables where a read
    # of 100,000 rows must not make an object a row (the Zoom Demand report).
    "reports": ("meetbridge.requests.reads", "meetbridge.requests.tables"),
}
# Where a face may reach into another face (the API shares the web's request middleware).
FACE_EXCEPTIONS = {("api", "web.http")}
TOP_LEVEL = {"app", "container", "__main__", "__init__"}  # the composition root


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _ours(path: Path) -> set[str]:
    return {m for m in _imports(path) if m == "meetbridge" or m.startswith("meetbridge.")}


def _layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return ""
    if parts[0] == "web" and len(parts) > 1 and parts[1] == "http":
        return "web.http"
    return parts[0]


def _source_files() -> list[Path]:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 40, f"found only {len(files)} source files under {SRC}"
    return files


def test_layers_point_down_only() -> None:
    problems = []
    for path in _source_files():
        rel = path.relative_to(SRC)
        layer = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if layer in TOP_LEVEL:
            continue
        assert layer in ALLOWED, f"{rel}: a new layer; add it to ALLOWED with its rules"
        for module in _ours(path):
            target = _layer(module)
            if target.split(".")[0] in (layer, "") or target in ALLOWED[layer]:
                continue
            if (layer, target) in FACE_EXCEPTIONS:
                continue
            if any(module == m or module.startswith(m + ".") for m in NARROW.get(layer, ())):
                continue
            problems.append(f"{rel} imports {module}")
    assert not problems, "\n".join(problems)


def test_the_product_never_imports_the_sandbox() -> None:
    for path in _source_files():
        assert not any("sandbox" in m for m in _ours(path)), path


def test_only_the_integrations_speak_http() -> None:
    allowed = SRC / "integrations"
    for path in _source_files():
        if allowed in path.parents or path.parent == SRC:  # the composition root builds them
            continue
        assert not any(m.split(".")[0] == "httpx" for m in _imports(path)), path


def test_calendar_integration_uses_only_core_and_notify() -> None:
    """The booking module sees calendars through the port in core; the implementation must not
    reach up into the modules that use it, nor into another platform's package."""
    files = sorted((SRC / "integrations" / "calendars").rglob("*.py"))
    assert files, "integrations/calendars/ exists"
    for path in files:
        for module in _ours(path):
            assert module.startswith(
                ("meetbridge.core", "meetbridge.notify", "meetbridge.integrations.calendars")
            ), f"{path} imports {module}"


def test_scheduling_is_pure() -> None:
    files = sorted((SRC / "scheduling").rglob("*.py"))
    assert len(files) > 1, "scheduling/ holds code, not only an __init__"
    for path in files:
        for module in _imports(path):
            assert module.split(".")[0] not in (
                "sqlalchemy",
                "httpx",
                "smtplib",
                "socket",
                "requests",
                "meetbridge",
            ), f"{path} does I/O through {module}"
