"""The score table is built column by column: the same table, bitwise, as from one dict per row, with a
bounded memory per row while building (a zoo-scale driver holds tens of thousands of rows)."""
import gc
import tracemalloc

import numpy as np
import pandas as pd

from transfergraph.planner import metrics
from transfergraph.planner.scoring import COLUMNS, ScoreRow
from transfergraph.planner.scoring.table import build_table, normalize_table

TTA_COLUMNS = list(metrics.REGISTRY["tta"].columns)


def _dict_table(rows, registry):
    """The table as it was built before: one dict per row (the reference of the bitwise check)."""
    rows = [r.as_dict() if isinstance(r, ScoreRow) else r for r in rows]
    present = sorted({r.get("metric") for r in rows} & set(registry))
    extras = list(dict.fromkeys(c for m in present for c in getattr(registry[m], "columns", ())))
    columns = COLUMNS + [c for c in extras if c not in COLUMNS]
    df = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    df = df.astype({"score": "float64", "normalized": "float64", "n_samples": "int64", "n_classes": "int64",
                    "seconds": "float64", "label_entropy": "float64", "cached": "bool"})
    df["error"] = df["error"].fillna("").astype(str).str.replace("\r\n?", "\n", regex=True)
    df["flag"] = df["flag"].fillna("").astype(str).str.replace("\r\n?", "\n", regex=True)
    df = df.sort_values(["source", "target", "metric"], kind="mergesort").reset_index(drop=True)
    return normalize_table(df, registry)


def _rows(rng):
    info = {"n_samples": 30, "n_classes": 3, "label_entropy": 1.0986}
    rows = []
    for s in ("b", "a", "c"):
        for t in ("t2", "t1"):
            rows.append(ScoreRow.ok(s, t, "leep", score=float(rng.normal()), seconds=0.5, metric_version="2",
                                    key=f"{s}{t}", cached=s == "c").with_target(source_task="t1" if s == "a" else "",
                                                                                 **info))
            rows.append(ScoreRow.ok(s, t, "tta", score=float(rng.normal()), flag="small-sample\r\nx",
                                    extra={c: float(rng.normal()) for c in TTA_COLUMNS[:-1]} | {TTA_COLUMNS[-1]: True},
                                    ).with_target(source_task="", **info))
    rows.append(ScoreRow.failed("d", "t1", "leep", error="RuntimeError: a\rb", metric_version="2")
                .with_target(source_task="", **info))
    rows.append({"source": "e", "source_task": "", "target": "t1", "metric": "leep", "score": -0.5, "n_samples": 30,
                 "n_classes": 3, "status": "ok", "error": None, "flag": None, "seconds": 0.0,
                 "label_entropy": 1.0986, "metric_version": "2", "cached": True})
    return rows


def test_columnar_table_equals_the_dict_per_row_table_bitwise():
    rows = _rows(np.random.default_rng(0))
    got = build_table(rows, metrics.REGISTRY)
    want = _dict_table(rows, metrics.REGISTRY)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.columns) == COLUMNS + TTA_COLUMNS
    assert got.to_csv(index=False) == want.to_csv(index=False)
    only_leep = [r for r in rows if (r.metric if isinstance(r, ScoreRow) else r["metric"]) == "leep"]
    pd.testing.assert_frame_equal(build_table(iter(only_leep), metrics.REGISTRY),
                                  _dict_table(only_leep, metrics.REGISTRY), check_exact=True)


def test_rows_have_no_instance_dict_and_the_table_build_is_bounded_per_row():
    assert not hasattr(ScoreRow.ok("s", "t", "leep", score=0.0), "__dict__")  # __slots__: ~0.25 KB a row
    n = 12_000
    rows = [ScoreRow.ok(f"m{i % 100:03d}", f"t{i // 300:03d}", m, score=-1.0 - i * 1e-6, seconds=0.01,
                        metric_version="2", cached=True).with_target(source_task="", n_samples=60, n_classes=5,
                                                                      label_entropy=1.6)
            for i in range(n // 3) for m in ("leep", "nce", "h_score")]
    gc.collect()
    tracemalloc.start()
    try:
        table = build_table(rows, metrics.REGISTRY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(table) == n
    # one dict per row (twice over, as before) peaked at ~1.2 KB a row; the columns at ~0.25 KB
    assert peak / n < 600, f"building the table took {peak / n:.0f} bytes per row at its peak"
