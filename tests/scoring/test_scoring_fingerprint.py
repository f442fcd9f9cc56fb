"""Fingerprints: equal content gives equal digests; any change that alters scores changes them."""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn

from transfergraph.planner.common.fingerprint import array_digest, labels_digest, model_fingerprint, row_digests

from scoring_support import sleepy, tiny_model


def _halve(batch):
    return batch / 2


def _double(batch):
    return batch * 2


def test_model_fingerprint_tracks_weights_structure_transform_and_layer():
    m = tiny_model(1)
    fp = model_fingerprint(m)
    assert model_fingerprint(copy.deepcopy(m)) == fp
    assert model_fingerprint(tiny_model(1)) == fp  # same seed, same weights
    assert model_fingerprint(tiny_model(2)) != fp
    tanh = copy.deepcopy(m)
    tanh[1] = nn.Tanh()  # same state_dict, other architecture
    assert model_fingerprint(tanh) != fp
    assert model_fingerprint(m, transform=_halve) != fp
    assert model_fingerprint(m, transform=_halve) == model_fingerprint(m, transform=_halve)
    assert model_fingerprint(m, transform=_halve) != model_fingerprint(m, transform=_double)
    assert model_fingerprint(m, transform=sleepy(0.1)) != model_fingerprint(m, transform=sleepy(0.2))
    assert model_fingerprint(m, feature_layer="3") != fp
    bumped = copy.deepcopy(m)
    with torch.no_grad():
        bumped[-1].bias[0] += 1e-6
    assert model_fingerprint(bumped) != fp
    m.train()
    assert model_fingerprint(m) == fp  # the training flag does not change eval-mode scores


def test_array_row_and_label_digests():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    assert array_digest(x) == array_digest(x.copy())
    assert array_digest(x) != array_digest(x.astype(np.float64))
    assert array_digest(x) != array_digest(x.reshape(6, 4))
    rows = row_digests(np.concatenate([x, x[:1]]))
    assert rows[0] == rows[4] and len(set(rows)) == 4
    assert row_digests(x[:, ::2]) == row_digests(np.ascontiguousarray(x[:, ::2]))  # strided views hash by value
    assert labels_digest(np.array(["a", "b"])) != labels_digest(np.array(["b", "a"]))
    assert labels_digest(np.array([1, 2])) != labels_digest(np.array(["1", "2"], dtype=object))
