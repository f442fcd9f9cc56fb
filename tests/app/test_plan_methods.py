"""validate --decisions judges the grouping variant and the curriculum objective that made plan.json's groups
and order (its settings), not a config edited since; a plan.json written before grouping_affinity existed used
"transfer"."""
from __future__ import annotations

import json
from pathlib import Path

from transfergraph.config import load_config
from transfergraph.jobs.decisions import plan_methods


def test_variant_comes_from_plan_json_settings(tmp_path):
    base = load_config(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
    config = base.model_copy(update={"plan": base.plan.model_copy(update={"grouping_affinity": "symmetric",
                                                                           "centered": True,
                                                                           "curriculum_objective": "tree"})})
    path = tmp_path / "plan.json"
    assert plan_methods(config, path) == ("symmetric", True, "tree")  # no plan.json: the config's
    path.write_text(json.dumps({"settings": {"grouping_affinity": "mutual", "centered": False,
                                             "curriculum_objective": "chain"}}))
    assert plan_methods(config, path) == ("mutual", False, "chain")
    path.write_text(json.dumps({"settings": {"centered": True}}))  # written before the option existed
    assert plan_methods(config, path) == ("transfer", True, "tree")
    path.write_text(json.dumps({"settings": {"grouping_affinity": "pairwise", "curriculum_objective": "spiral"}}))
    assert plan_methods(config, path) == ("symmetric", True, "tree")  # unknown values: the config's
    path.write_text("{not json")
    assert plan_methods(config, path) == ("symmetric", True, "tree")
