"""A config's ``save_model`` checkpoint is read from disk once (a zoo of hundreds of models loads each
file once, not twice), and the model it gives equals ``load_model``'s."""
import numpy as np
import torch

from transfergraph.adapters.models import SmallCNN, load_model, save_model
from transfergraph.adapters.models import checkpoint, external
from transfergraph.config import ExternalModelSpec
from transfergraph.planner.inputs.task import Task


def test_checkpoint_file_is_read_once(tmp_path, monkeypatch):
    torch.manual_seed(0)
    save_model(SmallCNN(3, width=4, feature_dim=8), tmp_path / "m.pt")
    reads = []
    real = external.load_weights
    for module in (external, checkpoint):  # every place that reads a checkpoint file
        monkeypatch.setattr(module, "load_weights", lambda path, **kw: reads.append(str(path)) or real(path, **kw))
    rng = np.random.default_rng(0)
    task = Task("t", rng.random((12, 1, 8, 8), dtype=np.float32), np.arange(12) % 3)
    source = external.external_source(ExternalModelSpec(name="m", checkpoint=str(tmp_path / "m.pt")), 0, [task],
                                      default_arch="small_cnn")
    assert reads == [str(tmp_path / "m.pt")]
    reference, _ = load_model(tmp_path / "m.pt")
    for a, b in zip(source.model.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
