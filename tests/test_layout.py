"""The shape of the code: the core's import graph, and what each layer may import.

Read from the source (every ``import`` statement, also those inside functions), so a cycle
hidden in a function body counts; and checked in a fresh interpreter where it is about what
actually gets loaded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import imported_modules

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "shixiang"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    return {
        name: {m for m in imported_modules(path) if m in modules and m not in (name, "shixiang")}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cores_import_graph_has_no_cycle() -> None:
    graph = core_graph()
    assert len(graph) > 20  # the walk found the package
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    "shell_only",
    [
        "dagster",
        "great_expectations",
        "starlette",
        "uvicorn",
        "jinja2",
        "assets",
        "pipelines",
        "desk",
    ],
)
def test_the_core_imports_no_shell(shell_only: str) -> None:
    """The core is plain Python: Dagster, the web stack and the shells import it, not the
    reverse (GX, and the Jinja it renders Data Docs with, only by the GX layer)."""
    gx_layer = {"shixiang.expectations", "shixiang.gx_views", "shixiang.data_docs"}
    offenders = []
    for path in CORE.rglob("*.py"):
        name = _module_name(path)
        in_gx_layer = name in gx_layer or name.startswith("shixiang.gx")
        if shell_only in ("great_expectations", "jinja2") and in_gx_layer:  # GX renders with Jinja
            continue
        if any(m == shell_only or m.startswith(shell_only + ".") for m in imported_modules(path)):
            offenders.append(name)
    assert offenders == []


def _loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    return set(out.split())


def test_the_store_does_not_load_the_matcher() -> None:
    """Reading or exporting a table needs the tables' columns, not the name model (which pulls
    in rapidfuzz and pypinyin): `shixiang export` and `shixiang review` start fast."""
    loaded = _loaded_by("import shixiang.store")
    for heavy in (
        "shixiang.matching",
        "shixiang.names",
        "shixiang.tiers",
        "shixiang.library",
        "rapidfuzz",
        "pypinyin",
    ):
        assert heavy not in loaded, heavy
    assert "shixiang.tables" in loaded


def test_the_tables_module_stands_alone() -> None:
    assert {m for m in _loaded_by("import shixiang.tables") if m.startswith("shixiang")} == {
        "shixiang",
        "shixiang.tables",
    }
