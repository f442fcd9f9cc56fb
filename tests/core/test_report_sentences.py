"""Sentences of the report that must say what they mean: a tie is not "one lower", a value names its formula."""


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


def test_the_curriculum_value_says_what_it_measures():
    """A bare "Value 119.875" means nothing to a reader: the objective's formula follows it."""
    from transfergraph.planner.report.explain import _curriculum_section

    plan = {"curriculum": ["a", "b"], "settings": {"curriculum_objective": "chain"},
            "objectives": {"curriculum": {"value": 1.5, "objective": "chain: w_ext(pi_1) + sum_k w(pi_{k-1}->pi_k)",
                                          "status": "optimal", "method": "dp", "seconds": 0.0,
                                          "parents": {"a": [None, None], "b": ["a", 0.5]}}}}
    text = "\n".join(_curriculum_section(plan))
    assert "Value 1.500 of w_ext(pi_1) + sum_k w(pi_{k-1}->pi_k) (proven optimal" in text
