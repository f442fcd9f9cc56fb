"""Which multitask networks measure the co-training affinities: every pair, or random subsets past ~10 tasks.

Two designs, both always including the n single-task networks (the "alone" baseline of every task):

- ``"pairs"`` (n <= ``sample_above``): every unordered pair {t, u}, n(n-1)/2 networks -- the inputs of
  the higher-order approximation of Standley et al., "Which tasks should be learned together in
  multi-task learning?", ICML 2020 (15 networks for n = 5, 55 for n = 10, besides the singles).
- ``"subsets"`` (n > ``sample_above``): ``m`` random subsets (default m = 3n, within the 2n-4n of
  Li et al., "Boosting multitask learning on graphs through higher-order task affinities", KDD 2023),
  each of a size drawn uniformly from ``subset_sizes`` (default 3..5, capped at n - 1); the affinity of u
  for t is then averaged over the sampled subsets that hold both (:mod:`.cotrain`). Cost grows
  linearly in n instead of quadratically; a pair that no subset holds stays unmeasured (gain 0 for the
  grouping solver, and reported as missing).

The subsets depend only on the task names, ``m``, the sizes and ``sample_seed`` (via
:func:`~transfergraph.planner.common.seeds.derive_seed`), never on the training seed: every seed trains
the same networks, so the seeds are replicates of one design.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import ClassVar, Sequence

import numpy as np

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.common.wording import count
from transfergraph.planner.validation._training_core import TrainBudget
from transfergraph.planner.validation.multitask import subset_name

__all__ = ["NetworkJob", "Design", "design_networks", "SAMPLE_ABOVE"]

#: largest task count for which every pair is trained (beyond: random subsets)
SAMPLE_ABOVE = 10


@dataclass(frozen=True)
class NetworkJob:
    """One multitask network to train: the tasks ``members`` (sorted) under training seed ``seed``.

    An executor job (:mod:`transfergraph.planner.executors`): it reads the shared ``"data"`` (packed task
    arrays) and ``"trunk"`` (the trunk factory) and returns the members' rows.
    """

    seed: int
    members: tuple[str, ...]
    budget: TrainBudget
    shared_keys: ClassVar[tuple[str, ...]] = ("data", "trunk")

    @property
    def subset(self) -> str:
        """The network's canonical name (sorted members joined by '+')."""
        return subset_name(self.members)

    @property
    def key(self) -> str:
        """Unique name of the network in a run: ``s<seed>/<subset>``."""
        return f"s{self.seed}/{self.subset}"


@dataclass(frozen=True)
class Design:
    """The networks of one measurement: ``kind`` ("pairs" or "subsets"), the groups trained per seed
    (singletons first, then by size and name) and, for subsets, how many sampled groups hold each pair."""

    kind: str
    groups: tuple[tuple[str, ...], ...]
    seeds: tuple[int, ...]
    pair_coverage: dict

    def jobs(self, budget: TrainBudget) -> list[NetworkJob]:
        """Every (seed, group) network, seed-major."""
        return [NetworkJob(int(s), g, budget) for s in self.seeds for g in self.groups]

    def describe(self) -> str:
        """One sentence for logs, reports and plan.json."""
        n = sum(len(g) == 1 for g in self.groups)
        multi = len(self.groups) - n
        total = count(len(self.groups) * len(self.seeds), "network")
        per_seed = f"{count(n, 'single-task network')} and {multi}"
        if self.kind == "pairs":
            return (f"every pair measured: {per_seed} pair network{'' if multi == 1 else 's'} per seed, "
                    f"{count(len(self.seeds), 'seed')} ({total})")
        missing = sum(1 for c in self.pair_coverage.values() if c == 0)
        return (f"random subsets (more than {SAMPLE_ABOVE} tasks; the averaging estimator of Li et al., KDD 2023): "
                f"{per_seed} random group{'' if multi == 1 else 's'} of 3-5 tasks per seed, "
                f"{count(len(self.seeds), 'seed')} ({total}); {len(self.pair_coverage) - missing} of "
                f"{len(self.pair_coverage)} pairs share at least one group"
                + (f", {missing} pairs unmeasured (gain 0)" if missing else ""))


def design_networks(names: Sequence[str], *, seeds: Sequence[int], sample_above: int = SAMPLE_ABOVE,
                    n_subsets: int | None = None, subset_sizes: tuple[int, int] = (3, 5),
                    sample_seed: int = 0) -> Design:
    """The networks that measure the pair affinities of ``names`` (see the module doc).

    Parameters
    ----------
    names : distinct task names (n >= 2)
    seeds : training seeds (each trains every network; >= 1 seed)
    sample_above : above this many tasks, sample random subsets instead of every pair
    n_subsets : number of random subsets (default 3n)
    subset_sizes : (smallest, largest) subset size, capped at n - 1
    sample_seed : seed of the subset draw

    Raises
    ------
    InputError
        Fewer than 2 tasks, duplicate names, no seed, or sizes outside 2 <= lo <= hi.
    """
    names = [str(n) for n in names]
    if len(names) < 2 or len(set(names)) != len(names):
        raise InputError(f"the co-training measurement needs at least 2 distinct tasks; got {names}.")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise InputError("seeds of design_networks must hold at least one seed; got none.")
    sample_above = check_scalar(sample_above, "sample_above", int, caller="design_networks", min_val=2)
    lo, hi = subset_sizes
    if not 2 <= lo <= hi:
        raise InputError(f"subset_sizes of design_networks must satisfy 2 <= smallest <= largest; got {subset_sizes!r}.")
    names = sorted(names)
    n = len(names)
    singles: list[tuple[str, ...]] = [(t,) for t in names]
    pairs: list[tuple[str, ...]] = list(combinations(names, 2))
    if n <= sample_above:
        return Design("pairs", tuple(singles + pairs), seeds, {p: 1 for p in pairs})
    m = 3 * n if n_subsets is None else check_scalar(n_subsets, "n_subsets", int, caller="design_networks", min_val=1)
    rng = np.random.default_rng(derive_seed(sample_seed, "cotrain-subsets", n, m, lo, hi))
    drawn: set[tuple[str, ...]] = set()
    tries = 0
    while len(drawn) < m and tries < 100 * m:
        tries += 1
        size = int(rng.integers(min(lo, n - 1), min(hi, n - 1) + 1))
        drawn.add(tuple(sorted(names[i] for i in rng.choice(n, size, replace=False))))
    groups = sorted(drawn, key=lambda g: (len(g), g))
    coverage = {p: sum(1 for g in groups if p[0] in g and p[1] in g) for p in pairs}
    return Design("subsets", tuple(singles + groups), seeds, coverage)
