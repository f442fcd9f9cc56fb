"""Evidence that says what it means: verdict-carrying levels, all_separate in decisions.md, no fallback
grouping that lost to random, the plan's own groups judged, scatter titles of what is plotted."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transfergraph.jobs.decisions import choose_tasks
from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.planner.validation.decision_outputs import SUMMARY_COLUMNS, decision_section
from transfergraph.planner.validation.decision_verdicts import evidence_level, offered_groupings, separate_line


def _row(decision, arm, gain=0.0, lo=-0.01, hi=0.01, verdict=""):
    return {"decision": decision, "arm": arm, "n_seeds": 5, "percentile": 50.0, "percentile_seed_mean_truth": 50.0,
            "regret": 1.0, "regret_seed_mean_truth": 1.0, "gain": gain, "gain_low": lo, "gain_high": hi,
            "spearman": 0.0, "spearman_low": -0.1, "spearman_high": 0.1, "noise_ceiling": 0.3, "verdict": verdict}


# the user's case: every verdict inconclusive, all_separate +0.020 [+0.019, +0.022], HOA -0.037 [-0.056, -0.015]
SUMMARY = pd.DataFrame([
    _row("grouping_k2", "planner", verdict="inconclusive (noise ceiling 0.30 < 0.5)"),
    _row("grouping_k3", "planner", verdict="inconclusive (noise ceiling 0.20 < 0.5)"),
    _row("grouping_k2", "all_separate", 0.020, 0.019, 0.022),
    _row("grouping_k2", "hoa", -0.037, -0.056, -0.015, verdict="inconclusive (noise ceiling 0.30 < 0.5)"),
    _row("grouping_k3", "hoa", 0.004, -0.010, 0.012, verdict="inconclusive (noise ceiling 0.20 < 0.5)"),
], columns=SUMMARY_COLUMNS)


def test_evidence_level_carries_the_verdict():
    planner = SUMMARY[SUMMARY.arm == "planner"]
    assert evidence_level(planner) == "measured on this data: inconclusive"
    assert "validated" not in evidence_level(planner)
    won = planner.assign(verdict="beats random")
    assert evidence_level(won) == "validated on this data: beats random"
    mixed = planner.assign(verdict=["beats random", "fails the minimum bar (percentile 60 < 75)"])
    assert evidence_level(mixed) == ("measured on this data: mixed (grouping_k2 beats random; "
                                     "grouping_k3 fails the minimum bar)")


def test_all_separate_is_in_decisions_md_and_said_when_it_wins():
    md = decision_section(SUMMARY, {})
    assert "| grouping_k2 | all_separate |" in md and "+0.020 [+0.019, +0.022]" in md
    line = separate_line(SUMMARY)
    assert line.startswith("Training every task alone (all_separate) beat random") and "+0.020" in line
    assert separate_line(SUMMARY[SUMMARY.arm != "all_separate"]) is None


def test_measured_grouping_worse_than_random_is_not_offered():
    measured = {"k2": [["a", "b"], ["c"]], "k3": [["a"], ["b"], ["c"]]}
    offered, withheld = offered_groupings(SUMMARY, measured)
    assert offered == {"k3": [["a"], ["b"], ["c"]]}
    assert list(withheld) == ["k2"] and "significantly worse than random" in withheld["k2"]
    assert "-0.037 [-0.056, -0.015]" in withheld["k2"]


def test_the_plans_own_groups_are_judged_whole():
    names = [f"t{i}" for i in range(1, 9)]
    groups = [["t6", "t7", "t1"], ["t2", "t3"], ["t4"], ["t5", "t8"]]
    chosen, why = choose_tasks(names, None, groups)
    assert chosen == ["t6", "t7", "t1", "t2", "t3", "t4"]  # whole groups, at most 6 tasks
    assert "t6+t7+t1 | t2+t3 | t4" in why and "not judged: t5+t8" in why
    chosen, why = choose_tasks(names, None, None)
    assert chosen == names[:5] and "first five config tasks" in why
    chosen, why = choose_tasks(names[:3], None, None)  # fewer than five: not called "the first five"
    assert chosen == names[:3] and why.startswith("all 3 config tasks")
    chosen, why = choose_tasks(names, None, [names])  # one group larger than the cap: its first 6, said so
    assert chosen == names[:6] and "only the first 6 tasks" in why
    assert choose_tasks(names, ["t8", "t2"], groups) == (["t8", "t2"], "the tasks of validate.decisions.tasks")
    with pytest.raises(ConfigError, match="validate.decisions.tasks"):
        choose_tasks(names, ["t1", "nine"], groups)


def test_scatter_titles_give_the_statistics_of_what_is_plotted(tmp_path, monkeypatch):
    from transfergraph.planner.report import validation_figures as vf

    rng = np.random.default_rng(0)
    rows = []
    for t in range(4):  # within each target the normalized score ranks sources perfectly; targets are offset
        for s in range(5):
            rows.append({"source": f"s{s}", "target": f"t{t}", "metric": "leep", "method": "fine_tune",
                         "score": s / 10 + t, "accuracy": 0.5 + s / 20 - t / 10 + rng.normal(0, 1e-3)})
    data = pd.DataFrame(rows)
    st = vf.plotted_statistics(data)
    assert st["per_target_tau"] == pytest.approx(1.0) and st["n_targets"] == 4
    assert st["pooled_tau"] < 0  # pooled across targets the offsets reverse the trend
    titles = []
    monkeypatch.setattr(vf, "save_png", lambda fig, path: titles.extend(ax.get_title() for ax in fig.axes) or path)
    bogus = pd.DataFrame([{"metric": "leep", "method": "fine_tune", "pearson": 0.01, "kendall_tau": 0.01}])
    vf.plot_scatter(data, "fine_tune", tmp_path / "s.png", corr=bogus, x_label="normalized score")
    assert titles[0].startswith("leep: per-target τ=1.00 (4 targets)")
    assert f"r={st['pooled_r']:.2f}" in titles[0] and "0.01" not in titles[0]


def test_validate_decisions_keeps_measured_groups_evidence(tmp_path, monkeypatch):
    """After `transfergraph group`, the plan's groups are measured: validate --decisions puts the proxy
    method's verdict beside that evidence instead of replacing it."""
    import json

    import transfergraph.jobs.decisions as job

    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    plan = {"groups": [["a", "b"], ["c"]], "evidence": {"groups": {"level": "measured", "note": "from cotrain.csv"},
                                                        "curriculum": {"level": "proxy only"}}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    job._update_plan(path, SUMMARY, "periphery_core", {}, tasks=["a", "b", "c"], seeds=5, n_curr=3, res=None)
    got = json.loads(path.read_text())["evidence"]["groups"]
    assert got["level"] == "measured" and got["note"] == "from cotrain.csv"
    assert got["proxy_method"]["level"] == "measured on this data: inconclusive"
    assert got["proxy_method"]["note"].startswith("the proxy grouping method (not this plan's measured groups)")


def test_grouping_arm_names_the_plans_own_variant():
    """validate --decisions judges the plan's own (affinity, centred) variant: its arm name in the tables."""
    from transfergraph.planner.validation.decision_run import GROUPING_VARIANTS, grouping_arm

    assert {grouping_arm(*v) for v in GROUPING_VARIANTS.values()} == set(GROUPING_VARIANTS)
    assert grouping_arm("transfer", True) == "planner" and grouping_arm("mutual", True) == "planner_mutual"
    assert grouping_arm("mutual", False) == "planner_mutual_uncentered"
