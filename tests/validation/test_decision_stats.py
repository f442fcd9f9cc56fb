"""Formulas of the decision validations against brute force and hand-built examples (tier T0, pure)."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from transfergraph.planner.validation.continual import SEP
from transfergraph.planner.validation.curriculum_eval import order_measures
from transfergraph.planner.validation.decision_stats import (all_orders, best_of_m, noise_ceiling, normalized_regret, order_metrics,
                                               percentile, set_partitions)
from transfergraph.planner.validation.grouping_eval import partition_table


def test_set_partitions_are_the_bell_and_stirling_counts():
    assert len(list(set_partitions("abcd"))) == 15  # Bell(4)
    assert len(list(set_partitions("abcde", 3))) == 1 + 15 + 25  # S(5,1)+S(5,2)+S(5,3)
    assert len(list(set_partitions("abcdef", 3))) == 122
    parts = list(set_partitions("abc"))
    assert sorted(sorted(map(tuple, p)) for p in parts) == sorted(
        [[("a", "b", "c")], [("a", "b"), ("c",)], [("a", "c"), ("b",)], [("a",), ("b", "c")], [("a",), ("b",), ("c",)]])
    assert len(all_orders("abcd")) == 24


def test_percentile_best_worst_and_ties():
    v = np.array([0.1, 0.5, 0.5, 0.9])
    assert percentile(v, 0.9) == 100.0
    assert percentile(v, 0.1) == 0.0
    assert percentile(v, 0.5) == pytest.approx(100 * (1 + 0.5) / 3)


def test_best_of_m_equals_enumeration_of_all_draws():
    rng = np.random.default_rng(0)
    val, test = rng.random(5), rng.random(5)
    for m in (1, 2, 3):
        draws = list(itertools.product(range(5), repeat=m))
        brute = np.mean([test[max(d, key=lambda i: (val[i], i))] for d in draws])
        assert best_of_m(val, test, m) == pytest.approx(brute)
    assert best_of_m(val, test, 1) == pytest.approx(test.mean())  # m = 1 is the random mean


def test_normalized_regret_scale():
    assert normalized_regret(0.9, 0.9, 0.8) == 0.0
    assert normalized_regret(0.9, 0.8, 0.8) == pytest.approx(1.0)
    assert normalized_regret(0.9, 0.7, 0.8) == pytest.approx(2.0)
    assert np.isnan(normalized_regret(0.8, 0.8, 0.8))


def test_order_metrics_on_a_hand_built_matrix():
    R = np.array([[0.9, 0, 0], [0.6, 0.8, 0], [0.5, 0.7, 0.95]])
    m = order_metrics(R, scratch=[0.9, 0.7, 0.9])
    assert m["acc"] == pytest.approx((0.5 + 0.7 + 0.95) / 3)
    assert m["bwt"] == pytest.approx(((0.5 - 0.9) + (0.7 - 0.8)) / 2)
    assert m["fwt_ft"] == pytest.approx(((0.8 - 0.7) + (0.95 - 0.9)) / 2)


def _trie_rows(acc):
    """Rows of an all-orders table for tasks x, y from acc[(prefix, task)]."""
    return pd.DataFrame([{"seed": 0, "prefix": p, "task": t, "test_acc": a, "val_acc": a} for (p, t), a in acc.items()])


def test_order_measures_read_the_trie_table():
    acc = {("x", "x"): 0.8, ("y", "y"): 0.6, (f"x{SEP}y", "x"): 0.5, (f"x{SEP}y", "y"): 0.7,
           (f"y{SEP}x", "y"): 0.4, (f"y{SEP}x", "x"): 0.9}
    orders, meas = order_measures(_trie_rows(acc), ["x", "y"])
    assert orders == [("x", "y"), ("y", "x")]
    assert meas["acc"] == pytest.approx([0.6, 0.65])
    assert meas["bwt"] == pytest.approx([0.5 - 0.8, 0.4 - 0.6])
    assert meas["fwt_ft"] == pytest.approx([0.7 - 0.6, 0.9 - 0.8])


def test_partition_values_and_exact_random_mean_against_brute_force():
    rng = np.random.default_rng(1)
    tasks = ["a", "b", "c", "d"]
    rows = []
    for r in range(1, 5):
        for sub in itertools.combinations(tasks, r):
            for t in sub:
                rows.append({"seed": 0, "subset": "+".join(sub), "task": t, "val_acc": rng.random(),
                             "test_acc": rng.random()})
    table = pd.DataFrame(rows)
    look = {(r.subset, r.task): r.test_acc for r in table.itertuples()}
    parts, val, test = partition_table(table, tasks, 2)
    assert len(parts) == 8
    brute = {}
    for labels in itertools.product(range(2), repeat=4):  # every labelling, deduplicated as a partition
        groups = [tuple(t for t, l in zip(tasks, labels) if l == g) for g in range(2)]
        groups = tuple(sorted(g for g in groups if g))
        brute[groups] = np.mean([look[("+".join(g), t)] for g in groups for t in g])
    exactly_two = [v for g, v in brute.items() if len(g) == 2]
    got_two = [v for p, v in zip(parts, test) if len(p) == 2]
    assert sorted(got_two) == pytest.approx(sorted(exactly_two))
    assert np.mean(got_two) == pytest.approx(np.mean(exactly_two))


def test_noise_ceiling_is_one_for_identical_seeds_and_low_for_noise():
    base = np.arange(10.0)
    assert noise_ceiling(np.stack([base] * 4)) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert noise_ceiling(rng.random((4, 50))) < 0.5
    assert np.isnan(noise_ceiling(base[None]))


@pytest.mark.parametrize("n_seeds", [2, 3, 5, 8])
def test_noise_ceiling_equals_the_split_by_split_definition(n_seeds):
    """Every split into floor(n/2) seeds and the rest, scipy's Spearman per split, mean, Spearman-Brown;
    ties (rounded values) and a split with a constant half (left out) included; chunking changes nothing."""
    from itertools import combinations

    from scipy.stats import spearmanr

    rng = np.random.default_rng(n_seeds)
    per_seed = np.round(rng.normal(size=(n_seeds, 7)) + np.arange(7) * 0.3, 1)
    per_seed[0] = 1.0  # one seed that ranks nothing: some halves are constant when n_seeds = 2
    rs = []
    for half in combinations(range(n_seeds), n_seeds // 2):
        rest = [i for i in range(n_seeds) if i not in half]
        a, b = per_seed[list(half)].mean(0), per_seed[rest].mean(0)
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            rs.append(spearmanr(a, b).statistic)
    r = np.mean(rs) if rs else np.nan
    want = 2 * r / (1 + r) if r > 0 else r
    for chunk in (1, 3, 20_000):
        got = noise_ceiling(per_seed, chunk=chunk)
        assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, abs=1e-12)


def _pair_table(gains: dict, seeds=(0, 1, 2)) -> pd.DataFrame:
    """Singles at 0.5 val accuracy; pair {t, u} gives t 0.5 + gains[(u, t)] (plus seed noise 1e-4 * seed)."""
    tasks = sorted({t for pair in gains for t in pair})
    rows = []
    for s in seeds:
        for t in tasks:
            rows.append({"seed": s, "subset": t, "task": t, "val_acc": 0.5, "test_acc": 0.5})
        for u, t in itertools.combinations(tasks, 2):
            name = "+".join(sorted((u, t)))
            rows.append({"seed": s, "subset": name, "task": t, "val_acc": 0.5 + gains[(u, t)] + 1e-4 * s, "test_acc": 0.5})
            rows.append({"seed": s, "subset": name, "task": u, "val_acc": 0.5 + gains[(t, u)] + 1e-4 * s, "test_acc": 0.5})
    return pd.DataFrame(rows)


def test_pair_signal_is_one_for_a_graph_ordered_like_the_pair_gains_and_minus_one_reversed():
    import networkx as nx

    from transfergraph.planner.validation.decision_run import pair_signal

    tasks = ["a", "b", "c"]
    gains = {(u, t): 0.01 * (i + 1) for i, (u, t) in enumerate(itertools.permutations(tasks, 2))}
    table = _pair_table(gains)

    def graph(sign):
        g = nx.DiGraph()
        g.add_nodes_from(tasks, kind="task")
        for (u, t), w in gains.items():
            g.add_edge(u, t, weight=sign * w)
        return g

    out = pair_signal({0: graph(1), 1: graph(-1)}, table, tasks)
    transfer = out[out.affinity == "transfer"].set_index("seed")["spearman"]
    assert transfer[0] == pytest.approx(1.0) and transfer[1] == pytest.approx(-1.0)
    assert set(out.affinity) == {"transfer", "mutual", "symmetric", "pair_gain_reliability"}
    assert out[out.affinity == "pair_gain_reliability"]["spearman"].iloc[0] == pytest.approx(1.0)


def test_verdict_of_hoa_uses_its_own_seed_percentile_and_the_bar_of_the_protocol():
    from transfergraph.planner.validation.decision_outputs import summarize

    rows, corr = [], []
    for seed, gain in enumerate([0.02, 0.03, 0.025, 0.02, 0.03]):
        rows.append({"decision": "grouping_k2", "arm": "hoa", "seed": seed, "truth": "seed", "percentile": 90.0,
                     "regret": 0.1, "gain_over_random": gain})
        corr.append({"decision": "grouping_k2", "arm": "hoa", "seed": seed, "truth": "seed", "spearman": 0.3 + 0.01 * seed})
        for truth, pct in (("seed", 60.0), ("mean", 60.0)):  # a planner at the 60th percentile fails the bar
            rows.append({"decision": "grouping_k2", "arm": "planner", "seed": seed, "truth": truth, "percentile": pct,
                         "regret": 0.8, "gain_over_random": gain})
        corr.append({"decision": "grouping_k2", "arm": "planner", "seed": seed, "truth": "seed", "spearman": 0.3})
    out = summarize(pd.DataFrame(rows), pd.DataFrame(corr), {"grouping_k2": 0.9}).set_index("arm")
    assert np.isnan(out.loc["hoa", "percentile_seed_mean_truth"])
    assert out.loc["hoa", "verdict"] == "beats random"
    assert out.loc["planner", "verdict"] == "fails the minimum bar (percentile 60 < 75)"
    few = summarize(pd.DataFrame(rows)[lambda d: d.seed < 3], pd.DataFrame(corr)[lambda d: d.seed < 3],
                    {"grouping_k2": 0.9}).set_index("arm")
    assert few.loc["hoa", "verdict"] == "beats random (provisional: 3 seeds < 5)"
    low = summarize(pd.DataFrame(rows), pd.DataFrame(corr), {"grouping_k2": 0.3}).set_index("arm")
    assert low.loc["hoa", "verdict"].startswith("inconclusive")


def test_budget_pairs_take_the_most_affine_pairs_both_directions_summed():
    from transfergraph.planner.validation.grouping_eval import budget_pairs

    A = np.array([[0.0, 0.9, 0.1, 0.0],
                  [0.0, 0.0, 0.2, 0.0],
                  [0.5, 0.3, 0.0, 0.4],
                  [0.0, 0.0, 0.4, 0.0]])
    # pair sums: (0,1) 0.9, (0,2) 0.6, (1,2) 0.5, (2,3) 0.8, (0,3) 0, (1,3) 0
    assert budget_pairs(A, 3) == [(0, 1), (2, 3), (0, 2)]
    assert budget_pairs(A, 6)[-2:] == [(0, 3), (1, 3)]  # ties broken by index


def test_hoa_budget_with_every_pair_measured_is_hoa():
    from transfergraph.planner.validation.grouping_eval import _hoa_arm, hoa_graph

    tasks = ["a", "b", "c", "d"]
    gains = {(u, t): 0.01 * ((3 * i) % 7 - 3) for i, (u, t) in enumerate(itertools.permutations(tasks, 2))}
    hg = hoa_graph(_pair_table(gains), tasks)
    every = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    for k in (2, 3):
        full, A_full = _hoa_arm(hg, tasks, k)
        budget, A_budget = _hoa_arm(hg, tasks, k, every)
        assert full == budget and np.array_equal(A_full, A_budget)
    _, A_none = _hoa_arm(hg, tasks, 2, [])
    assert not A_none.any()
