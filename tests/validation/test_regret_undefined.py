"""Normalized regret where the oracle is about equal to random: undefined (NaN), not a huge number made of
rounding noise, and the decision summary and report say "n/a" and count the seeds it happened on."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transfergraph.planner.validation.decision_outputs import REGRET_NA, decision_section, regret_text, summarize
from transfergraph.planner.validation.decision_stats import normalized_regret


@pytest.mark.parametrize("oracle, arm, random_mean", [
    (0.8, 0.7, 0.8 - 1e-9),        # was (0.1 / 1e-9) = 1e8
    (0.8, 0.8, 0.8 - 3e-7),        # below 1e-6 of the scale 0.8
    (800.0, 700.0, 800.0 - 1e-4),  # the same relative gap on a 1000x larger scale
    (1e-12, -0.1, -1e-12),         # values about 0 (a BWT with no forgetting): the absolute floor
    (0.7, 0.6, 0.8),               # oracle below random
    (float("nan"), 0.5, 0.4),
])
def test_regret_is_nan_when_the_oracle_is_about_random(oracle, arm, random_mean):
    assert np.isnan(normalized_regret(oracle, arm, random_mean))


def test_regret_is_kept_when_the_gap_is_real_even_if_small():
    assert normalized_regret(0.9, 0.85, 0.8) == pytest.approx(0.5)
    assert normalized_regret(0.8, 0.8 - 1e-5, 0.8 - 1e-4) == pytest.approx(0.1)  # gap 1e-4 >> 1e-6 * 0.8
    assert normalized_regret(0.8, 0.7, 0.8 - 1e-4, rtol=1e-3) != normalized_regret(0.8, 0.7, 0.8 - 1e-4)


def _rows(regrets_seed: list[float], regret_mean: float) -> pd.DataFrame:
    rows = [{"decision": "grouping_k2", "arm": "planner", "seed": s, "truth": "seed", "regret": r,
             "percentile": 80.0, "gain_over_random": 0.01 * (s + 1)} for s, r in enumerate(regrets_seed)]
    rows += [{"decision": "grouping_k2", "arm": "planner", "seed": s, "truth": "mean", "regret": regret_mean,
              "percentile": 80.0, "gain_over_random": 0.01} for s in range(len(regrets_seed))]
    return pd.DataFrame(rows)


def _spearman(n: int) -> pd.DataFrame:
    return pd.DataFrame({"decision": "grouping_k2", "arm": "planner", "truth": "seed", "spearman": [0.5] * n})


def test_summary_counts_undefined_regrets_and_the_report_says_n_a():
    summary = summarize(_rows([0.2, float("nan"), 0.4], float("nan")), _spearman(3), {"grouping_k2": 0.9})
    row = summary.iloc[0]
    assert row["regret"] == pytest.approx(0.3) and row["regret_undefined"] == 1
    assert np.isnan(row["regret_seed_mean_truth"])
    section = decision_section(summary, {})
    assert "| 0.30 (n/a on 1 of 3) |" in section and "nan" not in section.split("|---|")[-1]
    none = summarize(_rows([float("nan")] * 3, float("nan")), _spearman(3), {"grouping_k2": 0.9})
    assert none.iloc[0]["regret_undefined"] == 3
    assert f"| {REGRET_NA} |" in decision_section(none, {})


def test_regret_text():
    assert regret_text(0.4213) == "0.42" and regret_text(float("nan")) == REGRET_NA
    assert regret_text(0.5, 2, 5) == "0.50 (n/a on 2 of 5)" and regret_text(0.5, float("nan"), 5) == "0.50"
