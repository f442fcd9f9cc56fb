"""ModelRef: a source model held as how to rebuild it; one rebuilt model per process; a changed file is an
error naming it; fingerprints computed once."""
import functools
import gc
import weakref

import pytest
import torch
import torch.nn as nn

from transfergraph.planner import Source
from transfergraph.planner.common.exceptions import CheckpointError, InputError
from transfergraph.planner.common.fingerprint import model_fingerprint
from transfergraph.planner.inputs.model_ref import ModelRef, clear_loaded

CALLS: list[int] = []


def _net(seed: int) -> nn.Module:
    CALLS.append(seed)
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 6), nn.ReLU(), nn.Linear(6, 3))


def _ref(seed: int) -> ModelRef:
    return ModelRef(functools.partial(_net, seed), _net(seed), describe=f"net {seed}")


def test_a_ref_rebuilds_its_model_once_per_process_and_keeps_only_the_last():
    CALLS.clear()
    a, b = _ref(1), _ref(2)
    assert CALLS == [1, 2]  # the callers' own builds; b's model is this process's last one
    first = a.load()
    assert CALLS == [1, 2, 1] and a.load() is first  # rebuilt once, then reused
    alive = weakref.ref(first)
    del first
    b.load()  # the next model replaces the last one: a's is freed
    gc.collect()
    assert alive() is None
    clear_loaded()
    assert CALLS == [1, 2, 1, 2]


def test_fingerprints_are_the_live_models_and_computed_once():
    CALLS.clear()
    ref = _ref(3)
    live = _net(3)
    source = Source("s", ref, feature_layer="2", pooling="avg")
    want = model_fingerprint(live, feature_layer="2", pooling="avg")
    assert source.model_fingerprint() == want
    clear_loaded()
    n = len(CALLS)
    assert source.model_fingerprint() == want and len(CALLS) == n  # memoized: no rebuild
    assert Source("s", live, feature_layer="2", pooling="avg").model_fingerprint() == want
    assert "Sequential" in repr(source) and len(CALLS) == n  # repr does not rebuild either


def test_a_changed_model_fails_to_load_naming_it():
    ref = ModelRef(functools.partial(_net, 4), _net(5), describe="checkpoint runs/m.pt")
    clear_loaded()
    with pytest.raises(CheckpointError, match=r"checkpoint runs/m\.pt changed since this run loaded it"):
        ref.load()


def test_bad_arguments_are_named():
    with pytest.raises(InputError, match="loader of ModelRef must be callable"):
        ModelRef("models/m.pt", _net(0), describe="x")
    with pytest.raises(InputError, match="model of ModelRef must be a torch.nn.Module; got str"):
        ModelRef(functools.partial(_net, 0), "m", describe="x")


def test_assigning_a_module_replaces_the_ref():
    source = Source("s", _ref(6))
    live = _net(7)
    source.model = live
    assert source.model_ref is None and source.model is live


def _missing() -> nn.Module:
    raise FileNotFoundError("[Errno 2] No such file: '/models/m.pt'")


def test_a_loader_that_fails_says_where_the_file_must_be():
    ref = ModelRef(_missing, _net(8), describe="checkpoint /models/m.pt")
    clear_loaded()
    with pytest.raises(CheckpointError, match=r"checkpoint /models/m\.pt: cannot be rebuilt in this process.*"
                                              r"every node must read it at the same path.*Cause: FileNotFoundError: "):
        ref.load()


class _Flagged(nn.Module):
    """Same weights, another behaviour: a constructor flag that neither the weights nor repr show."""

    def __init__(self, flip: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4, 2)
        self.flip = flip

    def forward(self, x):
        return -self.fc(x) if self.flip else self.fc(x)


def test_two_refs_to_the_same_weights_built_differently_stay_two_models():
    plain = ModelRef(functools.partial(_Flagged, False), _Flagged(False), describe="plain")
    flipped = ModelRef(functools.partial(_Flagged, True), _Flagged(True), describe="flipped")
    assert plain.weights_fp == flipped.weights_fp  # the check cannot tell them apart...
    assert plain.load().flip is False and flipped.load().flip is True  # ...the per-process model can
    clear_loaded()
    assert plain.load().flip is False and flipped.load().flip is True
