"""After `transfergraph validate`, plan.json's sources evidence holds what was measured."""
import json

import pandas as pd

from transfergraph.jobs.source_evidence import SOURCES_MEASURED, record_source_evidence

CORR = pd.DataFrame({"metric": ["leep", "nce"], "method": ["retrain_head"] * 2, "kendall_tau": [0.857, 0.5],
                     "kendall_p": [0.0016, 0.2], "n_pairs": [9, 9]})
REGRET = pd.DataFrame({"metric": ["leep", "nce"], "method": ["retrain_head"] * 2, "n_targets": [3, 3],
                       "regret": [0.0, 0.05], "random_regret": [0.107, 0.107], "relative_regret": [0.0, 0.47]})


def _plan(tmp_path, metric="leep"):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"metric": metric, "evidence": {"sources": {"level": "proxy only", "note": "x"},
                                                               "groups": {"level": "proxy only"}}}))
    return path


def test_the_plans_metric_is_recorded_with_its_numbers(tmp_path):
    path = _plan(tmp_path)
    assert record_source_evidence(path, CORR, REGRET, "nce")  # the plan's own metric (leep) wins
    evidence = json.loads(path.read_text())["evidence"]
    assert evidence["sources"]["level"] == SOURCES_MEASURED and evidence["groups"]["level"] == "proxy only"
    note = evidence["sources"]["note"]
    assert "retrain_head: Kendall tau +0.86 (p 0.0016) over 9 pairs" in note
    assert "selection regret 0.000 vs 0.107 for a random pick (relative 0.00) over 3 targets" in note


def test_nothing_changes_without_a_plan_or_without_the_metric(tmp_path):
    assert not record_source_evidence(tmp_path / "none.json", CORR, REGRET, "leep")
    path = _plan(tmp_path, metric="logme")
    before = path.read_text()
    assert not record_source_evidence(path, CORR, REGRET, "leep")
    assert path.read_text() == before
