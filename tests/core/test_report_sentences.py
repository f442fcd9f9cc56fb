"""Sentences of the report that must say what they mean: a tie is not "one lower", a value names its formula."""


def test_a_tie_in_one_statistic_is_not_called_one_higher_one_lower():
    """validate's verdict: nce with leep's Kendall tau and a lower r is 'mixed or tied', not 'one lower'."""
    import pandas as pd

    from transfergraph.planner.report.validation import verdict_lines

    corr = pd.DataFrame([{"metric": "leep", "method": "retrain_head", "pearson": 0.96, "kendall_tau": 0.857,
                          "n_pairs": 40},
                         {"metric": "nce", "method": "retrain_head", "pearson": 0.94, "kendall_tau": 0.857,
                          "n_pairs": 40}])
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


def test_a_source_set_smaller_than_its_budget_says_why():
    from transfergraph.planner.report.explain import _source_set_section

    plan = {"sources": {"high": [["ext_all", 0.97]], "low": [["ext_all", 0.98]]}, "source_models": {},
            "source_set": {"chosen": ["ext_all"], "assignment": {"high": "ext_all", "low": "ext_all"}, "budget": 2},
            "objectives": {"source_set": {"value": 1.95, "optimal": True, "status": "optimal", "method": "greedy+swap",
                                          "seconds": 0.0}}}
    text = "\n".join(_source_set_section(plan))
    assert "Fewer than the budget of 2: no further source raises any target's weight." in text
    plan["source_set"]["budget"] = 1
    assert "Fewer than the budget" not in "\n".join(_source_set_section(plan))


def test_a_measured_curriculum_is_offered_beside_the_proxy_order():
    """After `validate --decisions`, the report names the order measured on the user's data, how it was chosen
    (validation accuracy) and what it gained on test, beside the proxy order."""
    from transfergraph.planner.report.explain import _curriculum_section

    plan = {"curriculum": ["a", "b", "c"], "settings": {"curriculum_objective": "dissimilar_chain"},
            "objectives": {"curriculum": {"value": -0.4, "objective": "dissimilar_chain: -sum_k w(pi_{k-1}->pi_k)",
                                          "status": "optimal", "method": "held-karp", "seconds": 0.0,
                                          "parents": {"a": [None, None], "b": ["a", 0.1], "c": ["b", 0.3]}}},
            "measured_curriculum": {"naive": {"order": ["c", "a", "b"], "seeds": 3, "val_acc": 0.9, "test_acc": 0.88,
                                              "percentile": 100.0, "gain_over_random": 0.042}}}
    text = "\n".join(_curriculum_section(plan))
    assert "Measured on this data (naive learner, 3 seeds)" in text
    assert "**c** > **a** > **b** (test ACC +0.042 over the random-order mean, percentile 100)" in text
    assert "the task->task edges of normalized leep, each in its own direction" in text
    plan["measured_curriculum"]["naive"]["gain_over_random"] = -0.001  # no better than random orders on test
    text = "\n".join(_curriculum_section(plan))
    assert "did not beat the random-order mean on test" in text and "prefer it" not in text


def test_a_measured_partition_is_offered_beside_the_proxy_groups():
    """After `validate --decisions`, the report names the partition measured on the user's data (chosen on
    validation accuracy) and what it gained on test, beside the proxy groups; it recommends it only for the
    plan's group budget, only when it beat random partitions, and says when every task alone did better."""
    from transfergraph.planner.report.explain import _groups_section

    def m(groups, gain, separate):
        return {"groups": groups, "seeds": 3, "val_acc": 0.9, "test_acc": 0.88, "percentile": 96.0,
                "gain_over_random": gain, "separate_gain": separate}

    plan = {"groups": [["a", "b"], ["c"]],
            "objectives": {"groups": {"value": 0.1, "group_values": [0.1, 0.0], "n_groups": 2, "centering": "w - median",
                                      "objective": "o", "status": "optimal", "method": "dp", "seconds": 0.0,
                                      "optimal": True, "bound": 0.1, "gap": 0.0}},
            "measured_partition": {"k2": m([["a"], ["b", "c"]], 0.012, 0.004)}}
    text = "\n".join(_groups_section(plan))
    assert "Measured on this data (3 seeds, at most 2 groups)" in text
    assert ("**a** | **b** + **c** (seed-mean test accuracy +0.012 over the random partition mean, percentile 96); "
            "prefer it to the groups above") in text
    plan["measured_partition"] = {"k2": m([["a"], ["b", "c"]], 0.012, 0.020), "k3": m([["a"], ["b"], ["c"]], 0.015, 0.0)}
    text = "\n".join(_groups_section(plan))
    assert "training every task alone did better still (+0.020): prefer 3 separate models" in text
    assert "(the plan's budget is 2 groups)" in text and text.count("prefer it to the groups above") == 0
    plan["measured_partition"] = {"k2": m([["a"], ["b", "c"]], -0.001, -0.01)}
    text = "\n".join(_groups_section(plan))
    assert "it did not beat random partitions on test" in text and "prefer it" not in text
