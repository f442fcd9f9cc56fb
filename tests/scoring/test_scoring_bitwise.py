"""Local and Ray executors give bitwise-equal score tables on a demo-sized run (as the README says).

The run has the shape of configs/demo.yaml (its first six tasks, its three external models, per-task
CNNs and a CNAPs-style meta model adapted to every task, its four metrics) with training cut to a
few steps and 8x8 images, so it fits the suite's time budget: the numbers need not be good, only
computed the same way on both executors.
"""
from __future__ import annotations

import pandas as pd
import pytest

from demo_support import demo_sized_run

COLS = ["source", "source_task", "target", "metric", "score", "normalized", "n_samples", "n_classes", "status"]


@pytest.mark.ray
@pytest.mark.slow
def test_local_and_ray_tables_are_bitwise_equal_on_a_demo_sized_run(ray_session, tmp_path):
    pytest.importorskip("learn2learn")
    from transfergraph.planner.executors import RayExecutor
    from transfergraph.planner.scoring import score

    config, tasks, sources = demo_sized_run(tmp_path)
    metrics = tuple(config.scoring.metrics)
    local = score(sources, tasks, metrics=metrics, executor="local", progress=False, seed=config.seed)
    ray = score(sources, tasks, metrics=metrics, executor=RayExecutor(workers=2), progress=False, seed=config.seed)
    assert len(local) >= 6 * 12 * len(metrics) and (local["status"] == "ok").mean() > 0.9
    key = ["source", "target", "metric"]
    a = local.sort_values(key).reset_index(drop=True)[COLS]
    b = ray.sort_values(key).reset_index(drop=True)[COLS]
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # bitwise: no tolerance
