"""validate --decisions judges the grouping variant that made plan.json's groups (its settings), not a
config edited since; a plan.json written before grouping_affinity existed used "transfer"."""
from __future__ import annotations

import json
from pathlib import Path

from transfergraph.config import load_config
from transfergraph.jobs.decisions import plan_grouping_variant


def test_variant_comes_from_plan_json_settings(tmp_path):
    base = load_config(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
    config = base.model_copy(update={"plan": base.plan.model_copy(update={"grouping_affinity": "symmetric",
                                                                           "centered": True})})
    path = tmp_path / "plan.json"
    assert plan_grouping_variant(config, path) == ("symmetric", True)  # no plan.json: the config's
    path.write_text(json.dumps({"settings": {"grouping_affinity": "mutual", "centered": False}}))
    assert plan_grouping_variant(config, path) == ("mutual", False)
    path.write_text(json.dumps({"settings": {"centered": True}}))  # written before the option existed
    assert plan_grouping_variant(config, path) == ("transfer", True)
    path.write_text("{not json")
    assert plan_grouping_variant(config, path) == ("symmetric", True)
