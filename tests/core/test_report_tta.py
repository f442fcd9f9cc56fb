"""The report's TTA section: the bound's terms for each target's recommended source."""
from __future__ import annotations

import pandas as pd

from transfergraph.planner.report.tta_terms import tta_section


def _scores():
    base = {"tta_source_loss": 0.2, "tta_label_entropy": 0.1, "tta_lipschitz": 2.0, "tta_wasserstein": 0.05,
            "tta_certified": 0.4}
    rows = [
        {"source": "A.cnn", "source_task": "A", "target": "B", "metric": "tta", "score": -0.4, "status": "ok", **base},
        {"source": "ext", "source_task": "", "target": "B", "metric": "tta", "score": -0.9, "status": "ok", **base},
        {"source": "ext", "source_task": "", "target": "A", "metric": "tta", "score": float("nan"),
         "status": "failed", **{k: float("nan") for k in base}},
        {"source": "A.cnn", "source_task": "A", "target": "B", "metric": "leep", "score": -0.1, "status": "ok",
         **{k: float("nan") for k in base}},
    ]
    return pd.DataFrame(rows)


def test_section_lists_the_recommended_edge_terms():
    plan = {"sources": {"B": [["A", 0.9], ["ext", 0.1]], "A": [["ext", 0.5]]}}
    lines = tta_section(_scores(), plan)
    text = "\n".join(lines)
    assert "## TTA bound of the recommended sources" in text
    assert "| B | A.cnn | 0.400 | 0.200 | 0.100 | 2.000 | 0.050 | 0.400 |" in text
    assert "| A |" not in text  # its recommended source's tta pair failed: no row


def test_section_is_empty_without_tta_or_with_source_models():
    assert tta_section(_scores()[lambda d: d.metric == "leep"].drop(columns=["tta_certified"]), {"sources": {}}) == []
    assert tta_section(None, {"sources": {"B": [["A", 0.9]]}}) == []
    plan = {"sources": {"B": [["A", 0.9]]}, "source_models": {"B": {"A": "A.cnn"}}}
    assert any(line.startswith("| B | A.cnn |") for line in tta_section(_scores(), plan))
