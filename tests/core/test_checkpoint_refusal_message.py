"""A checkpoint the weights-only loader refuses is reported by torch's reason alone, not its advice to load unsafely."""
import pytest
import torch

from transfergraph.planner.common.exceptions import CheckpointError
from transfergraph.planner.runtime.checkpoints import load_weights


class _Pickled:  # any class: a whole pickled object is what weights_only=True refuses
    pass


def test_the_refusal_keeps_the_unpickler_reason_and_drops_torchs_advice(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save({"model": _Pickled()}, path)
    with pytest.raises(CheckpointError) as info:
        load_weights(path)
    text = str(info.value)
    assert f"checkpoint {path} cannot be read safely (UnpicklingError: the weights-only loader refused it: " in text
    assert "will likely succeed" not in text and "file an issue" not in text


def test_garbage_bytes_keep_their_own_reason(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_text("name: not a checkpoint\n")
    with pytest.raises(CheckpointError, match=r"cannot be read safely \(UnpicklingError: "):
        load_weights(path)
