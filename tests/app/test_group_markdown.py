"""cotrain.md says why `transfergraph group` wrote more groups than --groups allows."""
from types import SimpleNamespace

import pandas as pd

from transfergraph.jobs.group import _markdown

DESIGN = SimpleNamespace(describe=lambda: "every pair measured")
GAINS = pd.DataFrame({"task": ["a"], "partner": ["b"], "gain": [-0.1], "se": [0.01], "test_loss_alone": [0.1],
                      "test_loss_with": [0.2]})


def test_groups_beyond_the_budget_are_explained():
    text = _markdown(["a", "b", "c"], [["a"], ["b"], ["c"]], ["a", "b", "c"], GAINS, DESIGN, 2, [])
    assert "at most 2 groups): a | b | c (3 groups: each task that sharing hurts keeps a group of its own" in text


def test_groups_within_the_budget_need_no_explanation():
    text = _markdown(["a", "b", "c"], [["a", "b"], ["c"]], ["c"], GAINS, DESIGN, 2, [])
    assert "at most 2 groups): a+b | c." in text and "beyond the budget" not in text


def test_a_gain_without_standard_error_reads_n_a_not_nan():
    one_seed = GAINS.assign(se=float("nan"), n_seeds=1)
    text = _markdown(["a", "b"], [["a", "b"]], [], one_seed, DESIGN, 2, [])
    assert "| a | b | -0.1000 | n/a (1 seed) | 0.1000 | 0.2000 |" in text and "nan" not in text
    assert "| a | b | -0.1000 | 0.0100 |" in _markdown(["a", "b"], [["a", "b"]], [], GAINS, DESIGN, 2, [])
