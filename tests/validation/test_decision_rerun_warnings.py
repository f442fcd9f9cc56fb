"""Rerunning `transfergraph validate --decisions` on the same folder replaces the warnings the earlier run
added to plan.json instead of repeating them (and keeps every other warning)."""
from __future__ import annotations

import json

import pandas as pd

from transfergraph.planner.validation.decision_outputs import SUMMARY_COLUMNS


def _row(decision, arm, verdict=""):
    return {"decision": decision, "arm": arm, "n_seeds": 5, "percentile": 50.0, "percentile_seed_mean_truth": 50.0,
            "regret": 1.0, "regret_seed_mean_truth": 1.0, "gain": 0.0, "gain_low": -0.01, "gain_high": 0.01,
            "spearman": 0.0, "spearman_low": -0.1, "spearman_high": 0.1, "noise_ceiling": 0.8, "verdict": verdict}


def test_rerun_replaces_validation_warnings(tmp_path, monkeypatch):
    import transfergraph.jobs.decisions as job

    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    monkeypatch.setattr(job, "measured_orders", lambda res: {})
    failing = pd.DataFrame([_row("grouping_k2", "planner", "fails the minimum bar (percentile 60 < 75)")],
                           columns=SUMMARY_COLUMNS)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"groups": [["a", "b"], ["c"]], "evidence": {}, "warnings": ["leakage: kept"]}))
    part = {"k2": {"groups": [["a", "b"], ["c"]], "seeds": 5, "val_acc": 0.5, "test_acc": 0.5, "percentile": 90.0,
                   "gain_over_random": 0.01}}
    for _ in range(2):
        job._update_plan(path, failing, "periphery_core", {}, tasks=["a", "b", "c"], seeds=5, n_curr=3, res=None,
                         partitions=part)
    warnings = json.loads(path.read_text())["warnings"]
    assert warnings[0] == "leakage: kept"
    assert sum(w.startswith("groups: trained for real") for w in warnings) == 1
    # a later run whose verdict no longer fails leaves no stale warning behind
    passing = failing.assign(verdict="beats random")
    job._update_plan(path, passing, "periphery_core", {}, tasks=["a", "b", "c"], seeds=5, n_curr=3, res=None,
                     partitions=part)
    assert json.loads(path.read_text())["warnings"] == ["leakage: kept"]


def test_the_warning_recommends_a_measured_partition_only_when_it_beat_random(tmp_path, monkeypatch):
    """The failing-proxy warning names measured_partition only for budgets whose partition beat the random
    mean on test (the report says the same), the plan's own budget first."""
    import transfergraph.jobs.decisions as job

    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    monkeypatch.setattr(job, "measured_orders", lambda res: {})
    failing = pd.DataFrame([_row("grouping_k2", "planner", "fails the minimum bar (percentile 60 < 75)")],
                           columns=SUMMARY_COLUMNS)
    path = tmp_path / "plan.json"

    def warning(parts):
        path.write_text(json.dumps({"groups": [["a", "b"], ["c", "d"]], "evidence": {}, "warnings": [],
                                    "objectives": {"groups": {"n_groups": 3}}}))
        job._update_plan(path, failing, "periphery_core", {}, tasks=["a", "b", "c", "d"], seeds=5, n_curr=3,
                         res=None, partitions=parts)
        return next(w for w in json.loads(path.read_text())["warnings"] if w.startswith("groups:"))

    def part(gain):
        return {"groups": [["a", "b"], ["c", "d"]], "seeds": 5, "val_acc": 0.5, "test_acc": 0.5, "percentile": 50.0,
                "gain_over_random": gain}

    text = warning({"k2": part(0.01), "k3": part(0.02)})
    assert "prefer plan.json's measured_partition" in text and text.index("k3:") < text.index("k2:")
    text = warning({"k2": part(-0.01), "k3": part(0.0)})
    assert "measured_partition" not in text


def test_report_and_warning_read_one_rule_for_measured_partitions(tmp_path, monkeypatch):
    """partition_verdicts is the one rule: the plan's budget first; no gain -> not offered; every task alone
    better -> separate models said in both the warning and the report; another budget -> for information."""
    import transfergraph.jobs.decisions as job
    from transfergraph.planner.report.explain import _groups_section
    from transfergraph.planner.validation.decision_outputs import partition_verdicts

    def part(gain, separate):
        return {"groups": [["a", "b"], ["c", "d"]], "seeds": 5, "val_acc": 0.5, "test_acc": 0.5, "percentile": 90.0,
                "gain_over_random": gain, "separate_gain": separate}

    parts = {"k2": part(0.01, 0.0), "k3": part(0.02, 0.05), "k4": part(-0.01, 0.0)}
    assert [(k, v) for k, _, v in partition_verdicts(parts, 3)] == [
        ("k3", "separate"), ("k2", "other_budget"), ("k4", "no_gain")]
    assert [(k, v) for k, _, v in partition_verdicts(parts, 2)] == [
        ("k2", "prefer"), ("k3", "separate"), ("k4", "no_gain")]
    assert partition_verdicts(None, 2) == []

    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    monkeypatch.setattr(job, "measured_orders", lambda res: {})
    failing = pd.DataFrame([_row("grouping_k2", "planner", "fails the minimum bar (percentile 60 < 75)")],
                           columns=SUMMARY_COLUMNS)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"groups": [["a", "b"], ["c", "d"]], "evidence": {}, "warnings": [],
                                "objectives": {"groups": {"n_groups": 3}}}))
    job._update_plan(path, failing, "periphery_core", {}, tasks=["a", "b", "c", "d"], seeds=5, n_curr=3,
                     res=None, partitions=parts)
    warning = next(w for w in json.loads(path.read_text())["warnings"] if w.startswith("groups:"))
    assert "k3: a+b | c+d, test accuracy +0.020 over the random partition mean (every task alone did better" in warning
    assert "k2: a+b | c+d, test accuracy +0.010 over the random partition mean (another group budget" in warning
    assert "k4:" not in warning
    plan = {"groups": [["a", "b"], ["c", "d"]], "measured_partition": parts,
            "objectives": {"groups": {"value": 0.1, "group_values": [0.1, 0.0], "n_groups": 3, "centering": "w - median",
                                      "objective": "o", "status": "optimal", "method": "dp", "seconds": 0.0,
                                      "optimal": True, "bound": 0.1, "gap": 0.0}}}
    report = "\n".join(_groups_section(plan))
    assert report.index("at most 3 groups") < report.index("at most 2 groups") < report.index("at most 4 groups")
    assert "training every task alone did better still (+0.050)" in report
    assert "(the plan's budget is 3 groups)" in report and "prefer it to the groups above" not in report


def test_networks_at_chance_are_warned_about_once_and_cleared_when_trained(tmp_path, monkeypatch):
    """validate --decisions names the tasks whose single-task networks are at chance (their measurements are
    noise); a rerun replaces that warning, and one whose networks learned drops it."""
    import transfergraph.jobs.decisions as job
    from transfergraph.planner.report.next_steps import _warning_counts

    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    monkeypatch.setattr(job, "measured_orders", lambda res: {})
    passing = pd.DataFrame([_row("grouping_k2", "planner", "beats random")], columns=SUMMARY_COLUMNS)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"groups": [["a", "b"], ["c"]], "evidence": {}, "warnings": ["leakage: kept"]}))
    chance = {"a": {"loss": 1.09, "chance_loss": 1.0986, "acc": 0.33, "chance_acc": 1 / 3}}
    for _ in range(2):
        job._update_plan(path, passing, "periphery_core", {}, tasks=["a", "b", "c"], seeds=5, n_curr=3, res=None,
                         at_chance=chance)
    warnings = json.loads(path.read_text())["warnings"]
    said = [w for w in warnings if "are at chance" in w]
    assert len(said) == 1 and "['a']" in said[0] and "validate.decisions.steps" in said[0]
    assert "1 decision networks at chance" in _warning_counts(warnings)
    job._update_plan(path, passing, "periphery_core", {}, tasks=["a", "b", "c"], seeds=5, n_curr=3, res=None)
    assert json.loads(path.read_text())["warnings"] == ["leakage: kept"]


def test_a_measurement_that_cannot_tell_alternatives_apart_is_never_preferred(tmp_path, monkeypatch):
    """A measured partition or order that beat the random mean, but whose networks are at chance or whose decision
    has a noise ceiling < 0.5, is not recommended: not by the warning, not by the report."""
    import transfergraph.jobs.decisions as job
    from transfergraph.planner.report.explain import _curriculum_section, _groups_section
    from transfergraph.planner.validation.decision_outputs import partition_verdicts
    from transfergraph.planner.validation.decision_verdicts import cannot_tell

    part = {"groups": [["a", "b"], ["c"]], "seeds": 5, "val_acc": 0.5, "test_acc": 0.5, "percentile": 100.0,
            "gain_over_random": 0.02, "separate_gain": 0.0}
    order = {"order": ["a", "b", "c"], "seeds": 5, "val_acc": 0.5, "test_acc": 0.5, "percentile": 100.0,
             "gain_over_random": 0.05}
    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    monkeypatch.setattr(job, "measured_orders", lambda res: {"naive": dict(order)})
    rows = [_row("grouping_k2", "planner", "fails the minimum bar (percentile 60 < 75)"),
            _row("curriculum_naive_acc", "planner_dissimilar_chain", "fails the minimum bar (percentile 60 < 75)")]
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS).assign(noise_ceiling=[0.3, 0.9])
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"groups": [["a", "b", "c"]], "curriculum": ["c", "b", "a"], "evidence": {},
                                "warnings": [], "objectives": {"groups": {"n_groups": 2}}}))
    job._update_plan(path, summary, "dissimilar_chain", {"k2": [["a", "c"], ["b"]]}, tasks=["a", "b", "c"], seeds=5,
                     n_curr=3, res=None, partitions={"k2": dict(part)},
                     at_chance={"b": {"loss": 1.1, "chance_loss": 1.1, "acc": 0.3, "chance_acc": 0.33}})
    plan = json.loads(path.read_text())
    m, o = plan["measured_partition"]["k2"], plan["measured_curriculum"]["naive"]
    assert m["noise_ceiling"] == 0.3 and m["at_chance"] == ["b"] and o["at_chance"] == ["b"]
    assert "at chance" in cannot_tell(m) and [v for _, _, v in partition_verdicts({"k2": m}, 2)] == ["noise"]
    assert "noise ceiling is 0.30" in cannot_tell({"noise_ceiling": 0.3}) and cannot_tell({"noise_ceiling": 0.8}) is None
    warnings = " ".join(plan["warnings"])
    assert "prefer" not in warnings.replace("no reason to prefer", "")  # not measured_groups either (same networks)
    assert "cannot tell groupings apart" in warnings and "beat the random-order mean on test (naive: +0.050 ACC)" in warnings
    assert "ceiling is undefined" in cannot_tell({"noise_ceiling": None, "ceiling_undefined": True})
    plan["objectives"]["groups"].update({"value": 0.1, "group_values": [0.1], "centering": "w - median",
                                         "objective": "o", "status": "optimal", "method": "dp", "seconds": 0.0,
                                         "optimal": True, "bound": 0.1, "gap": 0.0})
    plan["objectives"]["curriculum"] = {"value": 0.1, "parents": {}, "objective": "o", "status": "optimal",
                                        "method": "dp", "seconds": 0.0, "optimal": True, "bound": 0.1, "gap": 0.0}
    text = "\n".join(_groups_section(plan) + _curriculum_section(plan))
    assert text.count("prefer it") == text.count("no reason to prefer it") == 2
