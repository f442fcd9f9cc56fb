"""Cost of checking: the validation pass of ``nce`` against the plain reference, and direct metric
calls with the default one-thread BLAS bound against the library's default pool.

Usage::

    .venv/bin/python benchmarks/metrics_checks.py              # n=50,000, |Z|=1000 (nce); n=20,000, d=512
    .venv/bin/python benchmarks/metrics_checks.py --repeats 9 --out table.md

Rows (median of ``--repeats`` alternated runs, same process, same float64 inputs, seed 0):

- ``nce`` (validation fused with the argmax, one pass) vs ``plain_nce`` (argmax + tllib's Python loop
  over samples, no validation), and the validation-plus-argmax pass alone (``probability_argmax``);
- ``logme`` and ``transrate`` called directly with the default bound (1 BLAS thread) vs
  ``set_blas_threads(None)`` (OpenBLAS's default pool). The machine's load is printed: the ratio
  depends on it (on an idle machine with many cores the pool is faster for large ``eigh``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _plain_metrics import plain_nce  # noqa: E402
from metrics import machine, make_inputs  # noqa: E402

from transfergraph.planner.common.checks import probability_argmax  # noqa: E402
from transfergraph.planner.metrics import logme, nce, set_blas_threads, transrate  # noqa: E402


def alternate(fns, repeats: int) -> list[float]:
    """Median seconds of each callable, run alternately ``repeats`` times after one warm-up each."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def unbounded(fn):
    def run():
        set_blas_threads(None)
        try:
            return fn()
        finally:
            set_blas_threads(1)
    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    lines = [f"machine at start: {machine()}", "", "| case | ours s | baseline s | baseline / ours |", "|---|---|---|---|"]
    _, probs, _, labels = make_inputs(50_000, 1000, 100, 8)
    t_ours, t_plain, t_check = alternate(
        [lambda: nce(probs, labels), lambda: plain_nce(probs, labels),
         lambda: probability_argmax(probs, func="nce")], args.repeats)
    lines.append(f"| nce n=50,000 Z=1000 (fused check) vs plain_nce | {t_ours:.3f} | {t_plain:.3f} | {t_plain / t_ours:.2f}x |")
    lines.append(f"| of which validation + argmax pass | {t_check:.3f} | – | – |")
    del probs
    _, _, feats, flabels = make_inputs(20_000, 10, 50, 512, seed=1)
    for name, fn in (("logme", lambda: logme(feats, flabels)), ("transrate", lambda: transrate(feats, flabels))):
        t_one, t_pool = alternate([fn, unbounded(fn)], args.repeats)
        lines.append(f"| {name} n=20,000 d=512: 1 BLAS thread (default) vs default pool | {t_one:.3f} | {t_pool:.3f} | {t_pool / t_one:.2f}x |")
    lines += ["", f"machine at end: {machine()}"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
