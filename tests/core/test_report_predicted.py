"""The report's paragraph on a pairs_fraction run counts scored, predicted and own-task pairs correctly."""
from __future__ import annotations

import pandas as pd

from transfergraph.planner.report.predicted import predicted_lines


def _table(rows):
    out = []
    for source, source_task, target, status in rows:
        for metric in ("leep", "nce"):
            out.append({"source": source, "source_task": source_task, "target": target, "metric": metric,
                        "status": status})
    return pd.DataFrame(out)


def test_a_full_run_has_no_paragraph():
    assert predicted_lines(_table([("a.cnn", "a", "b", "ok")])) == []


def test_counts_name_the_candidate_share_and_the_predicted_own_task_pairs():
    table = _table([("a.cnn", "a", "a", "predicted"), ("a.cnn", "a", "b", "ok"), ("b.cnn", "b", "b", "predicted"),
                    ("b.cnn", "b", "a", "predicted"), ("ext", "", "a", "ok"), ("ext", "", "b", "predicted")])
    text = predicted_lines(table)[0]
    assert "**Scored 2 of 6 (source, target) pairs (33.3 %)**" in text
    assert "2 of the 4 pairs that can be graph edges (50.0 %)" in text
    assert "the 2 pair(s) of a source on its own task" in text and "the other 4 were predicted" in text


def test_scored_own_task_pairs_add_no_own_task_sentence():
    table = _table([("a.cnn", "a", "a", "ok"), ("a.cnn", "a", "b", "predicted"), ("ext", "", "b", "ok")])
    text = predicted_lines(table)[0]
    assert "**Scored 2 of 3 (source, target) pairs (66.7 %)**" in text and "own task" not in text
