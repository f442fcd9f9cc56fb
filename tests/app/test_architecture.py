"""The import graph of ``transfergraph`` (docs/architecture.md): no cycle, and every import points down the stages.

The graph is read with :mod:`ast` from every ``.py`` file under ``planner/``, ``adapters/`` and
``transfergraph/``, at any depth: module-level imports, imports inside functions and methods, the
``_LAZY`` tables of the lazily loading packages and ``importlib.import_module("...")`` calls. Imports
under ``if TYPE_CHECKING:`` never run, so they count for the direction rule but not for cycles.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"planner": "transfergraph.planner", "adapters": "transfergraph.adapters", "transfergraph": "transfergraph"}

#: The stages, lowest first. A module may import modules of its own stage and of stages listed before
#: its own; an import of a later stage (or of another stage on the same line) is forbidden.
LAYERS: list[tuple[str, ...]] = [
    ("planner.common", "planner._lazy"),
    ("planner.storage",),
    ("planner.inputs",),
    ("planner.runtime",),
    ("planner.metrics",),
    ("planner.executors",),
    ("planner.scoring",),
    ("planner.graph",),
    ("planner.decisions",),
    ("planner.validation",),
    ("planner.report",),
    ("planner",),
    ("adapters.plugins", "adapters.datasets", "adapters.models"),
    ("adapters.meta",),
    ("adapters",),
    ("transfergraph.config",),
    ("transfergraph.jobs",),
    ("transfergraph.cli",),
    ("transfergraph", "transfergraph.__main__"),
]
RANK = {stage: rank for rank, stages in enumerate(LAYERS) for stage in stages}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts[0] = FOLDERS[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage_of(module: str) -> str:
    """``transfergraph.planner.scoring.engine`` -> ``planner.scoring``; ``transfergraph.jobs.run`` ->
    ``transfergraph.jobs``; a package's own ``__init__`` is the stage of its name."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ("planner", "adapters"):
        return ".".join(parts[1:3])
    return ".".join(parts[:2])


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, name: str, known: set[str]) -> tuple[set[str], set[str]]:
    """``(runtime, type_only)``: the tree's modules that ``path`` (module ``name``) imports."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    runtime: set[str] = set()
    type_only: set[str] = set()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target if target and target != name else None

    def add(targets: set[str], target: str) -> None:
        found = resolve(target)
        if found:
            targets.add(found)

    def visit(node: ast.AST, targets: set[str]) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.body:
                visit(child, type_only)
            for child in node.orelse:
                visit(child, targets)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(targets, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                add(targets, sub if sub in known else module)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                isinstance(t, ast.Name) and "LAZY" in t.id for t in node.targets):
            for value in node.value.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    add(targets, value.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                add(targets, node.args[0].value)
        for child in ast.iter_child_nodes(node):
            visit(child, targets)

    visit(ast.parse(path.read_text(), filename=str(path)), runtime)
    return runtime, type_only - runtime


def import_graph() -> tuple[nx.DiGraph, nx.DiGraph]:
    """``(runtime, everything)``: module -> imported module, edges labelled with the importing file."""
    files = {module_name(p): p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))}
    known = set(files)
    runtime, everything = nx.DiGraph(), nx.DiGraph()
    runtime.add_nodes_from(known)
    everything.add_nodes_from(known)
    for name, path in files.items():
        run, typed = imports_of(path, name, known)
        runtime.add_edges_from((name, t) for t in run)
        everything.add_edges_from((name, t) for t in run | typed)
    return runtime, everything


def test_every_module_belongs_to_a_stage():
    _, graph = import_graph()
    unknown = sorted(m for m in graph if stage_of(m) not in RANK)
    assert unknown == [], f"modules of no stage (add the stage to LAYERS here and to docs/architecture.md): {unknown}"


def test_no_import_cycle_function_level_imports_included():
    runtime, _ = import_graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(runtime) if len(c) > 1]
    described = []
    for component in cycles:
        cycle = nx.find_cycle(runtime.subgraph(component))
        described.append(" -> ".join([a for a, _ in cycle] + [cycle[0][0]]))
    assert described == [], "import cycles:\n" + "\n".join(described)


def test_imports_point_down_the_stages():
    _, graph = import_graph()
    wrong = sorted(f"{a} ({stage_of(a)}) imports {b} ({stage_of(b)})" for a, b in graph.edges
                   if stage_of(a) != stage_of(b) and stage_of(a) in RANK and stage_of(b) in RANK
                   and RANK[stage_of(b)] >= RANK[stage_of(a)])
    assert wrong == [], "imports against the stage order of docs/architecture.md:\n" + "\n".join(wrong)


def test_the_checker_sees_function_level_lazy_and_relative_imports(tmp_path):
    """The reader itself: an import inside a function, a ``_LAZY`` table entry, an ``import_module``
    call and a relative import are all edges; a ``TYPE_CHECKING`` import is a type-only edge."""
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "from .b import thing\n"
        "_LAZY = {'x': 'pkg.c'}\n"
        "if TYPE_CHECKING:\n    from pkg.d import D\n"
        "def f():\n    from pkg import e\n    return importlib.import_module('pkg.f')\n")
    known = {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.e", "pkg.f"}
    runtime, typed = imports_of(source, "pkg.a", known)
    assert runtime == {"pkg.b", "pkg.c", "pkg.e", "pkg.f"}
    assert typed == {"pkg.d"}


def test_the_architecture_page_names_every_stage():
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [stage for stages in LAYERS for stage in stages
               if stage not in ("planner", "adapters", "transfergraph") and f"`{stage}`" not in text]
    assert missing == []
