"""The package's layers only look down: an import graph read from its own files with `ast`.

Floors, bottom up: the ground floor (the modules at the package's top: errors, resolvers,
records, ...), data, train, the job directory, then the sweep and the summary side by side
(neither imports the other), then legacy and bench. Imports made only for type checkers do
not count: they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "zo_sweep"
FLOORS = {
    "data": 1,
    "train": 2,
    "jobdir": 3,
    "sweep": 4,
    "summary": 4,
    "legacy": 5,
    "bench": 5,
    "__main__": 6,
}
GROUND = 0


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST, me: str, is_package: bool) -> Iterator[str]:
    """The zo_sweep modules a file imports, leaving out `if TYPE_CHECKING:` blocks."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = me.split(".")[: len(me.split(".")) - node.level + is_package]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from package import module` imports the module; `from module import name`, the module.
            yield from (f"{base}.{alias.name}|{base}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a name that is no module is left out)."""
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for me, path in files.items():
        tree = ast.parse(path.read_text())
        for found in _runtime_imports(tree, me, path.name == "__init__.py"):
            submodule, _, base = found.partition("|")
            name = submodule if submodule in files else (base or submodule)
            if name in files and name != me and name != "zo_sweep":
                graph[me].add(name)
        graph.setdefault(me, set())
    return graph


def floor(module: str) -> tuple[str, int]:
    """The part of the package a module belongs to, and that part's floor."""
    part = (module.split(".") + ["__init__"])[1]
    return part, FLOORS.get(part, GROUND)


def looks_down(me: str, other: str) -> bool:
    """Within one part anything goes (its circles are the other test's); across parts an
    import goes to a lower floor, or stays on the ground floor."""
    (my_part, my_floor), (part, other_floor) = floor(me), floor(other)
    return part == my_part or other_floor < my_floor or my_floor == other_floor == GROUND


def test_no_import_runs_up_a_floor_or_across_between_sweep_and_summary() -> None:
    graph = import_graph()
    upward = [f"{me} imports {other}" for me in graph for other in graph[me]]
    assert [line for line in upward if not looks_down(*line.split(" imports "))] == []


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    circles = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            module, path = stack.pop()
            for other in graph[module]:
                if other == start:
                    circles.append(" -> ".join([*path, start]))
                elif other not in seen:
                    seen.add(other)
                    stack.append((other, [*path, other]))
    assert circles == []


def test_the_graph_sees_imports_of_every_kind() -> None:
    """The check can fail: the graph holds the imports the layers above are made of."""
    graph = import_graph()
    assert "zo_sweep.jobdir.schema" in graph["zo_sweep.sweep.validation"]
    assert "zo_sweep.train.settings" in graph["zo_sweep.jobdir.schema"]
    assert "zo_sweep.records" in graph["zo_sweep.train.pipeline"]
    assert not looks_down("zo_sweep.summary.verdict", "zo_sweep.sweep.status")
    assert not looks_down("zo_sweep.data.kinds", "zo_sweep.sweep.folders")
    assert looks_down("zo_sweep.sweep.job", "zo_sweep.jobdir.identity")
