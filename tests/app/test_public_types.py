"""The public face, typed: ``import transfergraph`` shows every public name to type checkers and IDEs.

The package loads its names lazily (``__getattr__``) so that importing it stays cheap; under
``TYPE_CHECKING`` it imports the same names for real. These tests check that the two lists agree, that
every name resolves at run time, and that mypy, run on a small user script, sees the real types of
``Task``, ``score``'s table (a pandas DataFrame) and ``Plan`` (no ``Any``).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _type_checking_names(init: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.unparse(stmt)
                for alias in stmt.names:
                    assert alias.asname == alias.name, f"{ast.unparse(stmt)}: re-export as `X as X`"
                    names.add(alias.name)
    return names


@pytest.mark.parametrize("package, init", [("transfergraph", "transfergraph/__init__.py"),
                                           ("transfergraph.planner", "planner/__init__.py")])
def test_lazy_names_and_type_checking_imports_agree_and_resolve(package, init):
    import importlib

    module = importlib.import_module(package)
    assert _type_checking_names(ROOT / init) == set(module._LAZY)
    assert set(module.__all__) == {"__version__", *module._LAZY}
    for name in module._LAZY:
        assert getattr(module, name) is not None


def test_public_face_has_what_a_user_needs():
    import transfergraph as tg

    needed = {"Task", "Source", "Provenance", "score", "build_graph", "select_sources", "select_source_set",
              "group_tasks", "order_curriculum", "build_plan", "Plan", "PlanOptions", "explain_plan",
              "LocalExecutor", "RayExecutor", "get_executor", "run_validation", "correlations",
              "TransfergraphError", "InputError", "ConfigError", "load_config", "run_job", "validate_job",
              "build_tasks", "build_sources", "metrics"}
    assert needed <= set(tg.__all__)
    assert "make_plan" not in tg.__all__  # one way to plan: build_plan (make_plan is deprecated)
    assert issubclass(tg.InputError, tg.TransfergraphError) and issubclass(tg.InputError, ValueError)
    assert (ROOT / "transfergraph" / "py.typed").is_file()


USER_SCRIPT = textwrap.dedent('''
    import numpy as np

    import transfergraph as tg

    x = np.zeros((20, 4), dtype=np.float32)
    task = tg.Task("t", x, np.arange(20) % 2)
    reveal_type(task)
    table = tg.score([], [task], metrics=("leep",), executor="local", progress=False)
    reveal_type(table)
    plan = tg.build_plan(tg.build_graph(table, metric="leep"), tg.PlanOptions(top_k=2))
    reveal_type(plan)
    reveal_type(plan.curriculum)
    plan.no_such_field
''')

MYPY_INI = textwrap.dedent('''
    [mypy]
    follow_imports = silent
    ignore_missing_imports = True

    # not needed for the public types; skipped so that the check takes seconds
    [mypy-torch.*,torchvision.*,ray.*,matplotlib.*,scipy.*,sklearn.*,networkx.*,ot.*,timm.*,transformers.*,datasets.*,learn2learn.*,pydantic.*,pydantic_core.*,typer.*,yaml.*,tqdm.*,threadpoolctl.*,cloudpickle.*,PIL.*]
    follow_imports = skip
''')


def _installed_layout(tmp_path: Path) -> Path:
    """The wheel's layout, as links: ``transfergraph/`` with ``planner`` and ``adapters`` inside (the
    editable install maps them with an import hook, which type checkers do not run)."""
    site = tmp_path / "site"
    package = site / "transfergraph"
    package.mkdir(parents=True)
    for entry in (ROOT / "transfergraph").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "planner").symlink_to(ROOT / "planner")
    (package / "adapters").symlink_to(ROOT / "adapters")
    return site


@pytest.mark.slow
def test_mypy_sees_the_real_types_of_the_public_api(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the dev extra: pip install -e '.[dev]'")
    script, config = tmp_path / "user.py", tmp_path / "mypy.ini"
    script.write_text(USER_SCRIPT)
    config.write_text(MYPY_INI)
    env = {**os.environ, "MYPYPATH": str(_installed_layout(tmp_path))}
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir",
                           str(tmp_path / "cache"), "--no-error-summary", str(script)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    lines = done.stdout.splitlines()
    revealed = [line.split("Revealed type is ")[1].strip('"') for line in lines if "Revealed type is" in line]
    assert revealed == ["transfergraph.planner.inputs.task.Task", "pandas.core.frame.DataFrame",
                        "transfergraph.planner.decisions.plan_types.Plan", "list[str]"], done.stdout
    errors = [line for line in lines if ": error:" in line]
    # the one deliberate mistake is caught, which an ``Any`` would have let through
    assert len(errors) == 1 and '"Plan" has no attribute "no_such_field"' in errors[0], done.stdout + done.stderr
