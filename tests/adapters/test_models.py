"""Small CNN, seeded training and safe checkpoints."""
import numpy as np
import pytest
import torch

from transfergraph.adapters.models import SmallCNN, load_model, predict_logits, save_model, train_classifier
from transfergraph.planner.common.exceptions import CheckpointError


def _data(n=40):
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 8, 8), dtype=np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype(np.int64)
    return x, y


def test_training_is_deterministic_and_lowers_the_loss():
    x, y = _data()
    torch.manual_seed(0)
    a = SmallCNN(2, width=4, feature_dim=8)
    torch.manual_seed(0)
    b = SmallCNN(2, width=4, feature_dim=8)
    ha = train_classifier(a, x, y, epochs=6, seed=1)
    hb = train_classifier(b, x, y, epochs=6, seed=1)
    assert ha == hb and ha[-1] < ha[0]
    assert np.array_equal(predict_logits(a, x), predict_logits(b, x))


def test_checkpoint_round_trip(tmp_path):
    x, _ = _data()
    m = SmallCNN(3, width=4, feature_dim=8)
    save_model(m, tmp_path / "m.pt", extra={"classes": ["a", "b", "c"]})
    loaded, extra = load_model(tmp_path / "m.pt")
    assert extra == {"classes": ["a", "b", "c"]}
    assert np.array_equal(predict_logits(m, x), predict_logits(loaded, x))
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_bad_checkpoints_raise_checkpoint_error(tmp_path):
    m = SmallCNN(3, width=4, feature_dim=8)
    save_model(m, tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_model(tmp_path / "trunc.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a transfergraph-model/1 checkpoint"):
        load_model(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="expects 'resnet'"):
        load_model(tmp_path / "m.pt", expect_arch="resnet")
    # weights of another shape: same architecture name, different width
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["hparams"]["width"] = 8
    torch.save(payload, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match="does not fit architecture 'small_cnn'"):
        load_model(tmp_path / "wrong.pt")


def test_checkpoint_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"format": "transfergraph-model/1", "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_model(tmp_path / "evil.pt")
