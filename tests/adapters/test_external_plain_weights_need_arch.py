"""A plain state_dict without `arch` is refused naming the entry's `arch`, not as a constructor failure."""
import numpy as np
import pytest
import torch

from transfergraph.adapters.models import SmallCNN, external
from transfergraph.config import ExternalModelSpec
from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.planner.inputs.task import Task


def test_plain_weights_without_arch_name_the_arch_key(tmp_path):
    torch.save(SmallCNN(3, width=4, feature_dim=8).state_dict(), tmp_path / "plain.pt")
    rng = np.random.default_rng(0)
    task = Task("t", rng.random((12, 1, 8, 8), dtype=np.float32), np.arange(12) % 3)
    spec = ExternalModelSpec(name="m", checkpoint=str(tmp_path / "plain.pt"))
    with pytest.raises(ConfigError) as info:
        external.external_source(spec, 0, [task], default_arch="small_cnn")
    text = str(info.value)
    assert text.startswith("models.external[0] (m).arch: ") and "plain weights (a state_dict)" in text
    assert "save_model" in text and "num_classes" not in text
