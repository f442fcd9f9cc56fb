"""score() behaviour, run on both executors: the tables must be identical."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from transfergraph.planner import Source, Task
from transfergraph.planner.metrics import REGISTRY, label_entropy
from transfergraph.planner.scoring import score

from scoring_support import COLS, BlasThreadsProbe, Boom, FailingMetric, tiny_model, tiny_sources, tiny_tasks

METRICS = ("leep", "nce", "h_score")


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def executor(request):
    if request.param == "local":
        return "local"
    request.getfixturevalue("ray_session")
    from transfergraph.planner.executors import RayExecutor

    return RayExecutor()


@pytest.fixture(scope="module")
def reference():
    return score(tiny_sources(), tiny_tasks(), metrics=METRICS, executor="local", progress=False)


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame, *, exact: bool = True) -> None:
    """Bitwise equal by default (every executor); ``exact=False`` allows 1e-6 relative (other batches)."""
    if exact:
        pd.testing.assert_frame_equal(a[COLS], b[COLS], check_exact=True)
    else:
        pd.testing.assert_frame_equal(a[COLS], b[COLS], check_exact=False, rtol=1e-6, atol=0)


def test_table_shape_columns_and_order(reference):
    df = reference
    assert len(df) == 3 * 4 * 3
    for col in ["source", "source_task", "target", "metric", "score", "normalized", "n_samples",
                "n_classes", "status", "error", "seconds", "cached", "metric_version", "label_entropy"]:
        assert col in df.columns
    keys = list(zip(df.source, df.target, df.metric))
    assert keys == sorted(keys)
    assert (df.status == "ok").all(), df[df.status != "ok"].error.tolist()
    assert np.isfinite(df.score).all() and np.isfinite(df.normalized).all()
    # source_task: the Source.task, "" for the external model; self-pairs are still scored
    assert set(df[df.source == "m2"].source_task) == {""}
    assert set(df[df.source == "m1"].source_task) == {"A"}
    assert ((df.source == "m1") & (df.target == "A")).sum() == 3
    tasks = {t.name: t for t in tiny_tasks()}
    for _, row in df.iterrows():
        t = tasks[row.target]
        assert row.n_samples == t.n_samples and row.n_classes == t.n_classes
        assert row.label_entropy == pytest.approx(label_entropy(t.labels))


def test_scores_match_metric_called_directly(reference):
    """The engine's LEEP equals leep() on softmax outputs of the model over the task."""
    import torch

    src, task = tiny_sources()[1], tiny_tasks()[2]
    with torch.no_grad():
        probs = torch.softmax(src.model.eval()(torch.from_numpy(task.inputs)).double(), 1).numpy()
    expected = REGISTRY["leep"](probs, task.labels)
    got = reference.query("source == 'm2' and target == 'C' and metric == 'leep'").score.item()
    assert got == pytest.approx(expected, rel=1e-9)
    h = label_entropy(task.labels)
    norm = reference.query("source == 'm2' and target == 'C' and metric == 'leep'").normalized.item()
    # equal to the formula up to the tie tolerance: scores within 1e-6 relative of another source's are tied
    assert norm == pytest.approx(np.clip((expected + h) / h, 0, 1), rel=1e-9, abs=2e-6 * abs(expected) / h)


def test_executor_gives_identical_table(executor, reference):
    df = score(tiny_sources(), tiny_tasks(), metrics=METRICS, executor=executor, progress=False)
    assert_same_table(df, reference)


def test_failing_source_misfit_task_and_failing_metric(executor, monkeypatch):
    tasks = tiny_tasks()
    rng = np.random.default_rng(5)
    tasks.append(Task("misfit", rng.random((30, 1, 5, 5), dtype=np.float32), rng.integers(0, 2, 30)))
    sources = tiny_sources() + [Source("bad", Boom())]
    monkeypatch.setitem(REGISTRY, "failing", FailingMetric(bad_n=tasks[1].n_samples))
    df = score(sources, tasks, metrics=("leep", "failing"), executor=executor, progress=False)
    assert len(df) == 4 * 5 * 2
    bad_source = df.source == "bad"
    misfit = df.target == "misfit"
    bad_metric = (df.metric == "failing") & (df.target == "B")
    expected_failed = bad_source | misfit | bad_metric
    assert (df.status[expected_failed] == "failed").all()
    assert (df.status[~expected_failed] == "ok").all(), df[~expected_failed & (df.status != "ok")].error.tolist()
    failed = df[expected_failed]
    assert failed.score.isna().all() and failed.normalized.isna().all()
    assert (df.error[~expected_failed] == "").all()
    assert df[bad_source].error.str.contains("RuntimeError: boom in forward").all()
    assert df[misfit & ~bad_source].error.str.contains(r"RuntimeError: .*shape", regex=True).all()
    assert df[misfit & ~bad_source].error.str.contains(r"\(1, 5, 5\)", regex=True).all()
    assert df[bad_metric & ~bad_source].error.str.contains("ArithmeticError: cannot score 140 samples").all()
    assert not df.error.str.contains("Traceback").any()
    assert not df.error.str.contains("\n").any()
    # the rest is unaffected by the failures
    ref = score(tiny_sources(), tiny_tasks(), metrics=("leep",), progress=False)
    ok = df[(df.metric == "leep") & ~bad_source & ~misfit].reset_index(drop=True)
    assert_same_table(ok, ref, exact=False)  # a different set of targets per job: other batch shapes


def test_source_without_linear_fails_only_feature_metrics(executor):
    import torch.nn as nn

    torch_model = nn.Sequential(nn.Conv2d(1, 4, 8), nn.Flatten())  # logits (b, 4) with no nn.Linear
    df = score([Source("conv", torch_model)], tiny_tasks()[:1], metrics=("leep", "h_score"),
               executor=executor, progress=False)
    assert df.set_index("metric").status.to_dict() == {"h_score": "failed", "leep": "ok"}
    assert "feature_layer" in df[df.metric == "h_score"].error.item()


def test_transform_and_feature_layer_are_used(executor):
    import torch

    def to_side_8(batch):  # tasks at 4x4 upsampled to the model's 8x8 input
        return torch.nn.functional.interpolate(batch, size=(8, 8), mode="nearest")

    rng = np.random.default_rng(3)
    small = Task("small", rng.random((60, 1, 4, 4), dtype=np.float32), rng.integers(0, 3, 60))
    src = [Source("up", tiny_model(1), transform=to_side_8), Source("up_fl", tiny_model(1), transform=to_side_8,
                                                                     feature_layer="1")]
    df = score(src, [small], metrics=("leep", "h_score"), executor=executor, progress=False)
    assert (df.status == "ok").all(), df.error.tolist()
    leep = df[df.metric == "leep"].score.to_numpy()
    assert leep[0] == leep[1]  # same model and transform: same probabilities
    h = df[df.metric == "h_score"].score.to_numpy()
    assert h[0] != h[1]  # different feature layer: different features


def test_model_mode_restored():
    src = tiny_sources()[0]
    src.model.train()
    score([src], tiny_tasks()[:1], progress=False)
    assert src.model.training


def test_progress_bar_counts_pairs(capfd):
    tasks = tiny_tasks()
    score(tiny_sources()[:1], tasks, metrics=("leep", "nce"), progress=True)
    err = capfd.readouterr().err  # one source x the tasks = pairs, whatever the number of metrics
    assert "scoring" in err and f"{len(tasks)}/{len(tasks)}" in err and "pair" in err


def test_metrics_run_with_one_blas_thread_on_every_executor(executor, monkeypatch):
    """OpenBLAS splits long dot products by thread count, so a score's last bits would depend on where it ran
    (the caller's thread count for "local", 1 in a Ray worker). Jobs pin BLAS to one thread everywhere."""
    from threadpoolctl import threadpool_limits

    monkeypatch.setitem(REGISTRY, "blas_threads", BlasThreadsProbe())
    with threadpool_limits(limits=2, user_api="blas"):
        df = score(tiny_sources(), tiny_tasks(), metrics=("blas_threads",), executor=executor, progress=False)
    assert (df.status == "ok").all(), df.error.tolist()
    assert (df.score == 1.0).all()


class _ThreadsProbe(torch.nn.Module):
    """A conv classifier that records torch's thread count at each forward call."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []
        self.net = tiny_model(0)

    def forward(self, x):
        self.seen.append(torch.get_num_threads())
        return self.net(x)


def test_local_jobs_forward_with_one_torch_thread_and_restore_the_callers_setting():
    """A model's matrix products split their sums by thread count, so the local executor (in the caller's
    process, 2 threads here) must forward with one thread, as each Ray task does, for identical tables;
    and it must hand the caller's setting back."""
    from transfergraph.planner.runtime.forward import torch_threads

    probe = _ThreadsProbe()
    with torch_threads(2):
        df = score([Source("probe", probe)], tiny_tasks(), metrics=("leep",), executor="local", progress=False)
        assert torch.get_num_threads() == 2
    assert (df.status == "ok").all(), df.error.tolist()
    assert probe.seen and set(probe.seen) == {1}
