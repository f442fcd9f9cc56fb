"""`transfergraph validate CONFIG --decisions` (tier T0 settings): CSVs, report section, plan evidence."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from transfergraph.cli import app

CONFIG = {
    "name": "t0", "seed": 0, "data": {"dataset": "digits", "image_size": 8},
    "tasks": [{"name": "a0to4", "classes": [0, 1, 2, 3, 4]}, {"name": "b5to9", "classes": [5, 6, 7, 8, 9]},
              {"name": "c_inv", "classes": [0, 1, 2, 3, 4], "shift": {"invert": True}}],
    "models": {"per_task": True, "training": {"epochs": 2, "width": 8, "feature_dim": 16}},
    "scoring": {"metrics": ["leep"], "executor": "local"},
    "validate": {"decisions": {"seeds": 2, "steps": 4, "curriculum_steps": 4, "batch": 8, "train_per_class": 10,
                               "groups": [2]}},
}
runner = CliRunner()


def test_validate_decisions_writes_spec_csvs_and_updates_the_plan(tmp_path):
    cfg = tmp_path / "t0.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text(json.dumps({"warnings": [], "evidence": {}}))
    (out / "report.md").write_text("# report\n")
    result = runner.invoke(app, ["validate", str(cfg), "--decisions", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    for name in ("grouping_validation.csv", "curriculum_validation.csv"):
        df = pd.read_csv(out / name)
        assert {"decision", "arm", "seed", "objective", "realized", "percentile", "regret"} <= set(df.columns)
        assert {"planner" if name.startswith("grouping") else "planner_tree", "random", "oracle"} <= set(df.arm)
        assert set(df.seed) == {0, 1}
    assert (out / "grouping_k2.png").stat().st_size > 0
    # a later `transfergraph run` into this folder moves every file written here aside (measured_files)
    from fnmatch import fnmatch

    from transfergraph.jobs.measured_files import MEASURED_FILES

    written = [f.name for f in out.iterdir() if f.is_file() and f.name not in ("plan.json", "report.md")]
    assert written and [n for n in written if not any(fnmatch(n, g) for g in MEASURED_FILES)] == []
    assert "## Validation: decisions" in (out / "decisions.md").read_text()
    plan = json.loads((out / "plan.json").read_text())
    # the method was measured on this data, not the plan's own groups: the evidence says which, and its
    # level carries the verdict (never "validated" unless every judged decision beat random)
    summary = pd.read_csv(out / "decision_summary.csv")
    verdict = summary[(summary.arm == "planner") & (summary.decision == "grouping_k2")].verdict.iloc[0]
    level = plan["evidence"]["groups"]["level"]
    assert level.endswith(verdict.split(" (")[0])
    assert level.startswith("validated on this data" if verdict == "beats random" else "measured on this data")
    note = plan["evidence"]["groups"]["note"]
    assert "grouping_k2" in note and "was re-run on each seed's graph" in note and "'a0to4'" in note
    assert "Tasks judged: all 3 config tasks" in note  # no groups in this plan.json
    assert "why these: all 3 config tasks" in (out / "decisions.md").read_text()
    # every curriculum objective is judged, the forgetting ones included
    assert {"planner_periphery_core", "planner_max_dissimilar_path", "planner_final_serves_all",
            "planner_dissimilar_chain"} <= set(summary.arm)
    # the grouping from the measured pairs is what the user gets when the proxy fails, unless it lost to random
    hoa = summary[(summary.arm == "hoa") & (summary.decision == "grouping_k2")]
    withheld = len(hoa) and hoa.gain_high.iloc[0] < 0
    groups = plan.get("measured_groups_withheld" if withheld else "measured_groups", {}).get("k2")
    assert groups is not None
    if not withheld:
        assert sorted(t for g in groups for t in g) == ["a0to4", "b5to9", "c_inv"] and len(groups) <= 2
    assert "measured pairs (HOA)" in (out / "decisions.md").read_text()
    # the measured partition is the val-chosen partition of the trained table (truth "mean"; never chosen on test)
    grp = pd.read_csv(out / "grouping_validation.csv")
    oracle = grp[(grp.arm == "oracle") & (grp.truth == "mean") & (grp.decision == "grouping_k2")]
    m = plan["measured_partition"]["k2"]
    assert " | ".join("+".join(g) for g in m["groups"]) == oracle.groups.iloc[0]
    assert m["test_acc"] == pytest.approx(oracle.realized.iloc[0]) and 0 <= m["percentile"] <= 100
    assert "plan.json `measured_partition`" in (out / "decisions.md").read_text()
    # the measured curriculum is the val-chosen order of the trained table (never chosen on test)
    from transfergraph.planner.validation.continual import SEP

    curr = pd.read_csv(out / "curriculum_validation.csv")
    for learner, m in plan["measured_curriculum"].items():
        oracle = curr[(curr.arm == "oracle") & (curr.truth == "mean") & (curr.measure == "acc") & (curr.learner == learner)]
        assert SEP.join(m["order"]) == oracle.order.iloc[0] and m["test_acc"] == pytest.approx(oracle.realized.iloc[0])
        assert 0 <= m["percentile"] <= 100 and len(set(m["order"])) == len(m["order"]) >= 2


def test_validate_decisions_rejects_unknown_tasks(tmp_path):
    bad = dict(CONFIG, validate={"decisions": {"tasks": ["a0to4", "nope"]}})
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(bad))
    result = runner.invoke(app, ["validate", str(cfg), "--decisions", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "validate.decisions.tasks" in result.output and "nope" in result.output


def test_report_keeps_the_decisions_section_when_validate_runs_after(tmp_path):
    cfg = tmp_path / "t0.yaml"
    cfg.write_text(yaml.safe_dump(dict(CONFIG, validate={**CONFIG["validate"], "methods": ["retrain_head"],
                                                          "n_pairs": 3})))
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(cfg), "--out", str(out), "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["validate", str(cfg), "--decisions", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert report.count("## Validation: decisions") == 1 and "on this data" in report
    # the plan's own groups were the tasks judged
    assert "why these: the plan's own groups" in (out / "decisions.md").read_text()
    # the plan's own groups and order were among the trained alternatives: where they rank is stated
    plan = json.loads((out / "plan.json").read_text())
    mine = plan["evidence"]["groups"]["this_plan"]
    assert sorted(t for g in mine["groups"] for t in g) == ["a0to4", "b5to9", "c_inv"]
    assert 0 <= mine["percentile"] <= 100 and "This plan's own groups" in plan["evidence"]["groups"]["note"]
    assert plan["evidence"]["curriculum"]["this_plan"]["order"] == plan["curriculum"]
    result = runner.invoke(app, ["validate", str(cfg), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert report.count("## Validation: decisions") == 1  # re-rendered from decisions.md, not lost
    assert (out / "validation.md").read_text().strip().splitlines()[0] in report
