"""Building tasks and trained sources from a config: variety, determinism, caching, clear errors."""
import numpy as np
import pytest

from transfergraph.jobs.suite import build_sources, build_tasks
from transfergraph.config import parse_config
from transfergraph.planner.common.exceptions import ConfigError

BASE = {
    "seed": 3,
    "data": {"dataset": "digits", "image_size": 8},
    "tasks": [
        {"name": "sub", "classes": [0, 1, 2], "n_per_class": 20},
        {"name": "rot", "classes": [0, 1, 2], "n_per_class": 20, "shift": {"rotate": 90}},
        {"name": "imb", "classes": [3, 4, 5], "imbalance": 4},
    ],
    "models": {"training": {"epochs": 1, "width": 2, "feature_dim": 4}, "external": [{"name": "ext", "classes": [0, 1, 2, 3]}]},
}


def test_tasks_have_requested_classes_sizes_and_disjoint_test_split():
    sub, rot, imb = build_tasks(parse_config(BASE))
    assert list(sub.classes) == [0, 1, 2] and sub.n_samples == 60 and sub.inputs.shape[1:] == (1, 8, 8)
    counts = np.bincount(imb.labels)[3:6]
    assert counts[0] / counts[2] == pytest.approx(4, rel=0.15)  # 5:1-style imbalance, geometric
    assert not np.allclose(sub.inputs, rot.inputs)  # the shift changed the images
    # held-out rows never appear in the training split
    train_rows = {r.tobytes() for r in sub.inputs}
    assert not any(r.tobytes() in train_rows for r in sub.test_inputs)


def test_tasks_are_deterministic_and_seed_dependent():
    a = build_tasks(parse_config(BASE))[0]
    b = build_tasks(parse_config(BASE))[0]
    c = build_tasks(parse_config({**BASE, "seed": 4}))[0]
    assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.inputs, c.inputs)


def test_absent_class_is_a_config_error_naming_the_key():
    cfg = parse_config({**BASE, "tasks": [{"name": "x", "classes": [0, 42]}, {"name": "y"}]})
    with pytest.raises(ConfigError, match=r"tasks\[0\] \(x\)\.classes: \[42\] not in dataset 'digits'"):
        build_tasks(cfg)


def test_unknown_dataset_and_bad_shift_are_config_errors():
    with pytest.raises(ConfigError, match=r"tasks\[0\] \(x\)\.dataset: dataset must be one of"):
        build_tasks(parse_config({**BASE, "tasks": [{"name": "x", "dataset": "cifar"}, {"name": "y"}]}))
    with pytest.raises(ConfigError, match=r"shift 'rotate' expects degrees"):
        build_tasks(parse_config({**BASE, "tasks": [{"name": "x", "shift": {"rotate": 1000}}, {"name": "y"}]}))


def test_sources_are_trained_once_and_cached(tmp_path):
    cfg = parse_config(BASE)
    tasks = build_tasks(cfg)
    said = []
    first = build_sources(cfg, tasks, model_dir=tmp_path, log=said.append)
    assert [s.name for s in first] == ["sub.cnn", "rot.cnn", "imb.cnn", "ext"]
    assert [s.task for s in first] == ["sub", "rot", "imb", None]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 4
    again_said = []
    again = build_sources(cfg, tasks, model_dir=tmp_path, log=again_said.append)
    # the log says what happened: training the first time, loading from the cache after
    assert any(m.startswith("training source model sub.cnn") for m in said)
    assert any(m.startswith("loading source model sub.cnn") for m in again_said)
    assert not any(m.startswith("training") for m in again_said)
    for a, b in zip(first, again):
        for (k, v), (_, w) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
            assert np.array_equal(v.numpy(), w.numpy()), k
    # training is deterministic: a fresh folder gives the same weights
    fresh = build_sources(cfg, tasks, model_dir=tmp_path / "fresh")
    w1 = first[0].model.head.weight.detach().numpy()
    assert np.array_equal(w1, fresh[0].model.head.weight.detach().numpy())


def test_corrupt_cached_model_is_retrained(tmp_path):
    cfg = parse_config({**BASE, "models": {**BASE["models"], "per_task": False}})
    tasks = build_tasks(cfg)
    build_sources(cfg, tasks, model_dir=tmp_path)
    (path,) = list(tmp_path.iterdir())
    path.write_bytes(path.read_bytes()[:100])
    (src,) = build_sources(cfg, tasks, model_dir=tmp_path)
    assert src.name == "ext" and path.stat().st_size > 100


def test_single_class_task_says_first_whether_the_class_exists():
    with pytest.raises(ConfigError, match=r"tasks\[0\] \(x\)\.classes: \[42\] not in dataset 'digits'; available"):
        build_tasks(parse_config({**BASE, "tasks": [{"name": "x", "classes": [42]}, {"name": "y"}]}))
    with pytest.raises(ConfigError, match=r"tasks\[0\] \(x\)\.classes: a task needs at least 2 distinct classes; got \[3\]"):
        build_tasks(parse_config({**BASE, "tasks": [{"name": "x", "classes": [3]}, {"name": "y"}]}))


def _on_disk(data):
    return parse_config({"data": data, "tasks": [{"name": "x"}, {"name": "y"}]})


def test_data_errors_name_the_data_key(tmp_path):
    """Problems of the shared data section name data.root / data.labels, not the first task."""
    np.save(tmp_path / "x.npy", np.zeros((30, 1, 4, 4), np.float32))
    np.save(tmp_path / "y.npy", np.arange(29) % 3)
    (tmp_path / "empty").mkdir()
    npy = {"kind": "npy", "root": str(tmp_path / "x.npy"), "labels": str(tmp_path / "y.npy")}
    with pytest.raises(ConfigError, match=r"^data\.labels: npy labels must be 1-D .* got shape \(29,\) for 30 rows"):
        build_tasks(_on_disk(npy))
    with pytest.raises(ConfigError, match=r"^data\.labels: npy data cannot be read"):
        build_tasks(_on_disk({**npy, "labels": str(tmp_path / "none.npy")}))
    with pytest.raises(ConfigError, match=r"^data\.root: npy data cannot be read"):
        build_tasks(_on_disk({**npy, "root": str(tmp_path / "none.npy")}))
    with pytest.raises(ConfigError, match=r"^data\.root: image folder root .* holds no images"):
        build_tasks(_on_disk({"kind": "image_folder", "root": str(tmp_path / "empty")}))
    with pytest.raises(ConfigError, match=r"^data\.root: image folder root .* is not a directory"):
        build_tasks(_on_disk({"kind": "image_folder", "root": str(tmp_path / "absent")}))
    with pytest.raises(ConfigError, match=r"^data\.dataset: dataset must be one of"):
        build_tasks(_on_disk({"dataset": "cifar"}))
