"""``run.json`` records the ``pairs_fraction`` asked for and how many candidate pairs were scored."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from transfergraph.jobs.run import pairs_record

ROOT = Path(__file__).resolve().parents[2]


def _rows(pairs):
    return pd.DataFrame([{"source": s, "source_task": st, "target": t, "metric": m, "status": status}
                         for s, st, t, status in pairs for m in ("leep", "nce")])


def test_a_full_run_records_null_and_every_candidate_scored():
    table = _rows([("a", "a", "a", "ok"), ("a", "a", "b", "ok"), ("b", "b", "a", "failed"), ("b", "b", "b", "ok"),
                   ("ext", "", "a", "ok"), ("ext", "", "b", "ok")])
    assert pairs_record(table) == {"pairs_fraction": None, "pairs": {"candidates": 4, "scored": 4, "predicted": 0}}


def test_a_fraction_run_counts_predicted_pairs_and_reads_the_fraction_from_attrs():
    table = _rows([("a", "a", "a", "predicted"), ("a", "a", "b", "ok"), ("b", "b", "a", "predicted"),
                   ("b", "b", "b", "ok"), ("ext", "", "a", "ok"), ("ext", "", "b", "predicted")])
    table.attrs["pairs_fraction"] = {"fraction": 0.5, "candidates": 4}
    assert pairs_record(table) == {"pairs_fraction": 0.5, "pairs": {"candidates": 4, "scored": 2, "predicted": 3}}


def test_cli_run_json_records_the_pairs_fraction(tmp_path):
    from transfergraph.cli import app

    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(ROOT / "configs/tiny.yaml"), "--out", str(out), "--executor",
                                      "local", "--quiet", "--pairs-fraction", "0.5"])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "run.json").read_text())
    scores = pd.read_csv(out / "scores.csv")
    pairs = scores.drop_duplicates(["source", "target"]).set_index(["source", "target"])
    predicted = scores.groupby(["source", "target"])["status"].agg(lambda s: (s == "predicted").all())
    candidate = pairs["source_task"].astype(str) != pairs.index.get_level_values("target").astype(str)
    scored = candidate & ~predicted.reindex(pairs.index)
    assert info["pairs_fraction"] == 0.5
    assert info["pairs"] == {"candidates": int(candidate.sum()), "scored": int(scored.sum()),
                             "predicted": int(predicted.sum())}
    assert info["pairs"]["predicted"] > 0 and 0 < info["pairs"]["scored"] <= info["pairs"]["candidates"]
    assert "summary" in info and "figures" in info  # the record is added to, not replacing, the run facts
