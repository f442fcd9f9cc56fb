"""Lazy tasks: image folders, memory-mapped arrays, Datasets and Hugging Face datasets score bitwise
like the same data in memory, without the driver holding the samples."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.lazy import ArrayFileReader, ImageFolderReader, LazyInputs
from transfergraph.planner.scoring import score

from lazy_support import conv_model, image_folder

METRICS = ("leep", "nce", "h_score")


def _scores(df):
    df = df.sort_values(["source", "target", "metric"]).reset_index(drop=True)
    assert (df["status"] == "ok").all(), df[df["status"] != "ok"]["error"].tolist()
    return df[["source", "target", "metric"]], df["score"].to_numpy()


def _sources(in_channels=3):
    return [Source("m0", conv_model(0, in_channels)), Source("m1", conv_model(1, in_channels), feature_layer="4")]


def _in_memory_folder(root):
    import torchvision

    ds = torchvision.datasets.ImageFolder(str(root), transform=torchvision.transforms.ToTensor())
    x = np.stack([ds[i][0].numpy() for i in range(len(ds))])
    return x, np.asarray(ds.targets)


def test_image_folder_task_scores_bitwise_like_in_memory_and_reads_each_sample_once(tmp_path, monkeypatch):
    root = image_folder(tmp_path / "imgs")
    x, y = _in_memory_folder(root)
    sub = np.flatnonzero(y != 1)
    lazy_all = Task("all", root)  # a directory path: an image-folder root
    np.testing.assert_array_equal(lazy_all.labels, y)
    assert lazy_all.lazy and lazy_all.inputs.shape == x.shape
    lazy = [lazy_all, Task("sub", lazy_all.inputs.take(sub), y[sub])]
    eager = [Task("all", x, y), Task("sub", x[sub], y[sub])]
    reads = []
    original = ImageFolderReader.read
    monkeypatch.setattr(ImageFolderReader, "read", lambda self, i: reads.append(i) or original(self, i))
    keys_lazy, lazy_scores = _scores(score(_sources(), lazy, metrics=METRICS, progress=False))
    keys_eager, eager_scores = _scores(score(_sources(), eager, metrics=METRICS, progress=False))
    assert keys_lazy.equals(keys_eager)
    np.testing.assert_array_equal(lazy_scores, eager_scores)  # bitwise
    assert sorted(reads) == sorted(list(range(len(y))) * 2)  # one read per (source, distinct sample)


def test_memmap_task_scores_bitwise_like_in_memory(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 1, 8, 8)).astype(np.float32)
    y = np.repeat([0, 1, 2], 30)
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    rows = np.arange(0, 90, 2)
    lazy = [Task("all", mm, y), Task("half", LazyInputs(ArrayFileReader(mm), rows), y[rows])]
    eager = [Task("all", np.load(tmp_path / "x.npy"), y), Task("half", x[rows], y[rows])]
    _, a = _scores(score(_sources(1), lazy, metrics=METRICS, progress=False))
    _, b = _scores(score(_sources(1), eager, metrics=METRICS, progress=False))
    np.testing.assert_array_equal(a, b)
    assert isinstance(lazy[0].inputs, LazyInputs) and lazy[0].inputs.reader.filename.endswith("x.npy")


def test_map_style_dataset_stays_lazy_and_matches_in_memory():
    from torch.utils.data import TensorDataset

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 1, 8, 8)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    ds = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    lazy = Task("t", ds)
    assert lazy.lazy and lazy.labels.tolist() == y.tolist()
    np.testing.assert_array_equal(np.asarray(lazy.inputs), x)
    _, a = _scores(score(_sources(1), [lazy, Task("u", x[:30], y[:30])], metrics=("leep",), progress=False))
    _, b = _scores(score(_sources(1), [Task("t", x, y), Task("u", x[:30], y[:30])], metrics=("leep",), progress=False))
    np.testing.assert_array_equal(a, b)


def test_hugging_face_dataset_from_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 1, 8, 8)).astype(np.float32)
    y = np.repeat([0, 1, 2], 10)
    feats = datasets.Features({"x": datasets.Array3D((1, 8, 8), "float32"), "label": datasets.Value("int64")})
    datasets.Dataset.from_dict({"x": list(x), "label": y}, features=feats).save_to_disk(str(tmp_path / "hf"))
    hf = datasets.load_from_disk(str(tmp_path / "hf"))
    task = Task("hf", hf)
    assert task.lazy and task.labels.tolist() == y.tolist() and task.inputs.dtype == np.float32
    _, a = _scores(score(_sources(1), [task, Task("other", x[:20], y[:20])], metrics=("leep", "nce"), progress=False))
    _, b = _scores(score(_sources(1), [Task("hf", x, y), Task("other", x[:20], y[:20])], metrics=("leep", "nce"),
                         progress=False))
    np.testing.assert_array_equal(a, b)


def test_lazy_input_errors_name_the_argument(tmp_path):
    with pytest.raises(InputError, match="inputs of Task 'x'.*image folder root"):
        Task("x", str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        Task("x", tmp_path / "empty")
    mm_path = tmp_path / "a.npy"
    np.save(mm_path, np.zeros((4, 2), np.float32))
    with pytest.raises(InputError, match="labels of Task 'x' is required"):
        Task("x", np.load(mm_path, mmap_mode="r"))


@pytest.mark.ray
def test_lazy_tasks_on_ray_equal_local(tmp_path, ray_session):
    from transfergraph.planner.executors import RayExecutor

    root = image_folder(tmp_path / "imgs", per_class=10)
    x, y = _in_memory_folder(root)
    tasks = [Task("all", root), Task("sub", LazyInputs(ImageFolderReader(root), np.flatnonzero(y < 2)), y[y < 2])]
    _, local = _scores(score(_sources(), tasks, metrics=METRICS, progress=False))
    _, ray_scores = _scores(score(_sources(), tasks, metrics=METRICS, progress=False, executor=RayExecutor()))
    np.testing.assert_array_equal(local, ray_scores)
