"""Fixtures of the application-layer tests: a synthetic score table (scripts/synthetic_scores.py)."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _synthetic():
    spec = importlib.util.spec_from_file_location("synthetic_scores", ROOT / "scripts" / "synthetic_scores.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic_scores


@pytest.fixture(scope="session")
def synthetic_scores():
    return _synthetic()


@pytest.fixture(scope="session")
def scores_csv(tmp_path_factory, synthetic_scores):
    path = tmp_path_factory.mktemp("synthetic") / "scores.csv"
    synthetic_scores(10, n_models=3, seed=0).to_csv(path, index=False)
    return path
