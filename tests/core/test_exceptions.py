"""Every error raised on purpose is in planner/common/exceptions.py's hierarchy (and input errors stay ValueErrors)."""
import ast
from pathlib import Path

import transfergraph.planner.common.exceptions as exc

ROOT = Path(__file__).resolve().parents[2]
# pydantic validators must raise ValueError; pydantic turns it into the ConfigError the user sees
PYDANTIC_VALIDATORS = {ROOT / "transfergraph" / "config" / name for name in ("__init__.py", "data.py", "models.py", "fields.py")}


def test_every_exception_derives_from_the_base_and_feature_errors_are_score_errors():
    for name in exc.__all__:
        assert issubclass(getattr(exc, name), exc.TransfergraphError), name
    assert issubclass(exc.FeatureError, exc.ScoreError)
    for name in ("InputError", "ConfigError", "GraphError", "InfeasiblePlanError", "CheckpointError"):
        assert issubclass(getattr(exc, name), ValueError), name


def test_library_code_raises_no_bare_builtin_errors():
    bare = []
    for path in sorted(p for d in ("planner", "adapters", "transfergraph") for p in (ROOT / d).rglob("*.py")
                       if p not in PYDANTIC_VALIDATORS):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name) \
                    and node.exc.func.id in ("ValueError", "RuntimeError", "TypeError", "Exception"):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []
