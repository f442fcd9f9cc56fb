"""What `validate --decisions` and the report say about few seeds and about the plan's own decisions: one seed
has no CI (not a zero-width interval), no noise ceiling and no verdict, nothing reads "nan", advice from one
seed is provisional with the key that sets the seeds; the evidence is one consistent statement; the curriculum
tasks judged are the first of the plan's curriculum; the measured order that *is* the plan's says so."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd

from transfergraph.planner.validation.decision_outputs import (SUMMARY_COLUMNS, _pairs_line, decision_section,
                                                               summarize)
from transfergraph.planner.validation.decision_verdicts import (ci_text, offered_groupings, provisional_note,
                                                                separate_line)

ONE_SEED = "validate.decisions.seeds >= 3"


def _rows(n_seeds: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, corr = [], []
    for seed in range(n_seeds):
        for arm, gain in (("planner", -0.012), ("all_separate", 0.022), ("hoa", -0.03)):
            for truth in ("seed", "mean"):
                pct = float("nan") if arm == "all_separate" else 50.0  # all_separate is off budget at k < n
                rows.append({"decision": "grouping_k2", "arm": arm, "seed": seed, "truth": truth, "percentile": pct,
                             "regret": 1.2, "gain_over_random": gain + 0.001 * seed})
        for arm in ("planner", "hoa"):
            corr.append({"decision": "grouping_k2", "arm": arm, "seed": seed, "truth": "seed", "spearman": 0.1 + 0.01 * seed})
    return pd.DataFrame(rows), pd.DataFrame(corr)


def _summary(n_seeds: int, ceiling: float = float("nan")) -> pd.DataFrame:
    return summarize(*_rows(n_seeds), {"grouping_k2": ceiling})


def test_one_seed_has_no_ci_no_noise_ceiling_and_no_verdict():
    s = _summary(1).set_index("arm")
    assert s.loc["planner", ["gain_low", "gain_high", "spearman_low", "spearman_high"]].isna().all()
    verdict = s.loc["planner", "verdict"]
    assert verdict.startswith("inconclusive (1 seed: too few for a CI or a noise ceiling") and ONE_SEED in verdict
    assert "nan" not in verdict
    # a gain above 0 on its one seed never "beats random", whatever the percentile and Spearman
    rows, corr = _rows(1)
    rows = rows.assign(gain_over_random=0.05, percentile=100.0)
    won = summarize(rows, corr.assign(spearman=0.9), {"grouping_k2": 0.99}).set_index("arm")
    assert won.loc["planner", "verdict"].startswith("inconclusive")
    # two seeds have no CI either (a bootstrap of two values is their range); three do, and an undefined
    # ceiling says why instead of "nan < 0.5"
    two = _summary(2).set_index("arm")
    assert np.isnan(two.loc["planner", "gain_low"]) and two.loc["planner", "verdict"].startswith("inconclusive (2 seeds")
    three = _summary(3).set_index("arm")
    assert np.isfinite(three.loc["planner", "gain_low"]) and three.loc["planner", "gain_low"] < three.loc["planner", "gain_high"]
    assert three.loc["planner", "verdict"].startswith("inconclusive (noise ceiling undefined")


def test_the_one_seed_table_reads_n_a_with_the_reason_never_nan():
    section = decision_section(_summary(1), {})
    table = section.split("|---|")[-1]
    assert "nan" not in table.lower().replace("n/a", "")
    assert "-0.012 [n/a (1 seed)]" in section and "[-0.012, -0.012]" not in section
    assert "| all_separate | 1 | n/a (off budget) | n/a (off budget) |" in section
    assert "| n/a (1 seed) |" in section  # the noise ceiling
    assert "With 1 seed (fewer than 3), the numbers above have no CI" in section and ONE_SEED in section
    assert "With 1 seed" not in decision_section(_summary(3, 0.8), {})
    pairs = pd.DataFrame([{"affinity": "transfer", "seed": 0, "spearman": 0.57},
                          {"affinity": "pair_gain_reliability", "seed": -1, "spearman": float("nan")}])
    line = _pairs_line(pairs)
    assert "transfer +0.57 [n/a (1 seed)]" in line and "n/a (it needs 3 or more seeds)" in line and "nan" not in line


def test_advice_from_one_seed_is_provisional_and_one_seed_withholds_nothing():
    one = _summary(1)
    line = separate_line(one)
    assert "provisional" in line and ONE_SEED in line and "beat random" not in line
    assert "[n/a (1 seed)]" in line
    three = _summary(3, 0.8)
    line = separate_line(three)
    assert line.startswith("Training every task alone (all_separate) beat random") and "(provisional: 3 seeds < 5)" in line
    # HOA scored below random on its one seed: without a CI that is not "significantly worse"
    offered, withheld = offered_groupings(one, {"k2": [["a", "b"], ["c"]]})
    assert offered == {"k2": [["a", "b"], ["c"]]} and withheld == {}
    offered, withheld = offered_groupings(three, {"k2": [["a", "b"], ["c"]]})
    assert list(withheld) == ["k2"]
    assert ci_text(0.1, 0.2, 1) == "[n/a (1 seed)]" and ci_text(0.1, 0.2, 3) == "[+0.100, +0.200]"
    assert provisional_note(5) == "" and ONE_SEED in provisional_note(1)


def test_the_curriculum_tasks_are_the_first_of_the_plans_curriculum(tmp_path):
    from transfergraph.config import DecisionsConfig
    from transfergraph.jobs.decisions import _select, curriculum_first

    chosen = ["everything", "misc", "shoes", "shoes_rot", "tops"]
    plan_order = ["tops", "shoes_rot", "misc", "shoes", "everything"]
    order, why = curriculum_first(chosen, plan_order, 3)
    assert order[:3] == ["tops", "shoes_rot", "misc"] and sorted(order) == sorted(chosen)
    assert "first 3 of the plan's curriculum" in why and "tops > shoes_rot > misc" in why
    # plan tasks that are not judged are skipped; without a plan curriculum the judged order stays
    assert curriculum_first(["a", "b", "c"], ["z", "c", "a", "b"], 2)[0] == ["c", "a", "b"]
    same, why = curriculum_first(chosen, None, 3)
    assert same == chosen and "no plan curriculum" in why
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"groups": [["everything", "misc"], ["shoes", "shoes_rot", "tops"]],
                                "curriculum": plan_order}))
    tasks = [SimpleNamespace(name=n) for n in ["tops", "shoes", "misc", "everything", "shoes_rot"]]
    picked, why, curr = _select(None, tasks, DecisionsConfig(n_curriculum=3), plan)
    assert [t.name for t in picked] == ["tops", "shoes_rot", "misc", "everything", "shoes"]
    assert "the plan's own groups" in why and "tops > shoes_rot > misc" in curr


def test_the_evidence_note_is_one_consistent_statement(tmp_path, monkeypatch):
    import transfergraph.jobs.decisions as job

    summary = pd.concat([_summary(1),
                         _summary(1).query("arm == 'planner'").assign(decision="curriculum_naive_acc",
                                                                      arm="planner_dissimilar_chain")])
    mine = {"groups": {"groups": [["a", "b"], ["c"]], "k": 2, "test_acc": 0.5, "percentile": 57.0,
                       "gain_over_random": 0.001},
            "curriculum": {"naive": {"order": ["c", "a", "b"], "acc": 0.3, "percentile": 40.0, "gain_over_random": -0.005}}}
    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: mine)
    monkeypatch.setattr(job, "measured_orders", lambda res: {})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"groups": [["a", "b"], ["c"]], "curriculum": ["c", "a", "b"], "evidence": {}}))
    job._update_plan(path, summary, "dissimilar_chain", {}, tasks=["c", "a", "b"], seeds=1, n_curr=3, res=None,
                     why="the plan's own groups a+b | c", curriculum_why="the first 3 of the plan's curriculum")
    evidence = json.loads(path.read_text())["evidence"]
    groups, curriculum = evidence["groups"]["note"], evidence["curriculum"]["note"]
    for note in (groups, curriculum):
        assert "not trained as such" not in note and "1 seeds" not in note and "nan" not in note
        assert "was re-run on each seed's graph" in note and "(1 seed)" in note and "[n/a (1 seed)]" in note
    assert "This plan's own groups, restricted to the judged tasks (a+b | c), were among the alternatives trained: " \
           "percentile 57" in groups
    assert "This plan's own order, restricted to the judged tasks (c > a > b), was among the alternatives" in curriculum
    assert "curriculum tasks: the first 3 of the plan's curriculum" in curriculum


def _groups_plan(groups, method="ils (proven optimal by dp)"):
    return {"groups": groups,
            "objectives": {"groups": {"value": 0.1, "group_values": [0.1] * len(groups), "n_groups": 2,
                                      "centering": "w - median", "objective": "o", "status": "optimal",
                                      "method": method, "seconds": 0.0, "optimal": True, "bound": 0.1, "gap": 0.0}}}


def test_the_groups_heading_and_proof_read_naturally():
    from transfergraph.planner.report.explain import _groups_section, _proof

    text = "\n".join(_groups_section(_groups_plan([["a", "b"], ["c", "d", "e"]])))
    assert "### Which tasks to train together (2 groups of 2 and 3 tasks; group budget 2)" in text
    assert "group(s)" not in text and "task(s)" not in text
    assert "(proven optimal (ils, proved by dp, 0.00 s))" in text and "proven optimal by" not in text
    text = "\n".join(_groups_section(_groups_plan([["a", "b"], ["c", "d"]])))
    assert "(2 groups of 2 tasks each; group budget 2)" in text
    assert "(1 group of 3 tasks;" in "\n".join(_groups_section(_groups_plan([["a", "b", "c"]])))
    assert _proof({"status": "optimal", "method": "held-karp", "seconds": 0.0}) == "proven optimal (held-karp, 0.00 s)"
    stopped = _proof({"status": "time_limit", "method": "ils (milp stopped at time limit)", "gap": 0.01, "bound": 1.0})
    assert stopped.startswith("exact solver milp stopped at its time limit (ils), not proven optimal")


def test_the_report_shows_how_the_plans_own_groups_scored_and_marks_one_seed_provisional():
    from transfergraph.planner.report.explain import _evidence_text, _groups_section

    plan = _groups_plan([["a", "b"], ["c"]])
    plan["evidence"] = {"groups": {"level": "measured", "note": "from cotrain.csv", "proxy_method": {
        "level": "measured on this data: inconclusive", "note": "the proxy grouping method ...",
        "this_plan": {"groups": [["a", "b"], ["c"]], "k": 2, "test_acc": 0.5, "percentile": 57.0,
                      "gain_over_random": 0.001}}}}
    plan["measured_partition"] = {"k2": {"groups": [["a"], ["b", "c"]], "seeds": 1, "val_acc": 0.9, "test_acc": 0.8,
                                         "percentile": 93.0, "gain_over_random": 0.014, "separate_gain": 0.0}}
    text = "\n".join(_groups_section(plan))
    assert "restricted to the 3 judged tasks (**a** + **b** | **c**), were trained among every partition" in text
    assert "percentile 57" in text
    measured = next(line for line in text.splitlines() if line.startswith("Measured on this data"))
    assert measured.startswith("Measured on this data (1 seed,") and "prefer it to the groups above" in measured
    assert measured.endswith(f"(provisional: 1 seed, too few for a CI; rerun with {ONE_SEED}).")
    assert "\n\n\n" not in text
    # a stale entry (the plan was re-planned since) is not shown as this plan's
    plan["groups"] = [["a"], ["b", "c"]]
    assert "percentile 57" not in "\n".join(_groups_section(plan))
    shown = _evidence_text(plan["evidence"]["groups"])
    assert shown.startswith("measured — from cotrain.csv\n  - **proxy grouping method**")


def _curriculum_plan(measured_order, gain):
    return {"curriculum": ["a", "b", "c", "d"], "settings": {"curriculum_objective": "dissimilar_chain"},
            "objectives": {"curriculum": {"value": -0.4, "objective": "dissimilar_chain: x", "status": "optimal",
                                          "method": "held-karp", "seconds": 0.0,
                                          "parents": {"a": [None, None], "b": ["a", 0.1], "c": ["b", 0.3], "d": ["c", 0.1]}}},
            "measured_curriculum": {"naive": {"order": measured_order, "seeds": 1, "val_acc": 0.9, "test_acc": 0.3,
                                              "percentile": 40.0, "gain_over_random": gain}},
            "evidence": {"curriculum": {"level": "measured on this data: inconclusive", "note": "n",
                                        "this_plan": {"order": ["a", "b", "d"], "acc": 0.3, "percentile": 40.0,
                                                      "gain_over_random": gain}}}}


def test_a_measured_order_that_is_the_plans_own_says_so():
    from transfergraph.planner.report.explain import _curriculum_section

    text = "\n".join(_curriculum_section(_curriculum_plan(["a", "b", "d"], -0.005)))
    assert "this plan's own order of these tasks" in text and "no better a choice than the proxy order" not in text
    assert "The order above, restricted to" not in text  # said once
    assert f"(provisional: 1 seed, too few for a CI; rerun with {ONE_SEED})" in text
    text = "\n".join(_curriculum_section(_curriculum_plan(["d", "a", "b"], 0.02)))
    assert "prefer it to the proxy order" in text and "this plan's own order of these tasks" not in text
    assert "The order above, restricted to the 3 judged tasks (**a** > **b** > **d**), was trained" in text


def test_next_steps_say_one_seed_is_provisional():
    from transfergraph.planner.report.next_steps import next_steps_lines

    plan = _curriculum_plan(["a", "b", "d"], 0.01)
    plan["sources"] = {"a": [["s", 0.5]]}
    plan["evidence"]["groups"] = {"level": "measured on this data: inconclusive"}
    third = next_steps_lines(plan)[4]
    assert "measured on 1 seed, so provisional" in third and ONE_SEED in third
    plan["measured_curriculum"]["naive"]["seeds"] = 3
    assert "provisional" not in next_steps_lines(plan)[4]


def test_the_failing_method_warning_is_provisional_under_five_seeds(tmp_path, monkeypatch):
    import transfergraph.jobs.decisions as job

    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    monkeypatch.setattr(job, "measured_orders", lambda res: {"naive": {"order": ["b", "a"], "seeds": 2, "val_acc": 0.5,
                                                                       "test_acc": 0.5, "percentile": 100.0,
                                                                       "gain_over_random": 0.04}})
    rows = pd.DataFrame([{c: 0.0 for c in SUMMARY_COLUMNS} | {
        "decision": "curriculum_naive_acc", "arm": "planner_chain", "n_seeds": 2, "gain_low": -0.01, "gain_high": 0.01,
        "verdict": "fails the minimum bar (percentile 50 < 75) (provisional: 2 seeds < 5)"}], columns=SUMMARY_COLUMNS)
    path = tmp_path / "plan.json"
    for seeds, caveat in ((2, "(provisional: 2 seeds, too few for a CI; rerun with validate.decisions.seeds >= 3)."),
                          (4, "(provisional: 4 seeds < 5)."), (5, "random-order mean).")):
        path.write_text(json.dumps({"curriculum": ["a", "b"], "evidence": {}, "warnings": []}))
        job._update_plan(path, rows, "chain", {}, tasks=["a", "b"], seeds=seeds, n_curr=2, res=None)
        warning = next(w for w in json.loads(path.read_text())["warnings"] if w.startswith("curriculum:"))
        assert warning.endswith(caveat) and "prefer plan.json's measured_curriculum" in warning


def test_two_seeds_give_no_ci_either():
    """A bootstrap of two seeds' values is their range, not a 95 % CI: two seeds read like one (n/a, no verdict)."""
    from transfergraph.planner.validation.decision_verdicts import ci_text

    assert ci_text(0.005, 0.033, 2) == "[n/a (2 seeds)]"
    assert ci_text(0.005, 0.033, 3) == "[+0.005, +0.033]"
