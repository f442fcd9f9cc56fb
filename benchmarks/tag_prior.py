"""Does the TAG lookahead affinity of one multitask run track the measured pair gains of the grouping suites?

For each grouping suite of ``benchmarks/suites.py`` and each seed s of its ground truth, one multitask
network over all the suite's tasks (same data, trunk, budget and seed as the suite's networks: it is the
seed's all-in-one network, trained again with the measurement) measures the TAG affinity Z_s(u -> t)
(:func:`~transfergraph.planner.validation.tag_affinity.tag_affinity`; Fifty et al., NeurIPS 2021). The truth is the suite's measured pair gains g(u -> t) = L(t | {t}) - L(t | {t, u}) (test
cross-entropy; accuracy beside it), read READ-ONLY from the suite-gate cache with the read path of
``benchmarks/suite_gate.py`` (``read_tables``: only seeds whose 31 networks are all cached).

Figures per suite, over the n(n-1) = 20 ordered pairs (u, t):

- ``rho_single``: Spearman(Z_s, seed-mean g) of one TAG run (seed s), averaged over the TAG seeds, with a
  95 % percentile-bootstrap CI over the pairs (2,000 resamples of the 20 pairs); ``rho_mean``: the same
  for the seed-mean Z;
- the split-half noise of the measured gains, over every split of the cached seeds into halves A, B:
  ``r_half`` = mean Spearman(mean_A g, mean_B g) (raw) and ``reliability`` = its Spearman-Brown step-up
  (:func:`~transfergraph.planner.validation.reliability.pair_reliability`, the suite gate's figure);
  ``noise_floor`` = 95th percentile over splits and TAG seeds of |Spearman(Z_s, mean_A g - mean_B g)|:
  what a correlation with pure measurement noise reaches (the difference of two halves cancels the
  true gains);
- ``rho_tag_half``: mean over splits, halves and TAG seeds of Spearman(Z_s, mean_half g), to compare
  with ``r_half`` (does one TAG run predict half of the measurements as well as the other half does?);
- the grouping judged like the planner's (``gate_report.judge_report``): per seed, the partition into
  <= 2 groups that maximizes the summed TAG affinity a task receives from its group-mates (the exact
  solver with ``centered=False``, as for HOA), its percentile among all partitions, normalized regret and
  gain over the random partition with a bootstrap CI over seeds, on test loss and accuracy, beside HOA
  (pair gains of the other seeds), all-in-one and random.

Verdict per suite: "beats split-half noise" when the CI's lower end of ``rho_single`` exceeds
``noise_floor``; "positive, within split-half noise" when it exceeds 0 only; "within noise (CI includes
0)" otherwise; prefixed by "not gated" when the suite fails the reliability gate on its cached seeds (no
verdict there counts); ``as good as a half-replicate`` is stated separately (rho_tag_half >= r_half).

Usage (one process, niced; TAG runs cached under ``OUT/cache``, so a rerun only computes the figures)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/tag_prior.py --suites fm_shared5b,fm_views5

Writes ``OUT/tag_prior.md`` (the table), ``OUT/tag_prior.csv`` (one row per suite), ``OUT/pairs.csv``
(seed-mean Z and g per ordered pair), ``OUT/affinities.csv`` (Z per TAG seed) and ``OUT/grouping.csv``
(the judged grouping arms).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite_gate import CACHE, read_tables  # noqa: E402
from suites import GROUPING_SUITES, build_suite, suite_trunk  # noqa: E402

OUT = Path("runs/tag_prior")
N_BOOT = 2000


def tag_run(name: str, data, seed: int, every: int, cache: Path) -> dict:
    """The TAG affinities of one seed (computed once, then read from ``cache``)."""
    from transfergraph.planner.common.io import atomic_write_text
    from transfergraph.planner.validation._common import seeded_torch
    from transfergraph.planner.validation._training_core import arrays_key
    from transfergraph.planner.validation.tag_affinity import tag_affinity

    s = GROUPING_SUITES[name]
    with seeded_torch(0):
        described = repr(suite_trunk(s)())
    path = cache / name / f"{arrays_key(data, s.budget, described, seed, 'tag', every)}.json"
    if path.is_file():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    got = tag_affinity(data, seed=seed, budget=s.budget, trunk=suite_trunk(s), every=every)
    out = {"suite": name, "seed": seed, "every": every, "tasks": list(got.tasks), "affinity": got.affinity.tolist(),
           "steps": got.steps, "lookahead_lr": got.lookahead_lr, "cpu_seconds": got.cpu_seconds,
           "wall_seconds": time.perf_counter() - t0, "rows": list(got.rows)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(out))
    print(f"{name} seed {seed}: TAG run {got.cpu_seconds:.1f} CPU-s", flush=True)
    return out


def _pairs_vector(run: dict, pairs) -> np.ndarray:
    idx = {t: i for i, t in enumerate(run["tasks"])}
    A = np.asarray(run["affinity"])
    return np.array([A[idx[u], idx[t]] for u, t in pairs])


#: most seed splits enumerated; beyond, this many drawn uniformly with a fixed seed (24 seeds: 2.7 million)
MAX_SPLITS = 50_000


def _splits(k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) index arrays (m, k // 2) and (m, k - k // 2): every split of k seeds into halves in
    ``combinations`` order when there are at most :data:`MAX_SPLITS`, else that many drawn uniformly."""
    from math import comb

    from transfergraph.planner.validation.decision_stats import split_rest

    h = k // 2
    if comb(k, h) <= MAX_SPLITS:
        A = np.array(list(combinations(range(k), h)), dtype=np.intp).reshape(-1, h)
    else:
        rng = np.random.default_rng(seed)
        A = np.sort(np.argsort(rng.random((MAX_SPLITS, k)), axis=1)[:, :h], axis=1)
    return A, split_rest(A, k)


def compare(Z: np.ndarray, gains: np.ndarray, *, seed: int = 0, n_boot: int = N_BOOT) -> dict:
    """Figures of TAG (Z: (tag seeds, pairs)) against measured gains ((gate seeds, pairs)); see the module doc.

    The split-half figures run over every split of the gate seeds into halves (a seeded sample of
    :data:`MAX_SPLITS` beyond that count), each split's Spearman correlations computed row-wise."""
    from transfergraph.planner.validation.decision_stats import noise_ceiling, rowwise_spearman, spearman

    truth = gains.mean(0)
    single = np.array([spearman(z, truth) for z in Z])
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        b = rng.integers(0, Z.shape[1], Z.shape[1])
        boots.append(np.nanmean([spearman(z[b], truth[b]) for z in Z]))
    boots = np.asarray(boots)
    boots = boots[np.isfinite(boots)]
    if gains.shape[0] < 2:
        raise ValueError(f"compare needs gains of >= 2 seeds (split halves); got {gains.shape[0]}.")
    A, B = _splits(gains.shape[0], seed)
    ma, mb = gains[A].mean(1), gains[B].mean(1)
    r_half = rowwise_spearman(ma, mb)
    tag_half, null = [], []
    for z in Z:
        zz = np.broadcast_to(z, ma.shape)
        tag_half += [rowwise_spearman(zz, ma), rowwise_spearman(zz, mb)]
        null.append(np.abs(rowwise_spearman(zz, ma - mb)))
    # TAG-seed-major order (the split-by-split loop was split-major): the mean and the quantile do not depend on it
    return {"rho_single": float(np.nanmean(single)), "rho_single_low": float(np.quantile(boots, 0.025)),
            "rho_single_high": float(np.quantile(boots, 0.975)), "rho_single_min": float(np.nanmin(single)),
            "rho_single_max": float(np.nanmax(single)), "rho_mean": spearman(Z.mean(0), truth),
            "r_half": float(np.nanmean(r_half)), "reliability": noise_ceiling(gains),
            "noise_floor": float(np.nanquantile(np.concatenate(null), 0.95)),
            "rho_tag_half": float(np.nanmean(np.concatenate(tag_half))),
            "tag_reliability": noise_ceiling(Z) if len(Z) > 1 else float("nan")}


def tag_planner(runs: list[dict], tasks, k: int) -> dict:
    """{seed: (groups, A)}: each TAG run's partition into <= k groups and its affinity matrix (uncentred)."""
    import networkx as nx

    from transfergraph.planner.decisions import affinity_matrix, solve_grouping

    out = {}
    for r in runs:
        idx = {t: i for i, t in enumerate(r["tasks"])}
        Z = np.asarray(r["affinity"])
        g = nx.DiGraph()
        g.add_nodes_from(tasks, kind="task")
        g.add_edges_from((u, t, {"weight": float(Z[idx[u], idx[t]])}) for u in tasks for t in tasks if u != t)
        out[int(r["seed"])] = (solve_grouping(g, n_groups=k, centered=False).solution,
                               affinity_matrix(g, tasks, centered=False))
    return out


def judge_grouping(subsets: pd.DataFrame, runs: list[dict], k: int = 2) -> pd.DataFrame:
    """Summary rows (``decision_outputs.summarize``) of the TAG arm beside HOA, all-in-one and random."""
    from transfergraph.planner.validation.decision_outputs import summarize
    from transfergraph.planner.validation.grouping_eval import grouping_rows
    from transfergraph.planner.validation.reliability import loss_view, partition_ceiling

    tasks = sorted(subsets["task"].unique())
    planners = {"tag": tag_planner(runs, tasks, k)}
    out = []
    for measure, view in (("loss", loss_view), ("acc", lambda t: t)):
        dec = f"grouping_k{k}_{measure}"
        rows, corr = grouping_rows(view(subsets), k=k, planners=planners, decision=dec)
        out.append(summarize(rows, corr, {dec: partition_ceiling(subsets, k, measure)}))
    return pd.concat(out, ignore_index=True)


def suite_figures(name: str, gate_seeds, every: int, cache: Path, out: Path):
    """(summary row, per-pair frame, per-seed affinity frame, grouping frame) of one suite, or None if
    fewer than 2 seeds are cached."""
    from transfergraph.planner.validation.reliability import gate, pair_gain_matrix, pair_reliability, partition_ceiling

    data, subsets, _orders, _singles, done = read_tables(name, gate_seeds, cache)
    if len(done) < 2:
        print(f"{name}: {len(done)} seeds cached in {cache}: not compared", flush=True)
        return None
    runs = [tag_run(name, data, s, every, out / "cache") for s in done]
    gains, pairs = pair_gain_matrix(subsets, "loss")
    gains_acc, pairs_acc = pair_gain_matrix(subsets, "acc")
    assert pairs_acc == pairs
    Z = np.array([_pairs_vector(r, pairs) for r in runs])
    fig = compare(Z, gains)
    fig_acc = compare(Z, gains_acc)
    g = gate(pair_reliability(subsets, "loss"), partition_ceiling(subsets, 2, "loss"))
    net_cpu = subsets.groupby(["seed", "subset"])["cpu_seconds"].first().reset_index()
    net_cpu["size"] = net_cpu["subset"].str.count(r"\+") + 1
    hoa_cpu = net_cpu[net_cpu["size"] <= 2].groupby("seed")["cpu_seconds"].sum().mean()
    all_cpu = net_cpu[net_cpu["size"] == net_cpu["size"].max()]["cpu_seconds"].mean()
    tag_cpu = float(np.mean([r["cpu_seconds"] for r in runs]))
    above = fig["rho_single_low"] > fig["noise_floor"]
    verdict = "beats split-half noise" if above else \
        ("positive, within split-half noise" if fig["rho_single_low"] > 0 else "within noise (CI includes 0)")
    if not g.passes:
        verdict = "not gated (" + "; ".join(g.reasons) + "): " + verdict
    row = {"suite": name, "seeds": len(done), "gated": g.passes, **fig,
           "rho_single_acc": fig_acc["rho_single"], "rho_single_acc_low": fig_acc["rho_single_low"],
           "rho_single_acc_high": fig_acc["rho_single_high"], "reliability_acc": fig_acc["reliability"],
           "tag_cpu_s": tag_cpu, "all_in_one_cpu_s": float(all_cpu), "hoa_cpu_s": float(hoa_cpu),
           "above_noise": bool(above), "half_replicate": bool(fig["rho_tag_half"] >= fig["r_half"]), "verdict": verdict}
    pair_frame = pd.DataFrame({"suite": name, "source": [u for u, _ in pairs], "target": [t for _, t in pairs],
                               "tag_mean": Z.mean(0), "gain_loss": gains.mean(0), "gain_acc": gains_acc.mean(0)})
    aff = pd.DataFrame([{"suite": name, "seed": r["seed"], "source": u, "target": t, "affinity": v}
                        for r in runs for (u, t), v in zip(pairs, _pairs_vector(r, pairs))])
    grouping = judge_grouping(subsets, runs)
    grouping.insert(0, "suite", name)
    return row, pair_frame, aff, grouping


def markdown(rows: list[dict]) -> str:
    """The summary table."""
    lines = ["| suite | seeds (ground truth = TAG runs) | Spearman TAG vs pair gains (loss), one run [95 % CI] | seed-mean TAG | "
             "split-half r (raw) / reliability | noise floor | TAG vs half / half vs half | TAG seed reliability | "
             "Spearman (acc) [CI] | CPU-s: TAG run / all-in-one / HOA (15 nets) | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['suite']} | {r['seeds']} | {r['rho_single']:+.2f} [{r['rho_single_low']:+.2f}, "
            f"{r['rho_single_high']:+.2f}] (runs {r['rho_single_min']:+.2f}..{r['rho_single_max']:+.2f}) | {r['rho_mean']:+.2f} | "
            f"{r['r_half']:+.2f} / {r['reliability']:+.2f} | {r['noise_floor']:.2f} | {r['rho_tag_half']:+.2f} / {r['r_half']:+.2f} | "
            f"{r['tag_reliability']:+.2f} | {r['rho_single_acc']:+.2f} [{r['rho_single_acc_low']:+.2f}, "
            f"{r['rho_single_acc_high']:+.2f}] | {r['tag_cpu_s']:.1f} / {r['all_in_one_cpu_s']:.1f} / {r['hoa_cpu_s']:.1f} | "
            f"{r['verdict']}{'; as good as a half-replicate' if r['half_replicate'] else ''} |")
    return "\n".join(lines)


def grouping_markdown(table: pd.DataFrame) -> str:
    """The judged grouping arms (k = 2), as in ``gate_report.judge_report``."""
    keep = table[table.arm.isin(["tag", "hoa", "all_in_one", "random", "best_of_3"])]
    lines = ["| suite | decision | arm | seeds | percentile (own seed) | percentile (seed-mean truth) | regret | "
             "gain over random [CI] | Spearman objective vs realized [CI] | noise ceiling | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in keep.iterrows():
        lines.append(f"| {r.suite} | {r.decision} | {r.arm} | {r.n_seeds} | {r.percentile:.0f} | "
                     f"{r.percentile_seed_mean_truth:.0f} | {r.regret:.2f} | {r.gain:+.4f} [{r.gain_low:+.4f}, "
                     f"{r.gain_high:+.4f}] | {r.spearman:+.2f} [{r.spearman_low:+.2f}, {r.spearman_high:+.2f}] | "
                     f"{r.noise_ceiling:.2f} | {r.verdict} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", default=",".join(GROUPING_SUITES), help="Comma-separated grouping suites.")
    ap.add_argument("--gate-seeds", type=int, default=20,
                    help="Ground-truth seeds 0..N-1 to read (those fully cached); one TAG run per seed read.")
    ap.add_argument("--every", type=int, default=1, help="Measure the lookahead affinity every k-th step.")
    ap.add_argument("--cache", type=Path, default=CACHE, help="The suite-gate cache (read only).")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    names = args.suites.split(",")
    unknown = [n for n in names if n not in GROUPING_SUITES]
    if unknown:
        ap.error(f"--suites: {unknown} are not grouping suites; known: {sorted(GROUPING_SUITES)}")
    for opt in ("gate_seeds", "every"):
        if getattr(args, opt) < 1:
            ap.error(f"--{opt.replace('_', '-')} must be >= 1; got {getattr(args, opt)}")
    t0 = time.process_time()
    parts = []
    for name in names:
        got = suite_figures(name, range(args.gate_seeds), args.every, args.cache, args.out)
        if got is not None:
            parts.append(got)
    if not parts:
        print("no suite has >= 2 cached seeds: nothing compared")
        return 1
    rows, pairs, affs, groupings = zip(*parts)
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out / "tag_prior.csv", index=False)
    pd.concat(pairs).to_csv(args.out / "pairs.csv", index=False)
    pd.concat(affs).to_csv(args.out / "affinities.csv", index=False)
    grouping = pd.concat(groupings, ignore_index=True)
    grouping.to_csv(args.out / "grouping.csv", index=False)
    text = (markdown(list(rows)) + "\n\nGrouping judged with the TAG partition (k = 2; `_loss`: gain = reduction of mean "
            "test loss):\n\n" + grouping_markdown(grouping)
            + f"\n\nProcess CPU of this invocation: {time.process_time() - t0:.0f} s (cached TAG runs are read, not rerun).\n")
    (args.out / "tag_prior.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
