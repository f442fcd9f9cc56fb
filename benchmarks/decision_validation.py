"""Are the planner's groupings and curricula good decisions in real training? (decision-validation protocol)

Tiers:

- ``T0``: n = 3 digits tasks at 8x8, width 8, S = 20 steps, 1 seed (the test suite runs the same tier).
- ``T1``: two digits suites (``D6s``: 16x16, 30 training images per class; ``B6``: 8x8, other class
  subsets and shifts, 30 per class) and a Fashion-MNIST suite (``F6s``: 28x28, 50 training images per
  class out of 200 per class, IDX files from the Debian package ``dataset-fashion-mnist``); grouping over all 31 subsets of the first five tasks (S = 100) and
  curricula over all 24 orders of the first four (S = 60), ``--seeds`` seeds (default 5). The
  protocol's n = 6 grouping / n = 5 curricula cost 2.4x / 5x more than two shared cores allowed.

Every trained network is cached under ``--cache`` (one file per subset / first-task subtree), so an
interrupted run resumes; ``--part tables-grouping`` / ``tables-curriculum`` only fill the caches
(run them side by side, one per core), ``--part analyse`` reads them and prints the markdown report
(also written to ``--out``/decision_validation.md with the CSVs).

Usage::

    nice -n 10 .venv/bin/python benchmarks/decision_validation.py --tier T1 --part tables-grouping &
    nice -n 10 .venv/bin/python benchmarks/decision_validation.py --tier T1 --part tables-curriculum &
    .venv/bin/python benchmarks/decision_validation.py --tier T1 --part analyse
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from transfergraph.adapters.models import SmallCNN
from transfergraph.jobs.suite import build_tasks
from transfergraph.config import parse_config
from transfergraph.planner.validation._training_core import TrainBudget, prepare_tasks

D6 = [
    {"name": "d0to4", "classes": [0, 1, 2, 3, 4]},
    {"name": "d5to9", "classes": [5, 6, 7, 8, 9]},
    {"name": "rot45_0to4", "classes": [0, 1, 2, 3, 4], "shift": {"rotate": 45}},
    {"name": "inv_5to9", "classes": [5, 6, 7, 8, 9], "shift": {"invert": True}},
    {"name": "blur_all", "shift": {"blur": 1.2}},
    {"name": "noise_even", "classes": [0, 2, 4, 6, 8], "shift": {"noise": 0.3}},
]
B6 = [
    {"name": "even", "classes": [0, 2, 4, 6, 8]},
    {"name": "odd_rot90", "classes": [1, 3, 5, 7, 9], "shift": {"rotate": 90}},
    {"name": "small_all", "shift": {"scale": 0.6}},
    {"name": "inv_0to4", "classes": [0, 1, 2, 3, 4], "shift": {"invert": True}},
    {"name": "noise_5to9", "classes": [5, 6, 7, 8, 9], "shift": {"noise": 0.3}},
    {"name": "d3to7_blur", "classes": [3, 4, 5, 6, 7], "shift": {"blur": 1.0}},
]
F6 = [
    {"name": "tops", "classes": [0, 2, 4, 6]},
    {"name": "footwear", "classes": [5, 7, 9]},
    {"name": "mixed_a", "classes": [0, 1, 5, 8]},
    {"name": "mixed_b", "classes": [2, 3, 7, 9]},
    {"name": "all_rot90", "shift": {"rotate": 90}},
    {"name": "all_inverted", "shift": {"invert": True}},
]
FASHION_ROOT = "/usr/share/datasets/fashion-mnist"
T0 = [
    {"name": "a0to4", "classes": [0, 1, 2, 3, 4]},
    {"name": "b5to9", "classes": [5, 6, 7, 8, 9]},
    {"name": "c_inv", "classes": [0, 1, 2, 3, 4], "shift": {"invert": True}},
]

TIERS = {
    "T0": {"suites": {"T0": (T0, 8)}, "width": 8, "per_class": 20,
           "grouping": TrainBudget(steps=20, n_evals=2), "curriculum": TrainBudget(steps=20, n_evals=2),
           "n_group": 3, "n_curr": 3},
    "T1": {"suites": {"D6s": (D6, 16), "B6": (B6, 8), "F6s": (F6, 28)}, "width": 32, "per_class": 30,
           "grouping": TrainBudget(steps=100, n_evals=4), "curriculum": TrainBudget(steps=60, n_evals=3),
           "n_group": 5, "n_curr": 4},
}


def suite_data(tier: str, suite: str):
    """(TaskArrays list, trunk factory) of a suite: tasks built by the project's adapters (split seed 0)."""
    spec, size = TIERS[tier]["suites"][suite]
    fashion = spec is F6
    # 200 images per class: 50 train, the rest val/test (evaluation at 28x28 dominates the cost otherwise)
    source = {"dataset": "fashion_mnist", "root": FASHION_ROOT, "max_per_class": 200} if fashion else {"dataset": "digits"}
    cfg = parse_config({"name": suite, "seed": 0, "data": {**source, "image_size": size}, "tasks": spec})
    tasks = build_tasks(cfg)
    data = prepare_tasks(tasks, train_per_class=50 if fashion else TIERS[tier]["per_class"])
    width = TIERS[tier]["width"]

    def trunk():
        return SmallCNN(2, 1, width, 64).features

    return data, trunk


def fill_grouping(tier: str, seeds, cache: Path, names=None) -> None:
    from transfergraph.planner.validation.multitask import subset_table

    suites = {suite: suite_data(tier, suite) for suite in names or TIERS[tier]["suites"]}
    for seed in seeds:  # seeds outer: an interrupted run leaves every suite with the same seeds
        for suite, (data, trunk) in suites.items():
            t0 = time.perf_counter()
            subset_table(data[:TIERS[tier]["n_group"]], seed=seed, budget=TIERS[tier]["grouping"], trunk=trunk, cache=cache / "grouping" / suite)
            print(f"grouping {suite} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)


def fill_curriculum(tier: str, seeds, cache: Path, learners=("naive", "replay"), names=None) -> None:
    from transfergraph.planner.validation.continual import orders_table

    n = TIERS[tier]["n_curr"]
    suites = {suite: suite_data(tier, suite) for suite in names or TIERS[tier]["suites"]}
    for learner in learners:
        for seed in seeds:
            for suite, (data, trunk) in suites.items():
                t0 = time.perf_counter()
                orders_table(data[:n], seed=seed, budget=TIERS[tier]["curriculum"], trunk=trunk,
                             replay=learner == "replay", cache=cache / "curriculum" / suite)
                print(f"curriculum {learner} {suite} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)


def analyse(tier: str, seeds, cache: Path, out: Path, learners=("naive",), curriculum_seeds=None, names=None) -> str:
    """Judge every arm on the cached tables of each suite; writes OUT/<suite>/ and returns markdown."""
    from transfergraph.planner.validation.decision_outputs import decision_section, write_decision_outputs
    from transfergraph.planner.validation.decision_run import validate_decisions

    c_seeds = list(seeds) if curriculum_seeds is None else list(curriculum_seeds)
    parts = [f"Tier {tier}, grouping seeds {list(seeds)}, curriculum seeds {c_seeds}, learners {list(learners)}.", ""]
    for suite in names or TIERS[tier]["suites"]:
        data, trunk = suite_data(tier, suite)
        res = validate_decisions(
            data, seeds=seeds, trunk=trunk, grouping_budget=TIERS[tier]["grouping"],
            curriculum_budget=TIERS[tier]["curriculum"], k_values=(2, 3), n_group=TIERS[tier]["n_group"],
            n_curr=TIERS[tier]["n_curr"], learners=learners, curriculum_seeds=c_seeds,
            cache={"grouping": cache / "grouping" / suite, "curriculum": cache / "curriculum" / suite})
        summary, figures = write_decision_outputs(res, out / suite)
        singles = res.subsets[res.subsets.subset == res.subsets.task].groupby("task")["test_acc"].agg(["mean", "min"])
        parts += [f"### Suite {suite}", "",
                  "Singleton test accuracy (mean over seeds / worst seed): "
                  + ", ".join(f"{t} {r['mean']:.2f}/{r['min']:.2f}" for t, r in singles.iterrows()), "",
                  decision_section(summary, figures, res.pairs).replace("## Validation: decisions", "").strip(), ""]
    return "\n".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", choices=sorted(TIERS), default="T1")
    ap.add_argument("--part", choices=["tables-grouping", "tables-curriculum", "analyse", "all"], default="all")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--learners", default="naive,replay")
    ap.add_argument("--curriculum-seeds", type=int, default=None, help="Curriculum seeds for analyse (default --seeds).")
    ap.add_argument("--suites", default=None, help="Comma-separated suites of the tier (default: all).")
    ap.add_argument("--cache", type=Path, default=Path("runs/decision_validation/cache"))
    ap.add_argument("--out", type=Path, default=Path("runs/decision_validation"))
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds))
    names = None if args.suites is None else args.suites.split(",")
    unknown = sorted(set(names or ()) - set(TIERS[args.tier]["suites"]))
    if unknown:
        ap.error(f"--suites: {unknown} are not suites of tier {args.tier}; known: {sorted(TIERS[args.tier]['suites'])}")
    if args.part in ("tables-grouping", "all"):
        fill_grouping(args.tier, seeds, args.cache, names)
    if args.part in ("tables-curriculum", "all"):
        fill_curriculum(args.tier, seeds, args.cache, tuple(args.learners.split(",")), names)
    if args.part in ("analyse", "all"):
        c_seeds = None if args.curriculum_seeds is None else list(range(args.curriculum_seeds))
        text = analyse(args.tier, seeds, args.cache, args.out, tuple(args.learners.split(",")), c_seeds, names)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "decision_validation.md").write_text(text + "\n")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
