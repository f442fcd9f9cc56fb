"""Data-loading errors carry the config key they are about from where they are raised
(``InputError.key``); the suite reports ``<key>: <message>`` without reading the message."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from transfergraph.config import parse_config
from transfergraph.jobs.suite import build_tasks
from transfergraph.planner.common.exceptions import ConfigError, InputError


def _tasks(data):
    return build_tasks(parse_config({"data": data, "tasks": [{"name": "x"}, {"name": "y"}]}))


def test_key_is_an_attribute_that_survives_pickling():
    exc = pickle.loads(pickle.dumps(InputError("bad labels", key="data.labels")))
    assert exc.key == "data.labels" and str(exc) == "bad labels"
    assert InputError("no key").key is None


def test_npy_errors_carry_their_key(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((30, 1, 4, 4), np.float32))
    np.save(tmp_path / "y.npy", np.arange(29) % 3)
    npy = {"kind": "npy", "root": str(tmp_path / "x.npy"), "labels": str(tmp_path / "y.npy")}
    with pytest.raises(ConfigError) as info:
        _tasks(npy)
    assert info.value.key == "data.labels" and str(info.value).startswith("data.labels: npy labels must be 1-D")
    with pytest.raises(ConfigError, match=r"^data\.labels: npy data cannot be read") as info:
        _tasks({**npy, "labels": str(tmp_path / "absent.npy")})
    assert info.value.key == "data.labels"
    with pytest.raises(ConfigError, match=r"^data\.root: npy data cannot be read") as info:
        _tasks({**npy, "root": str(tmp_path / "absent.npy")})
    assert info.value.key == "data.root"


def test_hf_datasets_split_and_label_column_keys(tmp_path):
    datasets = pytest.importorskip("datasets")
    x = np.zeros((12, 1, 4, 4), np.float32)
    feats = datasets.Features({"pixels": datasets.Array3D((1, 4, 4), "float32"), "target": datasets.Value("int64")})
    ds = datasets.Dataset.from_dict({"pixels": list(x), "target": np.arange(12) % 2}, features=feats)
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "dd"))
    data = {"kind": "hf_datasets", "root": str(tmp_path / "dd"), "input_column": "pixels"}
    with pytest.raises(ConfigError, match=r"^data\.split: hf_datasets split 'test' not in the saved DatasetDict"):
        _tasks({**data, "split": "test"})
    with pytest.raises(ConfigError, match=r"^data\.label_column: hf_datasets has none of the label columns"):
        _tasks(data)
