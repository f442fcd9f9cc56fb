"""Judge curriculum decisions against the all-orders table (rows of ``curriculum_validation.csv``).

From :func:`~transfergraph.planner.validation.continual.orders_table` each order pi gets its accuracy matrix R (test
and val) and, with the scratch accuracies (stage-1 nodes of the trie: each task trained alone with the
same seed and stream), ACC, BWT and FWT_ft (:func:`~transfergraph.planner.validation.decision_stats.order_metrics`).
Arms per measure: ``planner_<objective>`` for each given objective's order, ``reverse_<objective>``,
``anti_planner`` (the order minimizing the chain objective: neighbours as dissimilar as possible),
``easy_to_hard`` (descending scratch val accuracy), ``random`` (exact mean over all n! orders),
``best_of_3`` / ``best_of_10`` (exact, val-chosen), ``oracle`` (val-chosen) and ``oracle_test``.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from transfergraph.planner.validation.continual import SEP
from transfergraph.planner.validation.decision_stats import all_orders, best_of_m, normalized_regret, order_metrics, percentile, spearman

__all__ = ["order_measures", "curriculum_rows", "CURRICULUM_COLUMNS", "MEASURES"]

CURRICULUM_COLUMNS = ["decision", "learner", "measure", "arm", "seed", "truth", "order", "objective", "realized",
                      "realized_val", "percentile", "regret", "regret_vs_test_oracle", "gain_over_random",
                      "n_alternatives"]
MEASURES = ("acc", "fwt_ft", "bwt")


def order_measures(table: pd.DataFrame, tasks: Sequence[str]) -> tuple[list[tuple], dict[str, np.ndarray]]:
    """(orders, {measure: values, f"{measure}_val": values}) over all n! orders of ``tasks``.

    ``table``: rows of one learner (several seeds are averaged cell by cell).
    """
    g = table.groupby(["prefix", "task"])[["test_acc", "val_acc"]].mean()
    look = {k: (float(v.test_acc), float(v.val_acc)) for k, v in g.iterrows()}
    orders = all_orders(sorted(tasks))
    out: dict[str, list] = {}
    for order in orders:
        for split, col in (("", 0), ("_val", 1)):
            n = len(order)
            R = np.zeros((n, n))
            for i in range(n):
                prefix = SEP.join(order[:i + 1])
                for j in range(i + 1):
                    R[i, j] = look[(prefix, order[j])][col]
            scratch = [look[(t, t)][col] for t in order]
            for name, v in order_metrics(R, scratch).items():
                out.setdefault(name + split, []).append(v)
    return orders, {k: np.asarray(v) for k, v in out.items()}


def _anti(orders, objective: Callable[[tuple], float]) -> tuple:
    vals = [objective(o) for o in orders]
    return orders[int(np.argmin(vals))]


def curriculum_rows(table: pd.DataFrame, *, planners: Mapping[str, Mapping[int, tuple[list, Callable]]],
                    anti: Mapping[int, Callable] | None = None, learner: str = "naive"):
    """Rows of every arm, measure and seed (truth = that seed's table, and the seed-mean table).

    planners : {objective: {seed: (order, J)}} with J(order) -> objective value (for Spearman over
    all orders); anti : {seed: chain objective J} for the anti-planner arm.
    Returns (rows with :data:`CURRICULUM_COLUMNS`, Spearman table per objective/measure/seed/truth).
    """
    tasks = sorted(table["task"].unique())
    seeds = sorted(int(s) for s in table["seed"].unique())
    rows, corr, cache = [], [], {}
    for seed, truth in [(s, "seed") for s in seeds] + [(s, "mean") for s in seeds]:
        key = seed if truth == "seed" else "mean"
        if key not in cache:
            cache[key] = order_measures(table[table.seed == seed] if truth == "seed" else table, tasks)
        orders, meas = cache[key]
        index = {o: i for i, o in enumerate(orders)}
        arms: list[tuple[str, tuple | None, float]] = []
        for obj, per_seed in planners.items():
            order, J = per_seed[seed]
            order = tuple(map(str, order))
            arms += [(f"planner_{obj}", order, J(order)), (f"reverse_{obj}", order[::-1], J(order[::-1]))]
        if anti is not None:
            arms.append(("anti_planner", _anti(orders, anti[seed]), float("nan")))
        for m in MEASURES:
            test, val = meas[m], meas[m + "_val"]
            rand, oracle, oracle_t = float(test.mean()), float(test[int(np.argmax(val))]), float(test.max())
            easy = tuple(sorted(tasks, key=lambda t: -float(_scratch(table, t, seed, truth))))
            dec = f"curriculum_{learner}_{m}"

            def add(arm, order, obj, value, value_val):
                rows.append({"decision": dec, "learner": learner, "measure": m, "arm": arm, "seed": seed,
                             "truth": truth, "order": SEP.join(order) if order else "", "objective": obj,
                             "realized": value, "realized_val": value_val,
                             "percentile": percentile(test, value) if order else float("nan"),
                             "regret": normalized_regret(oracle, value, rand),
                             "regret_vs_test_oracle": normalized_regret(oracle_t, value, rand),
                             "gain_over_random": value - rand, "n_alternatives": len(orders)})

            for arm, order, obj in arms + [("easy_to_hard", easy, float("nan"))]:
                i = index[order]
                add(arm, order, obj, float(test[i]), float(val[i]))
            add("random", None, float("nan"), rand, float(val.mean()))
            for k in (3, 10):
                add(f"best_of_{k}", None, float("nan"), best_of_m(val, test, k), float("nan"))
            add("oracle", orders[int(np.argmax(val))], float("nan"), oracle, float(val.max()))
            add("oracle_test", orders[int(np.argmax(test))], float("nan"), oracle_t, float(val[int(np.argmax(test))]))
            for obj, per_seed in planners.items():
                J = per_seed[seed][1]
                corr.append({"decision": dec, "learner": learner, "measure": m, "arm": f"planner_{obj}",
                             "seed": seed, "truth": truth, "spearman": spearman([J(o) for o in orders], test)})
    return pd.DataFrame(rows, columns=CURRICULUM_COLUMNS), pd.DataFrame(corr)


def _scratch(table: pd.DataFrame, task: str, seed: int, truth: str) -> float:
    t = table[(table.prefix == task) & (table.task == task)]
    if truth == "seed":
        t = t[t.seed == seed]
    return float(t["val_acc"].mean())
