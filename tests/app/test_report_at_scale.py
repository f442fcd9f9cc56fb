"""The report at zoo size: 100 targets x 120 sources stay readable (thinned labels, bounded figures, topk.csv)."""
import json

import pandas as pd
import pytest

from transfergraph.planner import build_graph
from transfergraph.planner.decisions import build_plan
from transfergraph.planner.report.scores_figure import MAX_LABELS, score_matrix, thinned_ticks
from transfergraph.planner.report.topk_table import TOPK_COLUMNS


@pytest.fixture(scope="module")
def big(synthetic_scores, tmp_path_factory):
    from transfergraph.planner.report import write_report

    scores = synthetic_scores(100, n_models=20, seed=1)
    graph = build_graph(scores, metric="leep")
    plan = build_plan(graph, top_k=3, time_limit=2.0).to_json()  # the source-set MILP may stop there: its gap is stated
    out = tmp_path_factory.mktemp("big")
    (out / "plan.json").write_text(json.dumps(plan))
    import networkx as nx

    nx.write_graphml(graph, out / "graph.graphml")
    scores.to_csv(out / "scores.csv", index=False)
    write_report(out, graph=graph, plan=plan, scores=scores, summary={"name": "big", "n_tasks": 100,
                                                                       "n_sources": 120}, seconds=0.0)
    return scores, plan, out


def test_tick_labels_are_thinned_beyond_the_cap():
    labels = [f"t{i:03d}" for i in range(120)]
    pos, text = thinned_ticks(labels)
    assert len(pos) <= MAX_LABELS and pos[0] == 0 and text == [labels[i] for i in pos]
    assert pos[1] - pos[0] == 3  # ceil(120 / 50)
    assert thinned_ticks(labels[:30]) == (list(range(30)), labels[:30])  # small: every label


def test_figures_of_100_targets_stay_a_readable_size(big):
    from matplotlib.image import imread

    scores, plan, out = big
    mat = score_matrix(scores, "leep")
    assert mat.shape == (120, 100)
    for name in ("heatmap.png", "graph.png"):
        h, w = imread(out / name).shape[:2]
        assert max(h, w) <= 25 * 110, (name, h, w)  # at most ~25 inches at the report's DPI
    run = json.loads((out / "run.json").read_text())
    assert {"heatmap", "graph"} <= set(run["figures"])


def test_topk_table_holds_every_recommendation(big):
    _, plan, out = big
    topk = pd.read_csv(out / "topk.csv")
    assert list(topk.columns) == TOPK_COLUMNS
    assert len(topk) == sum(max(1, len(v)) for v in plan["sources"].values()) == 300
    first = topk[topk["rank"] == 1].set_index("target")["source"].to_dict()
    assert first == {t: top[0][0] for t, top in plan["sources"].items()}
    kept = topk[topk["kept_for_target"]]
    assert len(kept) and all(plan["source_set"]["assignment"][t] == s for t, s in zip(kept["target"], kept["source"]))
    report = (out / "report.md").read_text()
    assert "topk.csv" in report


def test_decisions_at_100_tasks_state_their_optimality(big):
    _, plan, _ = big
    for name in ("source_set", "groups", "curriculum"):
        obj = plan["objectives"][name]
        assert obj["status"] in ("optimal", "time_limit", "heuristic")
        assert obj["status"] == "optimal" or obj["gap"] is not None or obj["bound"] is not None, name


def test_report_lists_at_most_30_warnings_and_counts_the_rest(big):
    from transfergraph.planner.report.explain import MAX_ROWS, explain_plan

    _, plan, _ = big
    text = explain_plan({**plan, "warnings": [f"warning number {i}" for i in range(MAX_ROWS + 12)]})
    assert f"warning number {MAX_ROWS - 1}" in text and f"warning number {MAX_ROWS}\n" not in text
    assert "... and 12 more warnings (see plan.json `warnings`)." in text
