"""Gate the round-2 ground-truth suites (``benchmarks/suites.py``) before judging any decision on them.

Parts (every trained network is cached under ``--cache``, so each part resumes where it stopped):

- ``tables``: for each seed (outer loop, so an interrupted run leaves every suite with the same seeds),
  every subset of a grouping suite (:func:`~transfergraph.planner.validation.multitask.subset_table`) or
  the singleton networks and every order of a curriculum suite
  (:func:`~transfergraph.planner.validation.continual.orders_table`, naive learner).
- ``gate``: the reliability gate on the cached seeds (:mod:`transfergraph.planner.validation.reliability`):
  split-half (Spearman-Brown) reliability of the pair effects (grouping: test-loss gain of a task from
  one partner; curricula: test-loss change of the first task of every two-task order) >= 0.8 and the
  partition (k = 2) / order (final mean test loss) noise ceiling >= 0.5; accuracy figures beside them.
- ``pooled``: each curriculum arm's percentile averaged over the listed suites (the random class-split
  suites ``fm_rand0..9``) with a bootstrap CI over suites.
- ``judge``: for curriculum suites that pass, every curriculum objective of the planner (LEEP graph of
  each seed's singleton networks) against random orders and the val-chosen oracle, on test loss (primary)
  and accuracy.

Usage (resumable; run the tables side by side, one process per core: different suites, or disjoint seed
ranges of one suite with ``--first-seed``; seed s gives the same numbers whichever process trains it)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/suite_gate.py --suites fm_shared5 --seeds 3 --part tables &
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/suite_gate.py --suites fm_shared5 --first-seed 3 --seeds 3 --part tables &
    .venv/bin/python benchmarks/suite_gate.py --suites fm_shared5,fm_shared4c --seeds 6 --part gate
    .venv/bin/python benchmarks/suite_gate.py --suites fm_shared4c --seeds 6 --part judge

``--part gate`` / ``judge`` use only the seeds of ``range(first_seed, first_seed + seeds)`` whose networks
are all cached, and write ``OUT/gate.md`` / ``OUT/judge.md``; ``tables`` appends one line per (suite,
seed) to ``OUT/timings.jsonl`` (wall and CPU seconds).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suites import all_suites, build_suite, suite_trunk  # noqa: E402

CACHE = Path("runs/suite_gate/cache")
OUT = Path("runs/suite_gate")


def _log_time(out: Path, suite: str, part: str, seed: int, wall: float, cpu: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "timings.jsonl", "a") as fh:
        fh.write(json.dumps({"suite": suite, "part": part, "seed": seed, "wall_s": round(wall, 1),
                             "cpu_s": round(cpu, 1), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")


def fill_tables(names, seeds, cache: Path, out: Path) -> None:
    """Train (or read back) every network of each suite for each seed; one timing line per (suite, seed)."""
    from transfergraph.planner.validation.continual import orders_table
    from transfergraph.planner.validation.multitask import subset_table

    suites = all_suites()
    built = {n: build_suite(suites[n]) for n in names}
    for seed in seeds:
        for name in names:
            s, data = suites[name], built[name]
            t0, c0 = time.perf_counter(), time.process_time()
            if s.kind == "grouping":
                subset_table(data, seed=seed, budget=s.budget, trunk=suite_trunk(s), cache=cache / name / "subsets")
            else:
                subset_table(data, seed=seed, budget=s.budget, trunk=suite_trunk(s), cache=cache / name / "subsets",
                             max_size=1)
                orders_table(data, seed=seed, budget=s.budget, trunk=suite_trunk(s), cache=cache / name / "orders")
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            _log_time(out, name, "tables", seed, wall, cpu)
            print(f"{name} seed {seed}: {wall:.0f} s wall, {cpu:.0f} s cpu", flush=True)


def read_tables(name: str, seeds, cache: Path):
    """(subsets, orders or None, singles per seed) of a suite from the cache, for the seeds fully cached.

    Reads back with the same calls as :func:`fill_tables`; a seed whose networks are not all cached is
    skipped (never trained here: ``max_size=0`` is not allowed, so the check is on the files)."""
    from transfergraph.planner.validation.continual import orders_table
    from transfergraph.planner.validation.multitask import subset_table

    s = all_suites()[name]
    data = build_suite(s)
    subsets, orders, singles, done = [], [], {}, []
    for seed in seeds:
        if not _cached(s, data, seed, cache):
            continue
        tab, single = subset_table(data, seed=seed, budget=s.budget, trunk=suite_trunk(s), cache=cache / name / "subsets",
                                   max_size=None if s.kind == "grouping" else 1)
        subsets.append(tab)
        singles[seed] = single
        if s.kind == "curriculum":
            orders.append(orders_table(data, seed=seed, budget=s.budget, trunk=suite_trunk(s), cache=cache / name / "orders"))
        done.append(seed)
    if not done:
        return data, None, None, {}, []
    return (data, pd.concat(subsets, ignore_index=True), pd.concat(orders, ignore_index=True) if orders else None,
            singles, done)


def _cached(s, data, seed: int, cache: Path) -> bool:
    from itertools import combinations

    from transfergraph.planner.validation._common import seeded_torch
    from transfergraph.planner.validation._training_core import arrays_key
    from transfergraph.planner.validation.multitask import subset_name

    with seeded_torch(0):
        described = repr(suite_trunk(s)())
    names = sorted(t.name for t in data)
    folder = cache / s.name / "subsets" / arrays_key(data, s.budget, described, seed)
    top = len(names) if s.kind == "grouping" else 1
    need = [folder / f"{subset_name(m)}.json" for k in range(1, top + 1) for m in combinations(names, k)]
    if s.kind == "curriculum":
        ofolder = cache / s.name / "orders" / arrays_key(data, s.budget, described, seed, "naive")
        need += [ofolder / f"{t.name}.csv" for t in data]
    return all(p.is_file() for p in need)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", required=True, help="Comma-separated suite names (benchmarks/suites.py).")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--part", choices=["tables", "gate", "judge", "pooled"], default="gate")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    names = args.suites.split(",")
    known = all_suites()
    unknown = [n for n in names if n not in known]
    if unknown:
        ap.error(f"--suites: {unknown} are not suites; known: {sorted(known)}")
    if args.seeds < 1:
        ap.error(f"--seeds must be >= 1; got {args.seeds}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if args.part == "tables":
        fill_tables(names, seeds, args.cache, args.out)
        return 0
    from gate_report import gate_report, judge_report, pooled_report  # noqa: E402

    report = {"gate": gate_report, "judge": judge_report, "pooled": pooled_report}[args.part]
    text = report(names, seeds, args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.part}.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
