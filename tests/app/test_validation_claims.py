"""Validation says what it measured: which pairs were sampled, whether the recommended sources were among
them, and no "ranks sources best" from one target's tau."""
import json

import pandas as pd

from transfergraph.jobs.source_evidence import (SOURCES_MEASURED, SOURCES_NOT_RECOMMENDED, record_source_evidence,
                                                recommended_coverage)
from transfergraph.planner.report.next_steps import next_steps_lines
from transfergraph.planner.report.validation import verdict_lines

CORR = pd.DataFrame({"metric": ["leep"], "method": ["retrain_head"], "kendall_tau": [0.33], "kendall_p": [0.47],
                     "n_pairs": [6]})
REGRET = pd.DataFrame({"metric": ["leep"], "method": ["retrain_head"], "n_targets": [2], "regret": [0.06],
                       "random_regret": [0.08], "relative_regret": [0.73]})
PLAN = {"metric": "leep",
        "sources": {"tops": [["r18_all", 0.3], ["misc", 0.1]], "misc": [["r18_all", 0.8], ["tops", 0.6]]},
        "source_models": {"misc": {"tops": "tops.cnn"}, "tops": {"misc": "misc.cnn"}},
        "evidence": {"sources": {"level": "proxy only", "note": "x"}}}


def _validation(pairs, status=None):
    return pd.DataFrame({"source": [s for s, _ in pairs], "target": [t for _, t in pairs],
                         "status": status or ["ok"] * len(pairs)})


def _record(tmp_path, validation):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PLAN))
    assert record_source_evidence(path, CORR, REGRET, "leep", validation=validation)
    return json.loads(path.read_text())


def test_unchecked_recommendation_is_said_and_the_pairs_to_check_it_are_given(tmp_path):
    plan = _record(tmp_path, _validation([("misc.cnn", "tops"), ("mnv3_tops", "tops"), ("tops.cnn", "misc")]))
    sources = plan["evidence"]["sources"]
    assert sources["level"] == SOURCES_NOT_RECOMMENDED
    assert "sources misc.cnn, mnv3_tops, tops.cnn on the targets misc, tops" in sources["note"]
    assert "the recommendation itself was not checked" in sources["note"]
    assert "[r18_all, misc], [r18_all, tops]" in sources["note"]
    third = next_steps_lines(plan)[-2]
    assert "not on the recommended sources" in third


def test_checked_recommendations_are_counted(tmp_path):
    both = _validation([("r18_all", "tops"), ("misc.cnn", "tops"), ("r18_all", "misc")])
    cov = recommended_coverage(PLAN, both)
    assert cov["recommended"] == {"misc": "r18_all", "tops": "r18_all"}
    assert cov["checked"] == ["misc", "tops"] and cov["compared"] == ["tops"]
    assert _record(tmp_path, both)["evidence"]["sources"]["level"] == SOURCES_MEASURED
    failed = _validation([("r18_all", "tops"), ("misc.cnn", "tops"), ("r18_all", "misc")], ["ok", "ok", "failed"])
    part = _record(tmp_path, failed)["evidence"]["sources"]
    assert part["level"] == f"{SOURCES_MEASURED}, the recommended source for 1 of 2 targets"
    assert "not for misc" in part["note"] and "[r18_all, misc]" in part["note"]


def _corr(n_ranked, n_pairs=40):  # enough pairs that only the count of ranked targets decides
    return pd.DataFrame([
        {"metric": "leep", "method": "retrain_head", "pearson": 0.44, "kendall_tau": 0.33, "n_pairs": n_pairs,
         "per_target_kendall_tau": -0.33, "n_ranked_targets": n_ranked},
        {"metric": "logme", "method": "retrain_head", "pearson": 0.09, "kendall_tau": 0.2, "n_pairs": n_pairs,
         "per_target_kendall_tau": 0.33, "n_ranked_targets": n_ranked},
    ])


def test_one_targets_tau_names_no_ranking_winner():
    text = " ".join(verdict_lines(_corr(1), None, metric="leep"))
    assert "logme ranks sources best" not in text
    assert "over one target: no conclusion" in text and "targets with ≥ 3 validated sources: 1" in text
    two = " ".join(verdict_lines(_corr(2), None, metric="leep"))
    assert "logme ranks sources best" not in two and "over 2 targets: no conclusion" in two
    three = " ".join(verdict_lines(_corr(3), None, metric="leep"))
    assert "Within targets (per-target τ over 3 targets, what source selection uses) logme ranks sources best: " \
           "τ=0.33 vs -0.33 for leep." in three
