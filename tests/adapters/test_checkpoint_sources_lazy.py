"""Sources loaded from checkpoints keep only a ModelRef: the driver of a zoo-scale run holds one model at a
time, not one per source, and scoring rebuilds each model from its file with the same scores and the
same cache keys as a source holding the live model."""
import gc
import pickle
import weakref

import numpy as np
import pandas as pd
import pytest
import torch

from transfergraph.adapters.models import SmallCNN, save_model
from transfergraph.adapters.models import external
from transfergraph.config import ExternalModelSpec
from transfergraph.planner import Source, score
from transfergraph.planner.inputs.model_ref import ModelRef, clear_loaded
from transfergraph.planner.inputs.task import Task
from transfergraph.planner.scoring.payload import payload_of

METRICS = ("leep", "nce", "h_score")


def _tasks():
    rng = np.random.default_rng(0)
    return [Task(f"t{k}", rng.random((24, 1, 8, 8), dtype=np.float32), np.arange(24) % (2 + k)) for k in range(3)]


def _checkpoints(tmp_path, n=4):
    paths = []
    for k in range(n):
        torch.manual_seed(k)
        path = tmp_path / f"m{k}.pt"
        save_model(SmallCNN(3 + k % 2, width=4, feature_dim=8), path)
        paths.append(path)
    return paths


def _sources(paths, tasks):
    return [external.external_source(ExternalModelSpec(name=f"m{k}", checkpoint=str(p)), k, tasks,
                                     default_arch="small_cnn") for k, p in enumerate(paths)]


def test_building_checkpoint_sources_keeps_one_model_alive(tmp_path, monkeypatch):
    built = []
    real = external._load
    monkeypatch.setattr(external, "_load", lambda *a: (lambda out: built.append(weakref.ref(out[0])) or out)(real(*a)))
    tasks = _tasks()
    sources = _sources(_checkpoints(tmp_path), tasks)
    gc.collect()
    assert len(built) == 4  # each checkpoint built once while the sources were made (and checked)
    assert sum(r() is not None for r in built) == 1  # only the last one is still in memory
    assert all(isinstance(s.model_ref, ModelRef) for s in sources)


def test_lazy_sources_score_bitwise_like_live_models_and_hit_their_cache(tmp_path):
    tasks = _tasks()
    paths = _checkpoints(tmp_path)
    lazy = _sources(paths, tasks)
    live = [Source(s.name, s.model, transform=s.transform, feature_layer=s.feature_layer, pooling=s.pooling)
            for s in lazy]  # the same models, held by the sources
    assert [s.model_fingerprint() for s in lazy] == [s.model_fingerprint() for s in live]
    first = score(live, tasks, metrics=METRICS, cache=tmp_path / "cache", progress=False)
    again = score(lazy, tasks, metrics=METRICS, cache=tmp_path / "cache", progress=False)
    fresh = score(lazy, tasks, metrics=METRICS, progress=False)  # no cache: every job rebuilds its model
    assert again["cached"].all()  # same cache keys: every pair of the live run is read back
    cols = [c for c in first.columns if c not in ("seconds", "cached")]
    pd.testing.assert_frame_equal(again[cols], first[cols], check_exact=True)
    pd.testing.assert_frame_equal(fresh[cols], first[cols], check_exact=True)
    assert (fresh["status"] == "ok").all()


def test_a_lazy_payload_ships_no_weights_and_rebuilds_the_model(tmp_path):
    tasks = _tasks()
    (source,) = _sources(_checkpoints(tmp_path, n=1), tasks)
    weights = source.model.state_dict()
    shipped = pickle.dumps(payload_of(source, portable=True))
    eager = pickle.dumps(payload_of(Source("x", source.model), portable=True))
    assert len(shipped) < len(eager) / 3
    clear_loaded()  # as in another process: nothing rebuilt yet
    model = pickle.loads(shipped).load()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())


def test_a_checkpoint_replaced_during_the_run_fails_its_pairs_only(tmp_path):
    tasks = _tasks()
    paths = _checkpoints(tmp_path, n=2)
    sources = _sources(paths, tasks)
    torch.manual_seed(99)
    save_model(SmallCNN(4, width=4, feature_dim=8), paths[1])  # other weights under m1's path
    clear_loaded()
    table = score(sources, tasks, metrics=("leep",), progress=False)
    bad = table[table["source"] == "m1"]
    assert (bad["status"] == "failed").all()
    assert bad["error"].str.contains("changed since this run loaded it").all()
    assert bad["error"].str.contains("m1.pt").all()
    assert (table[table["source"] == "m0"]["status"] == "ok").all()


@pytest.mark.ray
def test_lazy_sources_score_the_same_on_ray(tmp_path, ray_session):
    from transfergraph.planner.executors import RayExecutor

    tasks = _tasks()
    sources = _sources(_checkpoints(tmp_path), tasks)
    local = score(sources, tasks, metrics=METRICS, progress=False)
    ray = score(sources, tasks, metrics=METRICS, executor=RayExecutor(workers=2), progress=False)
    cols = [c for c in local.columns if c != "seconds"]
    pd.testing.assert_frame_equal(ray[cols], local[cols], check_exact=True)
