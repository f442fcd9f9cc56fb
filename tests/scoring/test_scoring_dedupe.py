"""Content dedupe: each source forwards each distinct sample at most once per score() call."""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from transfergraph.planner import Source, Task
from transfergraph.planner.scoring import score
from transfergraph.planner.scoring.pools import build_pools

from scoring_support import Recorder, base_data, tiny_model, tiny_tasks


def _digest(row: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(row, dtype=np.float32).tobytes(), digest_size=16).digest()


def test_pools_group_by_shape_and_dtype_and_dedupe_by_bytes():
    x, y = base_data()
    tasks = [
        Task("a", x[:100], y[:100]),
        Task("b", x[50:150].copy(), y[50:150]),           # a copy of an overlapping slice
        Task("c", x[::-1].copy(), y[::-1]),                 # the same samples in another order
        Task("d", x[:100].astype(np.float64), y[:100]),     # same values, other dtype: other pool
        Task("e", x[:40, :, :4, :4].copy(), y[:40]),        # other shape: other pool
        Task("f", np.concatenate([x[:10], x[:10]]), np.r_[y[:10], y[:10]]),  # duplicates inside a task
    ]
    pools, views = build_pools(tasks)
    assert len(pools) == 3
    assert [v.pool for v in views] == [0, 0, 0, 1, 2, 0]
    assert len(pools[0].data) == len(x)  # every sample of a, b, c, f is one of x's rows
    for v in views:
        np.testing.assert_array_equal(pools[v.pool].data[v.index], v.task.inputs)
    assert len(np.unique(views[5].index)) == 10
    assert views[0].fingerprint != views[3].fingerprint
    same = build_pools([Task("renamed", x[:100].copy(), y[:100])])[1][0]
    assert same.fingerprint == views[0].fingerprint  # content, not name
    relabeled = build_pools([Task("a", x[:100], (y[:100] + 1) % 4)])[1][0]
    assert relabeled.fingerprint != views[0].fingerprint


def test_each_source_forwards_each_distinct_sample_once():
    tasks = tiny_tasks()
    x, y = base_data()
    tasks += [Task("A_again", tasks[0].inputs.copy(), tasks[0].labels), Task("slice", x[20:60].copy(), y[20:60])]
    recorders = [Recorder(tiny_model(1)), Recorder(tiny_model(2))]
    sources = [Source(f"r{i}", r) for i, r in enumerate(recorders)]
    df = score(sources, tasks, metrics=("leep", "nce", "h_score"), progress=False)
    assert (df.status == "ok").all()
    distinct = {_digest(row) for t in tasks for row in t.inputs}
    for r in recorders:
        counts = Counter(r.seen)
        assert set(counts) == distinct
        assert max(counts.values()) == 1
    assert len(df) == 2 * len(tasks) * 3


def test_forwarding_the_union_gives_the_same_scores_as_forwarding_each_task():
    tasks = tiny_tasks()
    sources = [Source("m", tiny_model(1))]
    together = score(sources, tasks, metrics=("leep", "h_score"), progress=False)
    alone = [score(sources, [t], metrics=("leep", "h_score"), progress=False) for t in tasks]
    alone = __import__("pandas").concat(alone).sort_values(["source", "target", "metric"]).reset_index(drop=True)
    np.testing.assert_allclose(together.score, alone.score, rtol=1e-6)
