"""The layers: ``planner`` (core) never imports ``adapters`` or the application layer; imports stay cheap."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layer(module: str) -> str:
    """``transfergraph.planner.x`` -> ``planner``; ``transfergraph.adapters.x`` -> ``adapters``;
    other ``transfergraph.x`` -> ``transfergraph`` (the application layer); anything else its top level."""
    parts = module.split(".")
    if parts[0] == "transfergraph" and len(parts) > 1 and parts[1] in ("planner", "adapters"):
        return parts[1]
    return parts[0]


def _imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {_layer(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(_layer(node.module))
            if node.module == "transfergraph":
                names |= {_layer(f"transfergraph.{a.name}") for a in node.names}
    return names


def test_planner_never_imports_adapters_or_the_app_layer():
    offenders = {str(p.relative_to(ROOT)): sorted(_imported_top_levels(p) & {"adapters", "transfergraph"})
                 for p in sorted((ROOT / "planner").rglob("*.py"))}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_adapters_do_not_import_the_app_layer():
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "adapters").rglob("*.py"))
                 if "transfergraph" in _imported_top_levels(p)]
    assert offenders == []


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys; print(' '.join(sorted(m for m in sys.modules if '.' not in m)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_import_transfergraph_is_cheap_and_reexports_planner():
    loaded = _loaded_after("import transfergraph, transfergraph.planner\n"
                           "assert transfergraph.select_sources is transfergraph.planner.select_sources\n"
                           "assert transfergraph.Task is transfergraph.planner.Task\n"
                           "assert callable(transfergraph.load_config) and callable(transfergraph.run_job)")
    assert not loaded & {"torch", "ray", "matplotlib", "planner", "adapters"}


def test_importing_planner_decisions_does_not_import_matplotlib():
    loaded = _loaded_after("from transfergraph.planner import select_sources, build_plan, build_graph")
    assert "matplotlib" not in loaded


def test_docstrings_cite_no_document_that_does_not_ship():
    import re

    pattern = re.compile(r"SPEC ?§|DECISIONS\.md|RAY\.md|METRICS\.md|TTA\.md|CNAPS\.md|\.\./shared/|[Ii]ssue ?#?\d+")
    hits = [f"{p.relative_to(ROOT)}:{i}" for d in ("planner", "adapters", "transfergraph")
            for p in sorted((ROOT / d).rglob("*.py")) for i, line in enumerate(p.read_text().splitlines(), 1)
            if pattern.search(line)]
    assert hits == []
