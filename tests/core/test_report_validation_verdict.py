"""The validation section's verdict sentence names ties honestly."""


def test_a_tie_in_one_statistic_is_not_called_one_higher_one_lower():
    """validate's verdict: nce with leep's Kendall tau and a lower r is 'mixed or tied', not 'one lower'."""
    import pandas as pd

    from transfergraph.planner.report.validation import verdict_lines

    corr = pd.DataFrame([{"metric": "leep", "method": "retrain_head", "pearson": 0.96, "kendall_tau": 0.857,
                          "n_pairs": 9},
                         {"metric": "nce", "method": "retrain_head", "pearson": 0.94, "kendall_tau": 0.857,
                          "n_pairs": 9}])
    text = " ".join(verdict_lines(corr, None, metric="leep"))
    assert "Mixed or tied (not higher on both, nor lower on both): nce" in text
    assert "one statistic higher, one lower" not in text
