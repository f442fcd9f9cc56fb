"""The warnings a re-plan writes about kept measurements are answered, not left stale: the next `group` drops
"kept at another budget", the next `validate --decisions` drops "method not judged"; and the caveat of
`validate --decisions` (networks at chance) stays with the measurements a re-plan keeps."""
import json
from pathlib import Path

import pandas as pd

from transfergraph.jobs.measured_files import REPLAN_WARNINGS, Measured
from transfergraph.jobs.replan_measured import carry_measured

CHANCE = ("decisions: trained for real on this data, the single-task networks of ['a'] are at chance (a loss 1.0950 "
          "vs ln C 1.0986, accuracy 0.330 vs 1/C 0.333): every grouping and order measured with these tasks is noise")


def test_a_replan_keeps_the_at_chance_caveat_with_the_measured_partition(tmp_path):
    old = {"measured_partition": {"k2": {"groups": [["a"], ["b"]], "seeds": 3}}, "warnings": [CHANCE, "other"],
           "settings": {}, "evidence": {}}
    new = tmp_path / "plan.json"
    new.write_text(json.dumps({"groups": [["a", "b"]], "warnings": [], "settings": {}, "evidence": {}}))
    carry_measured(new, Measured(Path(tmp_path), old))
    plan = json.loads(new.read_text())
    assert plan["measured_partition"] == old["measured_partition"] and plan["warnings"] == [CHANCE]


def test_the_next_validate_decisions_answers_the_method_not_judged_warning(tmp_path, monkeypatch):
    import transfergraph.jobs.decisions as job
    from transfergraph.planner.validation.decision_outputs import SUMMARY_COLUMNS

    monkeypatch.setattr(job, "rank_plan", lambda *a, **k: {})
    monkeypatch.setattr(job, "measured_orders", lambda res: {})
    stale = f"{REPLAN_WARNINGS['groups']} with grouping_affinity 'transfer' on this data; this re-plan uses 'mutual'"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"groups": [["a", "b"]], "evidence": {}, "warnings": [stale, "leakage: kept"]}))
    job._update_plan(path, pd.DataFrame(columns=SUMMARY_COLUMNS), "tree", {}, tasks=["a", "b"], seeds=3, n_curr=2,
                     res=None)
    assert json.loads(path.read_text())["warnings"] == ["leakage: kept"]


def test_the_next_group_answers_the_kept_at_another_budget_warning(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_group_trust import TASKS, TRAINED, _gains, _update

    stale = f"{REPLAN_WARNINGS['budget']} (at most 2 groups); this re-plan's 3 groups apply to proxy_groups only"
    (tmp_path / "plan.json").write_text(json.dumps({"groups": [TASKS], "warnings": [stale, "leakage: kept"],
                                                    "evidence": {}}))
    plan, _ = _update(tmp_path, _gains(0.005, 3, **TRAINED))
    assert stale not in plan["warnings"] and "leakage: kept" in plan["warnings"]


def test_the_not_recorded_warning_holds_through_later_re_plans_while_the_method_stays(tmp_path):
    """validated with 'transfer', re-planned with 'mutual' (warned), re-planned again with 'mutual' and another
    curriculum objective: the groups warning stays (nothing answered it), and it never says 'did not judge'."""
    validated = {"level": "validated on this data: beats random", "note": "n"}
    old = {"settings": {"grouping_affinity": "transfer", "centered": True}, "evidence": {"groups": validated},
           "warnings": []}
    new = tmp_path / "plan.json"

    def replan(previous, settings):
        new.write_text(json.dumps({"groups": [["a", "b"]], "warnings": [], "settings": settings, "evidence": {}}))
        carry_measured(new, Measured(Path(tmp_path), previous))
        return json.loads(new.read_text())

    first = replan(old, {"grouping_affinity": "mutual", "centered": True})
    said = [w for w in first["warnings"] if w.startswith(REPLAN_WARNINGS["groups"])]
    assert len(said) == 1 and "'transfer'" in said[0] and "'mutual'" in said[0] and "did not judge" not in said[0]
    assert "groups" not in first["evidence"]  # the evidence of 'transfer' is not this plan's
    second = replan(first, {"grouping_affinity": "mutual", "centered": True, "curriculum_objective": "tree"})
    assert [w for w in second["warnings"] if w.startswith(REPLAN_WARNINGS["groups"])] == said
    third = replan(second, {"grouping_affinity": "symmetric", "centered": True})
    assert not [w for w in third["warnings"] if w.startswith(REPLAN_WARNINGS["groups"])]
