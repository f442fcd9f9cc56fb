"""A one-class task of an image folder is refused naming its class as the config wrote it, not its position."""
import numpy as np
import pytest
from PIL import Image

from transfergraph.config import parse_config
from transfergraph.jobs.suite import build_tasks
from transfergraph.planner.common.exceptions import ConfigError


def test_one_class_error_names_the_folder(tmp_path):
    for k, name in enumerate(["bag", "boot", "coat"]):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(np.full((8, 8, 3), 40 * k + i, dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    cfg = parse_config({"data": {"kind": "image_folder", "root": str(tmp_path), "test_fraction": 0.25},
                        "tasks": [{"name": "all"}, {"name": "misc", "classes": ["bag"]}]})
    with pytest.raises(ConfigError) as err:
        build_tasks(cfg)
    assert str(err.value) == "tasks[1] (misc).classes: a task needs at least 2 distinct classes; got ['bag']."
