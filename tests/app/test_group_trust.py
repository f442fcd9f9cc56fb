"""`transfergraph group` says how far its measured groups can be trusted, and keeps every statement of the plan
in agreement with its groups: networks at chance, one seed, "sharing hurts" only beyond noise, a subset run
that leaves the plan's groups alone, what the grouping is optimised on, and a groups figure of the measured groups."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import networkx as nx
import pandas as pd
import pytest

from transfergraph.jobs.group import Trust, _hurt_warning, _markdown, redraw_groups_figure, _update_plan
from transfergraph.planner.report.decision_figures import plot_groups
from transfergraph.planner.validation.cotrain import chance_tasks, hurt_resolved, measured_grouping

TASKS = ["a", "b", "c"]
CLASSES = {"a": 10, "b": 3, "c": 3}
DESIGN = SimpleNamespace(describe=lambda: "every pair measured: 3 single-task networks and 3 pair networks per seed",
                         kind="pairs", groups=[("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c")], seeds=[0])
BUDGET = SimpleNamespace(steps=10, batch=16)


def _gains(se: float, n_seeds: int, loss_alone: dict, acc_alone: dict) -> pd.DataFrame:
    """a and b help each other; every partner raises c's loss."""
    gain = {("a", "b"): 0.05, ("a", "c"): 0.01, ("b", "a"): 0.04, ("b", "c"): 0.0,
            ("c", "a"): -0.03, ("c", "b"): -0.02}
    rows = [{"task": t, "partner": u, "gain": g, "se": se, "n_seeds": n_seeds, "gain_relative": g,
             "test_loss_alone": loss_alone[t], "test_loss_with": loss_alone[t] - g, "test_acc_alone": acc_alone[t],
             "test_acc_with": acc_alone[t]} for (t, u), g in gain.items()]
    return pd.DataFrame(rows)


TRAINED = dict(loss_alone={"a": 1.2, "b": 0.5, "c": 0.6}, acc_alone={"a": 0.6, "b": 0.8, "c": 0.75})
AT_CHANCE = dict(loss_alone={"a": 2.3134, "b": 0.5, "c": 1.09}, acc_alone={"a": 0.168, "b": 0.8, "c": 0.47})


def test_chance_tasks_flags_a_loss_near_ln_c_or_an_accuracy_not_above_one_over_c():
    gains = _gains(0.01, 3, **AT_CHANCE)
    chance = chance_tasks(gains, CLASSES)
    assert sorted(chance) == ["a", "c"]  # 2.3134 >= 0.95 ln 10; 1.09 >= 0.95 ln 3 although c's accuracy is 0.47
    assert chance["a"]["chance_loss"] == pytest.approx(math.log(10)) and chance["c"]["chance_acc"] == pytest.approx(1 / 3)
    low_acc = dict(loss_alone={"a": 1.0, "b": 0.5, "c": 0.6}, acc_alone={"a": 0.1, "b": 0.8, "c": 0.75})
    assert sorted(chance_tasks(_gains(0.01, 3, **low_acc), CLASSES)) == ["a"]  # accuracy 1/C, loss well below ln C
    assert chance_tasks(_gains(0.01, 3, **TRAINED), CLASSES) == {}


def test_sharing_hurts_is_resolved_only_when_every_partner_is_below_zero_by_two_se():
    assert hurt_resolved("c", _gains(0.005, 3, **TRAINED))  # -0.02 + 0.01 < 0
    assert not hurt_resolved("c", _gains(0.012, 3, **TRAINED))  # -0.02 + 0.024 >= 0
    assert not hurt_resolved("c", _gains(float("nan"), 1, **TRAINED))  # one seed: no se


def test_the_hurt_warning_is_provisional_with_one_seed_or_a_network_at_chance():
    one_seed = _hurt_warning("c", _gains(float("nan"), 1, **TRAINED))
    assert one_seed.startswith("sharing may hurt task 'c' (provisional)") and "no standard error" in one_seed
    assert "--seeds" in one_seed and "train 'c' alone rather" not in one_seed
    gains = _gains(0.005, 3, **AT_CHANCE)
    at_chance = _hurt_warning("c", gains, chance=chance_tasks(gains, CLASSES)["c"])
    assert at_chance.startswith("sharing may hurt task 'c' (provisional)") and "at chance" in at_chance
    assert "--steps" in at_chance
    resolved = _hurt_warning("c", _gains(0.005, 3, **TRAINED))
    assert resolved.startswith("sharing hurts task 'c'") and "train 'c' alone" in resolved


def _measure(gains):
    groups, decision, alone = measured_grouping(TASKS, gains, n_groups=2)
    return groups, decision, alone, Trust.of(alone, gains, CLASSES)


def _update(out, gains, names=TASKS, subset=False):
    groups, decision, alone, trust = _measure(gains)
    _update_plan(out, names=names, groups=groups, decision=decision, alone=alone, gains=gains, design=DESIGN,
                 n_groups=2, budget=BUDGET, failed=[], trust=trust, subset=subset)
    return json.loads((out / "plan.json").read_text()), groups


def _agree(plan):
    """Every statement about the kept-alone tasks agrees with the groups."""
    singles = {g[0] for g in plan["groups"] if len(g) == 1}
    kept = set(plan["train_alone"]) | set(plan["train_alone_provisional"])
    assert kept <= singles
    ev = plan["evidence"]["groups"]
    assert ev["train_alone"] == plan["train_alone"] and ev["provisional_alone"] == plan["train_alone_provisional"]
    named = {w.split("'")[1] for w in plan["warnings"] if w.startswith(("sharing hurts task", "sharing may hurt task"))}
    assert named == kept
    assert sorted(t for g in plan["groups"] for t in g) == ev["tasks"]


def test_one_seed_at_chance_keeps_measured_with_caveats_and_no_firm_train_alone(tmp_path):
    plan, groups = _update(tmp_path, _gains(float("nan"), 1, **AT_CHANCE))
    assert ["c"] in groups
    assert plan["train_alone"] == [] and plan["train_alone_provisional"] == ["c"]
    ev = plan["evidence"]["groups"]
    assert ev["level"] == "measured" and ev["provisional"] and ev["at_chance"] == ["a", "c"]
    assert "Caveat: the single-task networks of ['a', 'c'] are at chance" in ev["note"]
    assert "Caveat: 1 seed" in ev["note"] and "optimised on the test loss" in ev["note"]
    assert "measured_partition" in ev["note"] and "validation accuracy" in ev["note"]
    chance = [w for w in plan["warnings"] if w.startswith("co-training networks at chance")]
    assert len(chance) == 1 and "['a', 'c']" in chance[0] and "--steps (this run: 10)" in chance[0]
    assert any(w.startswith("co-training gains measured with 1 seed") and "--seeds 3" in w for w in plan["warnings"])
    assert not any(w.startswith("sharing hurts task") for w in plan["warnings"])
    _agree(plan)


def test_resolved_hurt_is_a_firm_train_alone_without_caveats(tmp_path):
    plan, _ = _update(tmp_path, _gains(0.005, 3, **TRAINED))
    assert plan["train_alone"] == ["c"] and plan["train_alone_provisional"] == []
    assert not plan["evidence"]["groups"]["provisional"] and "Caveat" not in plan["evidence"]["groups"]["note"]
    _agree(plan)


def test_a_subset_run_leaves_the_plan_groups_and_their_statements_as_they_were(tmp_path):
    first, _ = _update(tmp_path, _gains(0.005, 3, **TRAINED))  # every task measured: c kept alone, firmly
    sub_gains = _gains(float("nan"), 1, **TRAINED)
    sub_gains = sub_gains[sub_gains.task.isin(["a", "c"]) & sub_gains.partner.isin(["a", "c"])]
    groups, decision, alone = measured_grouping(["a", "c"], sub_gains, n_groups=2)
    _update_plan(tmp_path, names=["a", "c"], groups=groups, decision=decision, alone=alone, gains=sub_gains,
                 design=DESIGN, n_groups=2, budget=BUDGET, failed=[], trust=Trust.of(alone, sub_gains, CLASSES),
                 subset=True)
    plan = json.loads((tmp_path / "plan.json").read_text())
    for key in ("groups", "train_alone", "train_alone_provisional", "warnings", "objectives"):
        assert plan[key] == first[key], key
    assert plan["evidence"]["groups"] == first["evidence"]["groups"]
    assert plan["cotrain_groups"] == groups and plan["evidence"]["cotrain_groups"]["tasks"] == ["a", "c"]
    assert "subset of the plan's tasks" in plan["evidence"]["cotrain_groups"]["note"]
    again, _ = _update(tmp_path, _gains(0.005, 3, **TRAINED))  # a full run drops the subset's grouping
    assert "cotrain_groups" not in again and "cotrain_groups" not in again["evidence"]


def test_cotrain_md_names_what_the_grouping_is_optimised_on_and_its_caveats():
    gains = _gains(float("nan"), 1, **AT_CHANCE)
    groups, _, alone, trust = _measure(gains)
    text = _markdown(TASKS, groups, alone, gains, DESIGN, 2, [], trust=trust)
    assert "The grouping is optimised on the test loss" in text and "`measured_groups`" in text
    assert "Sharing hurts" not in text and "not beyond noise" in text and "provisionally" in text
    assert "Caveat: the single-task networks of ['a', 'c'] are at chance" in text and "Caveat: 1 seed" in text
    firm = _gains(0.005, 3, **TRAINED)
    groups, _, alone, trust = _measure(firm)
    assert "Sharing hurts c: every measured partner raised the test loss beyond noise" in _markdown(
        TASKS, groups, alone, firm, DESIGN, 2, [], trust=trust)


def _graph(with_gains: bool) -> nx.DiGraph:
    g = nx.DiGraph()
    for u in TASKS:
        for t in TASKS:
            if u != t:
                g.add_edge(u, t, weight=0.5, **({"cotrain_gain": 0.01 * (ord(u) - ord(t))} if with_gains else {}))
    return g


def _plan(affinity: str) -> dict:
    return {"metric": "leep", "groups": [["a", "b"], ["c"]],
            "objectives": {"groups": {"value": 0.05, "optimal": True, "status": "optimal", "affinity": affinity}}}


def test_the_groups_figure_of_measured_groups_is_drawn_on_the_measured_gains(tmp_path):
    assert plot_groups(_graph(False), _plan("cotrain_gain"), tmp_path / "g.png") is None  # no gain measured: none
    assert plot_groups(_graph(True), _plan("cotrain_gain"), tmp_path / "g.png") is not None
    assert plot_groups(_graph(False), _plan("centered"), tmp_path / "p.png") is not None  # proxy: the weights


def test_group_redraws_the_groups_figure_and_records_it(tmp_path):
    nx.write_graphml(_graph(False), tmp_path / "graph.graphml")
    (tmp_path / "plan.json").write_text(json.dumps(_plan("centered")))
    plot_groups(_graph(False), _plan("centered"), tmp_path / "groups.png")  # the run's proxy figure
    (tmp_path / "run.json").write_text(json.dumps({"figures": {"groups": "groups.png"}, "skipped": {}, "seconds": 1.0}))
    proxy = (tmp_path / "groups.png").read_bytes()
    (tmp_path / "plan.json").write_text(json.dumps(_plan("cotrain_gain")))  # group rewrote the groups
    assert "removed" in redraw_groups_figure(tmp_path)  # no edge carries a gain yet: the stale figure goes
    run = json.loads((tmp_path / "run.json").read_text())
    assert not (tmp_path / "groups.png").exists() and "groups" in run["skipped"] and "groups" not in run["figures"]
    nx.write_graphml(_graph(True), tmp_path / "graph.graphml")
    assert "redrew" in redraw_groups_figure(tmp_path)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["figures"]["groups"] == "groups.png" and "groups" not in run["skipped"] and run["seconds"] == 1.0
    assert (tmp_path / "groups.png").read_bytes() != proxy


def test_the_measured_groups_figure_says_provisional(tmp_path, monkeypatch):
    import transfergraph.planner.report.decision_figures as figures

    titles = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: titles.append(fig.axes[0].get_title()) or str(path))
    plan = _plan("cotrain_gain")
    plot_groups(_graph(True), plan, tmp_path / "g.png")
    plot_groups(_graph(True), {**plan, "evidence": {"groups": {"level": "measured", "provisional": True}}},
                tmp_path / "g.png")
    assert "provisional" not in titles[0] and "provisional: gains not resolved beyond noise" in titles[1]
