"""Keeps the layer rules of ARCHITECTURE.md: dependencies point down only, and the product
never imports the sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "meetbridge"

# What each layer may import from inside meetbridge (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "scheduling": set(),
    "zoom": {"core"},
    "notify": {"core"},
    "services": {"core", "zoom", "notify", "scheduling"},
    "api": {"core", "services", "container", "web.http"},
    "web": {"core", "services", "container"},
    "cli": {"core", "services", "container"},
    "migrations": {"core"},
}
TOP_LEVEL = {"app", "container", "__main__", "__init__"}  # the composition root


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "meetbridge" or m.startswith("meetbridge.")}


def _layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return ""
    if parts[0] == "web" and len(parts) > 1 and parts[1] == "http":
        return "web.http"
    return parts[0]


def test_layers_point_down_only() -> None:
    problems = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        layer = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if layer in TOP_LEVEL:
            continue
        assert layer in ALLOWED, f"{rel}: a new layer; add it to ALLOWED with its rules"
        for module in _imports(path):
            target = _layer(module)
            if target in (layer, "") or target in ALLOWED[layer]:
                continue
            if layer == "web" and target == "web.http":
                continue
            problems.append(f"{rel} imports {module}")
    assert not problems, "\n".join(problems)


def test_the_product_never_imports_the_sandbox() -> None:
    for path in SRC.rglob("*.py"):
        assert not any("sandbox" in m for m in _imports(path)), path


def test_scheduling_is_pure() -> None:
    for path in (SRC / "scheduling").rglob("*.py"):
        text = path.read_text()
        for io in ("sqlalchemy", "httpx", "smtplib", "requests"):
            assert f"import {io}" not in text, f"{path} does I/O through {io}"
