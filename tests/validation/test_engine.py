"""run_validation(): pairs, table contract, failures, determinism across executors, cache resume."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import _val_support as S
from transfergraph.planner import Source
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.executors import LocalExecutor
from transfergraph.planner.validation import COLUMNS, candidate_pairs, run_validation

OPTS = {"fine_tune": {"epochs": 1, "min_steps": 0}}
VALUES = ["source", "source_task", "target", "method", "accuracy", "f1", "n_train", "n_test", "n_classes",
          "seed", "status", "error"]


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def executor(request):
    if request.param == "local":
        return "local"
    request.getfixturevalue("ray_session")
    from transfergraph.planner.executors import RayExecutor

    return RayExecutor()


@pytest.fixture(scope="module")
def reference(sources, tasks):
    return run_validation(sources, tasks, method_options=OPTS, progress=False)


def test_table_contract_and_self_edges_excluded(reference, sources, tasks):
    df = reference
    assert list(df.columns) == COLUMNS
    # 3 sources x 4 tasks minus the 'low' source on its own task, 2 methods
    assert len(df) == (3 * 4 - 1) * 2
    assert not ((df["source"] == "low") & (df["target"] == "t_low")).any()
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert df["accuracy"].between(0, 1).all() and df["f1"].between(0, 1).all()
    assert df.loc[df["source"] == "low", "source_task"].eq("t_low").all()
    assert df.loc[df["source"] != "low", "source_task"].eq("").all()
    # sorted by source order, then task order, then method order
    order = [(s.name, t.name, m) for s in sources for t in tasks if s.task != t.name
             for m in ("retrain_head", "fine_tune")]
    assert list(zip(df["source"], df["target"], df["method"])) == order


def test_same_table_on_every_executor_and_rerun(executor, reference, sources, tasks):
    again = run_validation(sources, tasks, method_options=OPTS, executor=executor, progress=False)
    pd.testing.assert_frame_equal(again[VALUES], reference[VALUES])


def test_explicit_pairs_and_seeded_sample(sources, tasks):
    df = run_validation(sources, tasks, pairs=[("all", "t_b"), ("high", "t_a")], methods=["retrain_head"],
                        progress=False)
    assert list(zip(df["source"], df["target"])) == [("high", "t_a"), ("all", "t_b")]
    a = run_validation(sources, tasks, n_pairs=4, methods=["retrain_head"], seed=3, progress=False)
    b = run_validation(sources, tasks, n_pairs=4, methods=["retrain_head"], seed=3, progress=False)
    assert len(a) == 4 and a[VALUES].equals(b[VALUES])
    assert set(zip(a["source"], a["target"])) <= set(candidate_pairs(sources, tasks))


@pytest.mark.parametrize("kwargs, match", [
    ({"pairs": [("low", "t_low")]}, "its own training task"),
    ({"pairs": [("nope", "t_a")]}, "unknown source 'nope'"),
    ({"pairs": [("all", "t_a"), ("all", "t_a")]}, "must not repeat"),
    ({"methods": ["retrain_head", "magic"]}, "unknown method 'magic'"),
    ({"methods": ["meta_transfer"]}, "meta_model is None"),
    ({"n_pairs": 0}, r"n_pairs of run_validation\(\) must be an int >= 1; got 0 \(int\)"),
    ({"n_pairs": True}, r"n_pairs of run_validation\(\) must be an int >= 1; got True \(bool\)"),
    ({"method_options": {"fine_tune": 3}}, r"method_options\['fine_tune'\] must be a dict"),
    ({"method_options": {"fine_tune": {"epoch": 3}}}, r"unknown option 'epoch'; options of fine_tune: \['batch_size'"),
    ({"meta_model": {"ghost": S.NearestCentroidMeta()}, "methods": ["meta_transfer"]}, "not a source name"),
])
def test_bad_arguments_are_named(kwargs, match, sources, tasks):
    with pytest.raises(InputError, match=match):
        run_validation(sources, tasks, progress=False, **kwargs)


def test_targets_without_test_split_are_rejected_up_front(sources):
    x, y = S.digits()
    from transfergraph.planner import Task

    with pytest.raises(InputError, match=r"tasks \['bare'\] have no test split"):
        run_validation(sources, [Task("bare", x[:30], y[:30] % 3)], progress=False)


def test_failed_pair_is_recorded_and_the_run_completes(sources, tasks):
    picky = Source("picky", sources[2].model, transform=S.OnlySide(8))
    x, y = S.digits()
    from transfergraph.planner import Task

    big = Task("big", np.repeat(np.repeat(x[:40], 2, axis=2), 2, axis=3), y[:40] % 2,
               test_inputs=np.repeat(np.repeat(x[40:80], 2, axis=2), 2, axis=3), test_labels=y[40:80] % 2)
    df = run_validation([picky], [tasks[1], big], methods=["retrain_head", "fine_tune"],
                        method_options=OPTS, progress=False)
    bad = df[df["target"] == "big"]
    good = df[df["target"] == "t_a"]
    assert (bad["status"] == "failed").all() and bad["accuracy"].isna().all()
    assert bad["error"].str.contains("this source takes 8x8 images").all()
    assert (good["status"] == "ok").all()


def test_meta_transfer_rows_follow_the_meta_model_mapping(sources, tasks):
    meta = S.NearestCentroidMeta()
    df = run_validation(sources, tasks, methods=["retrain_head", "meta_transfer"], meta_model={"all": meta},
                        progress=False)
    mt = df[df["method"] == "meta_transfer"]
    assert set(mt["source"]) == {"all"} and len(mt) == 4 and (mt["status"] == "ok").all()
    single = run_validation(sources[1:], tasks[1:2], methods=["meta_transfer"], meta_model=meta, progress=False)
    assert len(single) == 2 and single["accuracy"].nunique() == 1  # the adapted model ignores the source


class _Interrupting(LocalExecutor):
    """Runs ``limit`` jobs, then raises KeyboardInterrupt (a killed run)."""

    def __init__(self, limit):
        self.limit, self.jobs = limit, 0

    def run(self, fn, jobs, shared):
        for job, result in super().run(fn, jobs, shared):
            if self.jobs == self.limit:
                raise KeyboardInterrupt
            self.jobs += 1
            yield job, result


def test_interrupted_run_resumes_from_cache(tmp_path, reference, sources, tasks):
    store = tmp_path / "validation" / "scores.v1.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_validation(sources, tasks, method_options=OPTS, cache=tmp_path, executor=_Interrupting(4),
                       progress=False)
    # jobs: 3 retrain_head jobs (one per source, 11 pairs), then 11 fine_tune jobs (one per pair)
    assert len(store.read_text().splitlines()) == 11 + 1
    counter = _Interrupting(10**6)
    resumed = run_validation(sources, tasks, method_options=OPTS, cache=tmp_path, executor=counter, progress=False)
    assert counter.jobs == 14 - 4
    pd.testing.assert_frame_equal(resumed[VALUES], reference[VALUES])
    assert len(store.read_text().splitlines()) == len(reference)  # every row stored exactly once
    again = _Interrupting(10**6)
    cached = run_validation(sources, tasks, method_options=OPTS, cache=tmp_path, executor=again, progress=False)
    assert again.jobs == 0
    pd.testing.assert_frame_equal(cached[VALUES], reference[VALUES])


def test_cache_key_includes_options(tmp_path, sources, tasks):
    run_validation(sources[1:2], tasks[1:2], methods=["fine_tune"], method_options=OPTS, cache=tmp_path,
                   progress=False)
    counter = _Interrupting(10**6)
    run_validation(sources[1:2], tasks[1:2], methods=["fine_tune"], method_options={"fine_tune": {"epochs": 1, "min_steps": 0, "lr": 0.01}},
                   cache=tmp_path, executor=counter, progress=False)
    assert counter.jobs == 1


def test_end_to_end_with_scores_writes_the_spec_files(tmp_path, reference, sources, tasks):
    from transfergraph.planner.scoring import score
    from transfergraph.planner.report import write_validation_outputs

    scores = score(sources, tasks, metrics=("leep", "nce", "h_score"), progress=False)
    res = write_validation_outputs(reference, scores, tmp_path)
    val = pd.read_csv(tmp_path / "validation.csv")
    assert {"source", "target", "method", "accuracy", "f1", "seconds"} <= set(val.columns) and len(val) == len(reference)
    corr = pd.read_csv(tmp_path / "correlations.csv")
    assert {"metric", "method", "pearson", "pearson_p", "kendall_tau", "n_pairs"} <= set(corr.columns)
    # every (metric, method) over the 11 validated pairs
    assert len(corr) == 3 * 2 and (corr["n_pairs"] == 11).all()
    assert (tmp_path / "validation.md").read_text() == res["markdown"]
    assert (tmp_path / "validation_levels_leep.png").exists() and "regret.csv" in res["paths"]
