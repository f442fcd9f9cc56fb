"""correlations() against scipy directly, selection_regret() on a hand-made table, the report."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.report import level_table, validation_report
from transfergraph.planner.validation import correlations, selection_regret


def _tables(seed=0, n_sources=4, n_targets=6):
    """Scores for 2 metrics ('good' tracks accuracy, 'noise' does not) and accuracies for 1 method."""
    rng = np.random.default_rng(seed)
    s_rows, v_rows = [], []
    for t in range(n_targets):
        for s in range(n_sources):
            acc = float(rng.uniform(0.3, 1.0))
            v_rows.append({"source": f"s{s}", "target": f"t{t}", "method": "retrain_head", "accuracy": acc,
                           "status": "ok"})
            s_rows.append({"source": f"s{s}", "target": f"t{t}", "metric": "good",
                           "score": acc + float(rng.normal(0, 0.05)), "status": "ok"})
            s_rows.append({"source": f"s{s}", "target": f"t{t}", "metric": "noise",
                           "score": float(rng.normal()), "status": "ok"})
    return pd.DataFrame(s_rows), pd.DataFrame(v_rows)


def test_pooled_statistics_equal_scipy():
    scores, val = _tables()
    c = correlations(scores, val)
    assert {"metric", "method", "pearson", "pearson_p", "kendall_tau", "n_pairs"} <= set(c.columns)
    assert list(c["metric"]) == ["good", "noise"]
    for metric in ("good", "noise"):
        row = c[c["metric"] == metric].iloc[0]
        m = scores[scores["metric"] == metric].merge(val, on=["source", "target"])
        x, y = m["score"].to_numpy(), m["accuracy"].to_numpy()
        r = stats.pearsonr(x, y)
        k = stats.kendalltau(x, y)
        assert row["pearson"] == pytest.approx(r.statistic, abs=1e-12)
        assert row["pearson_p"] == pytest.approx(r.pvalue, rel=1e-9)
        assert row["kendall_tau"] == pytest.approx(k.statistic, abs=1e-12)
        assert row["kendall_p"] == pytest.approx(k.pvalue, rel=1e-9)
        assert row["weighted_tau"] == pytest.approx(stats.weightedtau(x, y).statistic, abs=1e-12)
        assert row["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
        assert row["n_pairs"] == 24 and row["n_targets"] == 6 and row["n_ranked_targets"] == 6
        per = [stats.kendalltau(g["score"], g["accuracy"]).statistic for _, g in m.groupby("target")]
        assert row["per_target_kendall_tau"] == pytest.approx(np.mean(per), abs=1e-12)
    good = c[c["metric"] == "good"].iloc[0]
    assert good["pearson"] > 0.8 and good["pearson_p"] < 1e-6


def test_failed_and_nonfinite_rows_are_left_out():
    scores, val = _tables()
    scores.loc[0, "status"] = "failed"
    scores.loc[2, "score"] = np.nan
    val.loc[5, "status"] = "failed"
    c = correlations(scores, val)
    good = c[c["metric"] == "good"].iloc[0]
    noise = c[c["metric"] == "noise"].iloc[0]
    # good loses (s0,t0) failed, (s1,t0) NaN and (s1,t1) failed accuracy; noise only (s1,t1)
    assert good["n_pairs"] == 24 - 3 and noise["n_pairs"] == 24 - 1


def test_too_few_or_constant_values_give_nan_not_warnings():
    scores = pd.DataFrame({"source": ["a", "b", "c"], "target": ["t"] * 3, "metric": ["m"] * 3,
                           "score": [1.0, 1.0, 1.0]})
    val = pd.DataFrame({"source": ["a", "b", "c"], "target": ["t"] * 3, "method": ["x"] * 3,
                        "accuracy": [0.1, 0.5, 0.9]})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = correlations(scores, val)
    assert c["n_pairs"].iloc[0] == 3 and math.isnan(c["pearson"].iloc[0]) and math.isnan(c["kendall_tau"].iloc[0])


def test_bad_inputs_named():
    scores, val = _tables()
    with pytest.raises(InputError, match="validation_df must have columns"):
        correlations(scores, val.drop(columns="accuracy"))
    with pytest.raises(InputError, match="scores_df must be a pandas.DataFrame"):
        correlations([1, 2], val)
    with pytest.raises(InputError, match="min_sources"):
        correlations(scores, val, min_sources=1)


def test_selection_regret_on_a_hand_made_table():
    # target u: best is b (0.9); metric m picks a (0.6) -> regret 0.3; random = 0.9 - 0.7 = 0.2
    # target v: best is c (0.8); m ties a and c at 5.0 -> the smaller name 'a' (0.5) -> regret 0.3
    # target w: one source only -> not counted
    acc = {("a", "u"): 0.6, ("b", "u"): 0.9, ("c", "u"): 0.6,
           ("a", "v"): 0.5, ("b", "v"): 0.2, ("c", "v"): 0.8, ("a", "w"): 0.7}
    score = {("a", "u"): 3.0, ("b", "u"): 1.0, ("c", "u"): 2.0,
             ("a", "v"): 5.0, ("b", "v"): 1.0, ("c", "v"): 5.0, ("a", "w"): 1.0}
    scores = pd.DataFrame([{"source": s, "target": t, "metric": "m", "score": v, "status": "ok"}
                           for (s, t), v in score.items()])
    val = pd.DataFrame([{"source": s, "target": t, "method": "ft", "accuracy": v, "status": "ok"}
                        for (s, t), v in acc.items()])
    r = selection_regret(scores, val).iloc[0]
    assert r["n_targets"] == 2
    assert r["regret"] == pytest.approx(0.3)
    assert r["random_regret"] == pytest.approx((0.2 + (0.8 - 0.5)) / 2)
    assert r["relative_regret"] == pytest.approx(0.6 / 0.5)
    assert r["top1_rate"] == 0.0
    assert r["best_accuracy"] == pytest.approx(0.85) and r["chosen_accuracy"] == pytest.approx(0.55)
    scores.loc[(scores["source"] == "b") & (scores["target"] == "u"), "score"] = 9.0
    r2 = selection_regret(scores, val).iloc[0]
    assert r2["regret"] == pytest.approx(0.15) and r2["top1_rate"] == 0.5


def test_level_table_bins_equal_width():
    t = level_table(np.array([0.0, 0.1, 0.5, 0.95, 1.0]), np.array([0.2, 0.4, 0.6, 0.8, 1.0]), n_levels=5)
    assert t["n"].tolist() == [2, 0, 1, 0, 2]
    assert t["mean_accuracy"][0] == pytest.approx(0.3) and math.isnan(t["mean_accuracy"][1])
    assert t["low"][0] == 0.0 and t["high"][4] == 1.0


def test_report_writes_figures_and_says_where_leep_wins(tmp_path):
    scores, val = _tables(n_targets=8)  # 32 pairs: enough to say which metric beat which
    scores["metric"] = scores["metric"].replace({"good": "leep"})
    val2 = val.assign(method="fine_tune", accuracy=val["accuracy"] * 0.9)
    val_all = pd.concat([val, val2], ignore_index=True)
    c = correlations(scores, val_all)
    md = validation_report(val_all, c, scores, tmp_path)
    assert md.startswith("## ")
    assert "| metric | method | Pearson r |" in md
    assert "leep beat: noise" in md and "Beat leep: none" in md
    for name in ("validation_scatter_retrain_head.png", "validation_scatter_fine_tune.png",
                 "validation_levels_leep.png"):
        assert (tmp_path / name).stat().st_size > 1000
        assert f"]({name})" in md
    # the other way round: when the baseline wins, the report says so
    flipped = scores.assign(metric=scores["metric"].map({"leep": "nce", "noise": "leep"}))
    md2 = validation_report(val, correlations(flipped, val), flipped, tmp_path)
    assert "leep beat: none" in md2 and "Beat leep: nce" in md2


def test_few_pairs_make_beat_a_point_estimate_not_a_claim():
    """Six validated pairs cannot rank metrics: the sentence says the differences are too close to call."""
    from transfergraph.planner.report.validation import MIN_COMPARED_PAIRS, verdict_lines

    corr = pd.DataFrame([{"method": "retrain_head", "metric": "leep", "pearson": 0.5, "kendall_tau": 0.4, "n_pairs": 6},
                         {"method": "retrain_head", "metric": "nce", "pearson": 0.3, "kendall_tau": 0.2, "n_pairs": 6}])
    line = verdict_lines(corr, None)[0]
    assert "cannot be told apart" in line and "leep beat:" not in line and "nce (r=0.30, τ=0.20)" in line
    many = corr.assign(n_pairs=MIN_COMPARED_PAIRS)
    assert "cannot be told apart" not in verdict_lines(many, None)[0] and "leep beat: nce" in verdict_lines(many, None)[0]


def test_few_pairs_name_no_winner_within_targets_or_by_regret():
    from transfergraph.planner.report.validation import verdict_lines

    corr = pd.DataFrame([{"method": "retrain_head", "metric": "leep", "pearson": 0.5, "kendall_tau": 0.4, "n_pairs": 9,
                          "per_target_kendall_tau": 0.2, "n_ranked_targets": 3},
                         {"method": "retrain_head", "metric": "nce", "pearson": 0.3, "kendall_tau": 0.2, "n_pairs": 9,
                          "per_target_kendall_tau": 0.9, "n_ranked_targets": 3}])
    regret = pd.DataFrame([{"method": "retrain_head", "metric": "leep", "regret": 0.08, "n_targets": 3},
                           {"method": "retrain_head", "metric": "nce", "regret": 0.0, "n_targets": 3}])
    line = verdict_lines(corr, regret)[0]
    assert "ranks sources best" not in line and "lower regret: nce" not in line and "too few targets or pairs" in line
    many = verdict_lines(corr.assign(n_pairs=40), regret)[0]
    assert "nce ranks sources best" in many and "lower regret: nce" in many
