"""Pure statistics of the decision validations: enumerations, exact random baselines, percentiles, regret.

All functions take NumPy arrays / Python sequences and return floats or arrays; no training here.
Definitions (higher realized value = better throughout):

- percentile of x among values v_1..v_N (x one of them): 100 * (#{v < x} + (#{v == x} - 1) / 2) / (N - 1);
  100 = strictly best, 0 = strictly worst, ties share the mid-rank.
- normalized regret R = (V_oracle - V_arm) / (V_oracle - E[V_random]): 0 = oracle, 1 = random, > 1 worse
  than random (Standley et al. 2020 compare to random groupings the same way); undefined (NaN) when the
  oracle does not beat random by more than a tolerance relative to the values' scale
  (V_oracle - E[V_random] <= max(rtol * max(|V_oracle|, |E[V_random]|, |V_arm|), atol)), where the ratio
  would be a huge number made of rounding noise.
- best-of-m random: E[test value of the val-best of m uniform draws with replacement], exactly from the
  order statistics: the unit with the i-th smallest val value (1-based) is the max with probability
  (i/N)^m - ((i-1)/N)^m (val ties broken by position).
- split-half noise ceiling: mean over balanced splits of the seeds of Spearman(mean of half A,
  mean of half B) over all units, stepped up by Spearman-Brown 2r/(1+r) when r > 0 (reported as is
  otherwise).
- Accuracy-matrix metrics (Lopez-Paz & Ranzato, NeurIPS 2017), R[i, j] = accuracy on the j-th task
  of the order after stage i (0-based, j <= i): ACC = mean_j R[n-1, j]; BWT = mean_{j<n-1}
  (R[n-1, j] - R[j, j]) (divided by n-1); FWT_ft = mean_{j>=1} (R[j, j] - scratch_j) (divided by n-1),
  the fine-tune gain over training the task alone from scratch (per-task heads make the paper's
  zero-shot FWT uninformative).
"""
from __future__ import annotations

from itertools import chain, combinations, islice, permutations
from typing import Hashable, Iterator, Sequence

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["set_partitions", "all_orders", "percentile", "normalized_regret", "best_of_m", "spearman",
           "noise_ceiling", "rowwise_spearman", "split_rest", "bootstrap_ci", "order_metrics", "REGRET_RTOL", "REGRET_ATOL"]


def set_partitions(items: Sequence[Hashable], max_blocks: int | None = None) -> Iterator[list[list[Hashable]]]:
    """Every partition of ``items`` into at most ``max_blocks`` non-empty blocks (Bell-number many),
    blocks in first-element order; a deterministic order."""
    items = list(items)
    cap = len(items) if max_blocks is None else max_blocks

    def rec(i: int, blocks: list[list[Hashable]]):
        if i == len(items):
            yield [list(b) for b in blocks]
            return
        for b in blocks:
            b.append(items[i])
            yield from rec(i + 1, blocks)
            b.pop()
        if len(blocks) < cap:
            blocks.append([items[i]])
            yield from rec(i + 1, blocks)
            blocks.pop()

    if not items:
        return iter(())
    return rec(0, [])


def all_orders(items: Sequence[Hashable]) -> list[tuple]:
    """All n! orders of ``items`` in lexicographic order of positions."""
    return list(permutations(items))


def percentile(values: np.ndarray, x: float) -> float:
    """Percentile (0-100, 100 = best) of ``x`` among ``values`` (which contain x); see module docstring."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return 100.0
    close = np.isclose(v, x, rtol=0, atol=1e-12)
    below = float(np.sum((v < x) & ~close))
    ties = max(float(np.sum(close)) - 1.0, 0.0)
    return float(100.0 * (below + ties / 2) / (v.size - 1))


#: relative and absolute tolerance of :func:`normalized_regret`'s "oracle about equal to random"
REGRET_RTOL, REGRET_ATOL = 1e-6, 1e-9


def normalized_regret(oracle: float, arm: float, random_mean: float, *, rtol: float = REGRET_RTOL,
                      atol: float = REGRET_ATOL) -> float:
    """(oracle - arm) / (oracle - random_mean): 0 = the oracle's value, 1 = random's (module docstring).

    NaN (undefined) when the oracle does not beat random by more than
    ``max(rtol * max(|oracle|, |random_mean|, |arm|), atol)``: with an oracle about equal to random the
    ratio would be rounding noise divided by rounding noise (e.g. 1e7 for a denominator of 1e-9), and an
    oracle below random (a test oracle against the val-chosen one) has no regret scale either. Callers
    report such a regret as "n/a" (:func:`transfergraph.planner.validation.decision_outputs.decision_section`).
    """
    denom = oracle - random_mean
    scale = max(abs(oracle), abs(random_mean), abs(arm))
    if not np.isfinite(denom) or denom <= max(rtol * scale, atol):
        return float("nan")
    return float((oracle - arm) / denom)


def best_of_m(val: np.ndarray, test: np.ndarray, m: int) -> float:
    """Exact expected test value of the val-best of ``m`` uniform draws (with replacement)."""
    val, test = np.asarray(val, float), np.asarray(test, float)
    if val.shape != test.shape or val.ndim != 1 or val.size == 0 or m < 1:
        raise InputError(f"best_of_m needs equal-length 1-D val/test arrays and m >= 1; got {val.shape}, {test.shape}, m={m}.")
    order = np.argsort(val, kind="stable")
    n = val.size
    i = np.arange(1, n + 1)
    p = (i / n) ** m - ((i - 1) / n) ** m
    return float(np.sum(p * test[order]))


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman r (average ranks for ties) of each row of ``a`` (m, u) with the same row of ``b``;
    NaN for a row where either side is constant or u < 3 (as :func:`spearman`)."""
    from scipy.stats import rankdata

    out = np.full(a.shape[0], np.nan)
    if a.shape[1] < 3:
        return out
    ok = (np.ptp(a, axis=1) > 0) & (np.ptp(b, axis=1) > 0)
    if not ok.any():
        return out
    ra, rb = rankdata(a[ok], axis=1), rankdata(b[ok], axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    out[ok] = (ra * rb).sum(1) / np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))
    return out


def split_rest(halves: np.ndarray, k: int) -> np.ndarray:
    """The other half of each split: (m, h) sorted index rows of h of ``k`` seeds -> (m, k - h) rows of the
    remaining seeds, ascending."""
    keep = np.ones((halves.shape[0], k), bool)
    np.put_along_axis(keep, halves, False, axis=1)
    return np.broadcast_to(np.arange(k), keep.shape)[keep].reshape(halves.shape[0], k - halves.shape[1])


def noise_ceiling(per_seed: np.ndarray, *, chunk: int = 20_000) -> float:
    """Split-half reliability of the ranking of units, (n_seeds, n_units) -> Spearman-Brown-stepped r.

    Averages over every split of the seeds into halves of size floor(n/2) and the rest (NaN for < 2 seeds),
    exactly: all C(n, floor(n/2)) splits (each unordered split once for even n), ranked and correlated ``chunk`` splits at a time (24 seeds are
    2.7 million splits; a split whose halves rank no unit apart is left out, as :func:`spearman` NaN).
    """
    per_seed = np.asarray(per_seed, float)
    k = per_seed.shape[0]
    if k < 2:
        return float("nan")
    half = k // 2
    # with even n each split appears twice (A, B) and (B, A), and Spearman is symmetric: keep the half with seed 0
    splits = (((0,) + c for c in combinations(range(1, k), half - 1)) if k % 2 == 0
              else combinations(range(k), half))
    total, n_ok = 0.0, 0
    while True:
        idx = np.fromiter(chain.from_iterable(islice(splits, chunk)), dtype=np.intp).reshape(-1, half)
        if idx.size == 0:
            break
        r = rowwise_spearman(per_seed[idx].mean(1), per_seed[split_rest(idx, k)].mean(1))
        fine = np.isfinite(r)
        total += float(r[fine].sum())
        n_ok += int(fine.sum())
    if not n_ok:
        return float("nan")
    r = total / n_ok
    return 2 * r / (1 + r) if r > 0 else r  # no step-up for a non-positive split-half correlation


def bootstrap_ci(values: Sequence[float], *, seed: int = 0, n_boot: int = 2000, level: float = 0.95):
    """(mean, low, high): percentile bootstrap CI of the mean of ``values`` (resampled with replacement)."""
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(v.size, size=(n_boot, v.size))].mean(1)
    a = (1 - level) / 2
    return float(v.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def order_metrics(R: np.ndarray, scratch: Sequence[float]) -> dict[str, float]:
    """ACC, BWT and FWT_ft of one order from its accuracy matrix R (n, n) and the tasks' scratch
    accuracies (in the order's task order); see the module docstring."""
    R = np.asarray(R, float)
    n = R.shape[0]
    if R.shape != (n, n) or len(scratch) != n or n < 1:
        raise InputError(f"R must be square (n, n) with n scratch accuracies; got {R.shape} and {len(scratch)}.")
    acc = float(R[n - 1].mean())
    if n == 1:
        return {"acc": acc, "bwt": 0.0, "fwt_ft": 0.0}
    bwt = float(np.mean([R[n - 1, j] - R[j, j] for j in range(n - 1)]))
    fwt = float(np.mean([R[j, j] - scratch[j] for j in range(1, n)]))
    return {"acc": acc, "bwt": bwt, "fwt_ft": fwt}
