"""The transfergraph.plugins entry point: the only way configs reach outside code."""
from importlib.metadata import EntryPoint

import numpy as np
import pytest

import transfergraph.adapters.plugins as plugins
from transfergraph.adapters.datasets.registry import DATASETS, DatasetSplit
from transfergraph.jobs.suite import build_tasks
from transfergraph.config import parse_config
from transfergraph.planner.common.exceptions import ConfigError


def register():
    rng = np.random.default_rng(0)
    x = rng.random((60, 1, 8, 8), dtype=np.float32)
    y = np.repeat(np.arange(3), 20)
    DATASETS["plugin_blobs"] = lambda **kw: DatasetSplit(x[::2], y[::2], x[1::2], y[1::2])


def broken():
    raise RuntimeError("no GPU here")


@pytest.fixture
def fake_entry_points(monkeypatch):
    def install(*values):
        eps = [EntryPoint(name=f"p{i}", value=v, group=plugins.GROUP) for i, v in enumerate(values)]
        monkeypatch.setattr(plugins, "entry_points", lambda group: eps if group == plugins.GROUP else [])
        monkeypatch.setattr(plugins, "_LOADED", set())
    yield install
    DATASETS.pop("plugin_blobs", None)


def test_plugin_dataset_is_usable_from_a_config(fake_entry_points):
    fake_entry_points(f"{__name__}:register")
    cfg = parse_config({"data": {"dataset": "plugin_blobs"}, "tasks": [{"name": "a", "classes": [0, 1]},
                                                                       {"name": "b", "classes": [1, 2]}]})
    a, b = build_tasks(cfg)
    assert list(a.classes) == [0, 1] and a.n_samples == 20


def test_broken_plugin_is_a_config_error_naming_it(fake_entry_points):
    fake_entry_points(f"{__name__}:broken")
    with pytest.raises(ConfigError, match=r"plugin 'p0' .* failed to load: RuntimeError: no GPU here"):
        plugins.load_plugins()
