"""The package graph stays a graph without cycles, and the trading path never imports a
test double. Read from the source (every ``import`` statement, typing-only ones included),
so a cycle cannot hide behind an import inside a function."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO_ROOT

SRC = REPO_ROOT / "src" / "tradefabric"
FAKE_VENUES = "tradefabric.venues.fakevenue"
ALLOWED_TO_IMPORT_FAKES = {
    "tradefabric.demo",  # the offline demo serves the bundled recording
    "tradefabric.cli.venue_commands",  # `tradefabric venue serve`, a test-double tool
    "tradefabric.cli.demo",
    FAKE_VENUES,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("tradefabric.")}


def _modules() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in SRC.rglob("*.py")}


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imported in _modules().items():
        for target in imported:
            if _package(target) != _package(module):
                graph[_package(module)].add(_package(target))
    assert _cycle(graph) == [], "packages import each other in a cycle"


def test_ops_does_not_import_the_node() -> None:
    node = "tradefabric.node"
    offenders = {
        m for m, imported in _modules().items()
        if m.startswith("tradefabric.ops") and any(i.startswith(node) for i in imported)
    }  # fmt: skip
    assert offenders == set()


def test_the_trading_path_never_imports_a_fake_venue() -> None:
    offenders = sorted(
        module
        for module, imported in _modules().items()
        if any(i.startswith(FAKE_VENUES) for i in imported)
        and not any(module == a or module.startswith(a + ".") for a in ALLOWED_TO_IMPORT_FAKES)
    )
    assert offenders == []


def test_the_graph_reader_sees_real_imports() -> None:
    # Guard against a test that cannot fail: the reader must find known edges.
    modules = _modules()
    assert "tradefabric.core.bus" in modules["tradefabric.node.trading_node"]
    assert any(i.startswith(FAKE_VENUES) for i in modules["tradefabric.demo.fake_venue"])
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
