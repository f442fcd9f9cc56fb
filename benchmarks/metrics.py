"""Benchmark ``transfergraph.planner.metrics`` against straightforward NumPy implementations (``_plain_metrics.py``).

Usage::

    .venv/bin/python benchmarks/metrics.py            # n=50,000, |Z|=1000, |Y|=100, d=512
    .venv/bin/python benchmarks/metrics.py --quick    # n=5,000, |Z|=200, |Y|=20, d=64
    .venv/bin/python benchmarks/metrics.py --repeats 5 --torch --threads 0 --out table.md

``--threads`` (default 1) caps the BLAS threads of both implementations: on the shared 2-core
development machine a contended OpenBLAS pool made a 512 x 512 ``eigh`` 8x and ``F^T F`` 3x slower
than one thread (measured), which swamped every comparison.

For each metric: median wall time of ``--repeats`` runs of ours and of the plain version (run
alternately, one of each per round, in the same process, on the same float64 inputs, fixed seed), their ratio, the relative
difference of the values, and the peak memory of one call of ours (``tracemalloc``, which tracks
NumPy's allocations) divided by the size of the input arrays. The log-probability row gives the plain version
``np.exp(log_probs)`` too (the same input). LogME is compared under tllib's
stopping rule (``reference="tllib"``, the rule the plain loop implements); the default
(converged, ``method="profile"``) is timed as well. N-LEEP has no plain baseline (it is scikit-learn
PCA + GaussianMixture) and is timed on a smaller problem.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _plain_metrics import (  # noqa: E402
    plain_gbc,
    plain_h_score,
    plain_leep,
    plain_logme,
    plain_nce,
    plain_reg_h_score,
    plain_transrate,
)

from transfergraph.planner.metrics import gbc, h_score, leep, logme, nce, nleep, reg_h_score, transrate  # noqa: E402


def make_inputs(n: int, z: int, k: int, d: int, seed: int = 0):
    """Float64 log-probabilities (n, z), probabilities, features (n, d) and labels with class signal."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    labels[:k] = np.arange(k)
    src_of_class = rng.integers(0, z, k)
    logits = rng.normal(size=(n, z))
    logits[np.arange(n), src_of_class[labels]] += 3.0
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    centers = rng.normal(size=(k, d)) * 0.5
    features = rng.normal(size=(n, d)) + centers[labels]
    return log_probs, probs, features, labels


def median_times(ours, plain, repeats: int):
    """Median seconds of ``ours`` and ``plain``, run alternately (load drifts hit both alike)."""
    t_ours, t_plain, v_ours, v_plain = [], [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        v_ours = ours()
        t_ours.append(time.perf_counter() - t0)
        if plain is not None:
            t0 = time.perf_counter()
            v_plain = plain()
            t_plain.append(time.perf_counter() - t0)
    med_plain = statistics.median(t_plain) if t_plain else None
    return statistics.median(t_ours), v_ours, med_plain, v_plain


def peak_memory(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def machine() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = open("/proc/loadavg").read().strip() if os.path.exists("/proc/loadavg") else "n/a"
    return f"nproc={os.cpu_count()}, CPU: {cpu}, Python {platform.python_version()}, NumPy {np.__version__}, loadavg: {load}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (n=5,000, |Z|=200, |Y|=20, d=64)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per implementation (median reported)")
    ap.add_argument("--torch", action="store_true", help="also time the torch CPU path of leep/h_score/logme")
    ap.add_argument("--skip-nleep", action="store_true")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS (and torch) threads for ours and plain alike (threadpoolctl); 0 = library default")
    ap.add_argument("--only", help="comma-separated name prefixes of the rows to run (e.g. leep,logme)")
    ap.add_argument("--out", help="also write the markdown table to this file")
    args = ap.parse_args(argv)
    if args.threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads)
    n, z, k, d = (5_000, 200, 20, 64) if args.quick else (50_000, 1000, 100, 512)
    log_probs, probs, features, labels = make_inputs(n, z, k, d)
    p_bytes, f_bytes, l_bytes = probs.nbytes, features.nbytes, labels.nbytes
    lines = [
        f"sizes: n={n:,}, |Z|={z}, |Y|={k}, d={d}, float64, seed 0; repeats={args.repeats} (median); "
        f"BLAS threads: {args.threads or 'library default'}",
        f"machine at start: {machine()}",
        "",
        "| metric | ours s | plain s | speed-up | max rel. diff | ours peak MiB | input MiB | peak / input |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    cases = [
        ("leep (probs)", lambda: leep(probs, labels), lambda: plain_leep(probs, labels), p_bytes),
        ("leep (log_probs=True)", lambda: leep(log_probs, labels, log_probs=True),
         lambda: plain_leep(np.exp(log_probs), labels), p_bytes),
        ("nce", lambda: nce(probs, labels), lambda: plain_nce(probs, labels), p_bytes),
        ("h_score", lambda: h_score(features, labels), lambda: plain_h_score(features, labels), f_bytes),
        ("logme (tllib rule)", lambda: logme(features, labels, reference="tllib"),
         lambda: plain_logme(features, labels), f_bytes),
        ("reg_h_score", lambda: reg_h_score(features, labels), lambda: plain_reg_h_score(features, labels), f_bytes),
        ("gbc", lambda: gbc(features, labels), lambda: plain_gbc(features, labels), f_bytes),
        ("transrate", lambda: transrate(features, labels), lambda: plain_transrate(features, labels), f_bytes),
        ("logme (default, converged)", lambda: logme(features, labels), None, f_bytes),
    ]
    if args.torch:
        import torch

        torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
        tp, tf, tl = torch.from_numpy(log_probs), torch.from_numpy(features), torch.from_numpy(labels)
        cases += [
            ("leep torch-cpu (log_probs)", lambda: leep(tp, tl, log_probs=True),
             lambda: plain_leep(np.exp(log_probs), labels), None),
            ("h_score torch-cpu", lambda: h_score(tf, tl), lambda: plain_h_score(features, labels), None),
            ("logme torch-cpu (tllib rule)", lambda: logme(tf, tl, reference="tllib"), lambda: plain_logme(features, labels), None),
        ]
    if args.only:
        wanted = tuple(w.strip() for w in args.only.split(","))
        cases = [c for c in cases if c[0].startswith(wanted)]
    out_rows = []
    for name, ours, plain, in_bytes in cases:
        ours()  # warm-up (imports, caches)
        if plain is not None:
            plain()
        t_ours, v_ours, t_plain, v_plain = median_times(ours, plain, args.repeats)
        if plain is not None:
            rel = abs(v_ours - v_plain) / max(abs(v_plain), 1e-300)
            plain_s, ratio, rel_s = f"{t_plain:.3f}", f"{t_plain / t_ours:.1f}x", f"{rel:.1e}"
        else:
            plain_s = ratio = rel_s = "–"
        if in_bytes is not None:
            peak = peak_memory(ours)
            mem = f"{peak / 2**20:.1f} | {(in_bytes + l_bytes) / 2**20:.1f} | {peak / (in_bytes + l_bytes):.2f}"
        else:
            mem = "– | – | –"
        row = f"| {name} | {t_ours:.3f} | {plain_s} | {ratio} | {rel_s} | {mem} |"
        out_rows.append(row)
        print(row, flush=True)
    if not args.skip_nleep and (not args.only or "nleep" in args.only):
        nn_, kk, dd = (2_000, 5, 32) if args.quick else (5_000, 10, 64)
        _, _, f_small, l_small = make_inputs(nn_, 10, kk, dd, seed=1)
        t_nl, _, _, _ = median_times(lambda: nleep(f_small, l_small, seed=0), None, max(1, min(args.repeats, 3)))
        row = f"| nleep (n={nn_:,}, {kk} classes, d={dd}; no plain baseline) | {t_nl:.3f} | – | – | – | – | – | – |"
        out_rows.append(row)
        print(row, flush=True)
    tail = f"\nmachine at end: {machine()}"
    print(tail)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines + out_rows) + "\n" + tail + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
