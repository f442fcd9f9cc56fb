"""save_checkpoint / load_checkpoint: round trip and clear CheckpointErrors."""
import pytest
import torch

from transfergraph.adapters.meta import CNAPsModel, load_checkpoint, save_checkpoint
from transfergraph.planner.common.exceptions import CheckpointError

from ._data import SIZE, images


def test_round_trip_rebuilds_the_architecture_and_weights(tiny_model, tmp_path):
    model = tiny_model(head="linear", classifier_mode="residual", task_norm=True)
    with torch.no_grad():
        model.film_generator.stages[0].r_gamma.add_(0.5)
    path = save_checkpoint(model, tmp_path / "sub" / "m.pt", extra={"steps": 3, "pool": "rot"})
    loaded, extra = load_checkpoint(path, return_extra=True)
    assert extra == {"steps": 3, "pool": "rot"}
    assert loaded.hparams == model.hparams
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    x, y, q = images(6), [0, 1, 2] * 2, torch.rand(3, 1, SIZE, SIZE)
    assert torch.equal(model.adapt(x, y)(q), loaded.adapt(x, y)(q))
    assert not list(tmp_path.glob("sub/*.tmp"))


def test_missing_truncated_and_foreign_files_raise(tiny_model, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    path = save_checkpoint(tiny_model(), tmp_path / "m.pt")
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a transfergraph-cnaps/1 checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_wrong_architecture_raises(tiny_model, tmp_path):
    path = save_checkpoint(tiny_model(), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["hparams"]["widths"] = [8, 32]
    torch.save(payload, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match="weights do not fit the architecture"):
        load_checkpoint(tmp_path / "wrong.pt")
    payload["hparams"]["no_such_option"] = 1
    torch.save(payload, tmp_path / "unknown.pt")
    with pytest.raises(CheckpointError, match="cannot build"):
        load_checkpoint(tmp_path / "unknown.pt")


def test_save_rejects_other_modules(tmp_path):
    with pytest.raises(CheckpointError, match="CNAPsModel"):
        save_checkpoint(torch.nn.Linear(2, 2), tmp_path / "x.pt")
