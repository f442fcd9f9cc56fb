"""Can a suite's ground truth tell decisions apart? Split-half reliability of pair effects and ceilings.

A decision can only be judged on a suite whose truth ranks the alternatives the same way from one half
of the training seeds to the other. Two figures, both split-half Spearman correlations over seeds,
stepped up by Spearman-Brown (:func:`~transfergraph.planner.validation.decision_stats.noise_ceiling`):

- **pair-effect reliability**: the units are the n(n-1) ordered task pairs. Grouping: the gain of task
  t from co-training with u, g(u->t) = s(t | {t, u}) - s(t | {t}) (Standley et al., ICML 2020: the
  pair table behind HOA). Curricula: the change of task a's score when b is trained after it,
  e(b->a) = s(a | a then b) - s(a | a alone) (negative = forgetting; the pairwise interaction that
  order rules such as Li & Hiratani's, ICML 2025, model).
- **noise ceiling**: the units are the alternatives themselves: every partition into <= k groups
  (value = mean of its tasks' scores) or every order (final mean score over tasks).

s is the test score of a task: minus its mean test cross-entropy (``measure="loss"``, the primary
measure: thousands of test images make it smooth) or its test accuracy (``measure="acc"``).
:func:`loss_view` turns a table's losses into "higher is better" scores in the accuracy columns, so every
judge of the decision validation (partitions, HOA, orders, arms) runs on loss unchanged.

:func:`gate` applies the protocol's thresholds: reliability >= 0.8 and ceiling >= 0.5 (a pair table
whose gains do not reproduce cannot rank groupings, however they are predicted).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation.decision_stats import noise_ceiling

__all__ = ["loss_view", "pair_gain_matrix", "order_effect_matrix", "pair_reliability", "order_effect_reliability",
           "partition_ceiling", "order_ceiling", "seeds_needed", "GateResult", "gate", "MIN_RELIABILITY", "MIN_CEILING"]

MIN_RELIABILITY = 0.8
MIN_CEILING = 0.5
_MEASURES = ("loss", "acc")


def _check_measure(measure: str) -> None:
    if measure not in _MEASURES:
        raise InputError(f"measure must be one of {list(_MEASURES)}; got {measure!r}.")


def loss_view(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of a subset or order table whose ``test_acc`` / ``val_acc`` hold minus ``test_loss`` /
    ``val_loss`` (higher = better), so that accuracy-based judges rank by loss.

    Raises InputError: a loss column is missing or holds NaN (tables cached before losses were recorded).
    """
    missing = [c for c in ("test_loss", "val_loss") if c not in table.columns or table[c].isna().any()]
    if missing:
        raise InputError(f"the table needs {missing} without NaN to be judged on loss; rebuild its cache "
                         "(tables written before losses were recorded hold accuracy only).")
    out = table.copy()
    out["test_acc"] = -out["test_loss"].astype(float)
    out["val_acc"] = -out["val_loss"].astype(float)
    return out


def _scored(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    _check_measure(measure)
    return loss_view(table) if measure == "loss" else table


def _seeds(table: pd.DataFrame) -> list:
    if "seed" not in table.columns or table.empty:
        raise InputError("the table must be non-empty with a 'seed' column.")
    return sorted(table["seed"].unique())


def _effects(table: pd.DataFrame, measure: str, level: str, joint: Callable[[str, str], str],
             lacks: Callable[[str, str], str]) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Per seed (rows) and ordered pair ``(other, task)`` of the table's tasks (columns, every task in
    turn with each other task): ``s(task | joint(task, other)) - s(task | task)``, where ``s`` is the
    measure on ``task``'s test split at ``level`` (the subset or prefix trained). ``lacks(task, joint)``
    names what is missing when a row is absent."""
    tab = _scored(table, measure)
    tasks = sorted(tab["task"].unique())
    pairs = [(other, task) for task in tasks for other in tasks if other != task]
    look = tab.set_index(["seed", level, "task"])["test_acc"]
    out = np.empty((len(_seeds(tab)), len(pairs)))
    for i, s in enumerate(_seeds(tab)):
        for j, (other, task) in enumerate(pairs):
            key = joint(task, other)
            try:
                out[i, j] = float(look[(s, key, task)]) - float(look[(s, task, task)])
            except KeyError as exc:
                raise InputError(f"seed {s} lacks {lacks(task, key)}.") from exc
    return out, pairs


def pair_gain_matrix(subsets: pd.DataFrame, measure: str = "loss") -> tuple[np.ndarray, list[tuple[str, str]]]:
    """(gains (n_seeds, n(n-1)), [(u, t)] ordered pairs): g(u->t) = s(t | {t, u}) - s(t | {t}) per seed, on test.

    ``subsets``: rows of :func:`~transfergraph.planner.validation.multitask.subset_table` (columns seed,
    subset, task, test_acc, test_loss) with every single and pair of every seed.
    Raises InputError: a single or pair missing for some seed.
    """
    return _effects(subsets, measure, "subset", lambda t, u: "+".join(sorted((t, u))),
                    lambda t, key: f"the single {t!r} or the pair {key!r} in the subset table")


def order_effect_matrix(orders: pd.DataFrame, measure: str = "loss") -> tuple[np.ndarray, list[tuple[str, str]]]:
    """(effects (n_seeds, n(n-1)), [(b, a)]): e(b->a) = s(a | prefix a>b) - s(a | prefix a) per seed, on test.

    ``orders``: rows of :func:`~transfergraph.planner.validation.continual.orders_table` of one learner.
    Raises InputError: a one- or two-task prefix missing for some seed.
    """
    from transfergraph.planner.validation.continual import SEP

    return _effects(orders, measure, "prefix", lambda a, b: f"{a}{SEP}{b}",
                    lambda a, key: f"the prefix {a!r} or {key} in the order table")


def pair_reliability(subsets: pd.DataFrame, measure: str = "loss") -> float:
    """Split-half (Spearman-Brown) reliability over seeds of the pair gains g(u->t); NaN under 2 seeds."""
    return noise_ceiling(pair_gain_matrix(subsets, measure)[0])


def order_effect_reliability(orders: pd.DataFrame, measure: str = "loss") -> float:
    """Split-half (Spearman-Brown) reliability over seeds of the two-task order effects e(b->a)."""
    return noise_ceiling(order_effect_matrix(orders, measure)[0])


def partition_ceiling(subsets: pd.DataFrame, k: int, measure: str = "loss") -> float:
    """Noise ceiling of the ranking of every partition into <= k groups by its mean test score."""
    from transfergraph.planner.validation.grouping_eval import partition_table

    tab = _scored(subsets, measure)
    tasks = sorted(tab["task"].unique())
    return noise_ceiling(np.array([partition_table(tab[tab.seed == s], tasks, k)[2] for s in _seeds(tab)]))


def order_ceiling(orders: pd.DataFrame, measure: str = "loss", metric: str = "acc") -> float:
    """Noise ceiling of the ranking of every order by ``metric`` of its score matrix ("acc": final
    mean score; "bwt", "fwt_ft" as in :func:`~transfergraph.planner.validation.decision_stats.order_metrics`)."""
    from transfergraph.planner.validation.curriculum_eval import order_measures

    tab = _scored(orders, measure)
    tasks = sorted(tab["task"].unique())
    return noise_ceiling(np.array([order_measures(tab[tab.seed == s], tasks)[1][metric] for s in _seeds(tab)]))


def seeds_needed(reliability: float, n_seeds: int, target: float = MIN_RELIABILITY) -> float:
    """Seeds whose mean would reach ``target`` reliability, by the Spearman-Brown prophecy formula.

    With rho_K the reliability of a K-seed mean, one seed's is rho_1 = rho_K / (K - (K - 1) rho_K) and
    K' seeds reach rho_K' = K' rho_1 / (1 + (K' - 1) rho_1); the smallest such K' >= target is
    ceil(target (1 - rho_1) / ((1 - target) rho_1)). Returns inf when rho_K <= 0 or is NaN (no number
    of seeds helps a truth that does not reproduce at all).
    Raises InputError: ``n_seeds`` < 1 or ``target`` outside (0, 1).
    """
    if n_seeds < 1 or not 0 < target < 1:
        raise InputError(f"seeds_needed needs n_seeds >= 1 and 0 < target < 1; got {n_seeds!r}, {target!r}.")
    if not np.isfinite(reliability) or reliability <= 0:
        return float("inf")
    if reliability >= 1:
        return 1.0
    rho1 = reliability / (n_seeds - (n_seeds - 1) * reliability)
    return float(np.ceil(target * (1 - rho1) / ((1 - target) * rho1) - 1e-9))


@dataclass(frozen=True)
class GateResult:
    """Outcome of the reliability gate: the figures, the thresholds and the reasons it fails (if any)."""

    reliability: float
    ceiling: float
    min_reliability: float = MIN_RELIABILITY
    min_ceiling: float = MIN_CEILING

    @property
    def reasons(self) -> list[str]:
        out = []
        if not np.isfinite(self.reliability) or self.reliability < self.min_reliability:
            out.append(f"pair-effect reliability {self.reliability:.2f} < {self.min_reliability}")
        if not np.isfinite(self.ceiling) or self.ceiling < self.min_ceiling:
            out.append(f"noise ceiling {self.ceiling:.2f} < {self.min_ceiling}")
        return out

    @property
    def passes(self) -> bool:
        return not self.reasons

    def verdict(self) -> str:
        """"passes" or "fails (<reasons>)"."""
        return "passes" if self.passes else "fails (" + "; ".join(self.reasons) + ")"


def gate(reliability: float, ceiling: float, *, min_reliability: float = MIN_RELIABILITY,
         min_ceiling: float = MIN_CEILING) -> GateResult:
    """Apply the gate: passes when reliability >= ``min_reliability`` and ceiling >= ``min_ceiling``
    (NaN fails: too few seeds to tell). Raises InputError: a threshold outside [-1, 1]."""
    for name, v in (("min_reliability", min_reliability), ("min_ceiling", min_ceiling)):
        if not -1 <= v <= 1:
            raise InputError(f"{name} of gate must be in [-1, 1]; got {v!r}.")
    return GateResult(float(reliability), float(ceiling), min_reliability, min_ceiling)
