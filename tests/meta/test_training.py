"""Pre-training and episodic meta-training on tiny budgets: determinism, budgets, frozen backbone."""
import random

import numpy as np
import pytest
import torch

pytest.importorskip("learn2learn", reason="learn2learn not installed: pip install 'transfergraph[meta]'")

from transfergraph.adapters.meta import ROTATIONS, ROTATIONS_LOWRES, ClassPool, make_taskset, meta_train, pretrain_backbone, split_episode
from transfergraph.planner.common.exceptions import InputError

from ._data import labeled_pool

META = dict(ways=(2, 3), shots=(1, 2), queries=2, tasks_per_step=2, progress=False)


def test_meta_training_is_deterministic_and_keeps_backbone_frozen(tiny_model):
    x, y = labeled_pool()
    states = []
    for _ in range(2):
        model = tiny_model(n_source_classes=6)
        backbone = {k: v.clone() for k, v in model.backbone.state_dict().items()}
        random.seed(123)  # meta_train must not depend on (or disturb) the caller's random state
        hist = meta_train(model, x, y, steps=3, seed=5, **META)
        assert random.random() == random.Random(123).random()
        assert hist["steps"] == 3 and hist["tasks"] == 6 and np.isfinite(hist["loss"])
        assert all(torch.equal(backbone[k], v) for k, v in model.backbone.state_dict().items())
        assert all(p.requires_grad for p in model.backbone.parameters())  # flags restored
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    model = tiny_model(n_source_classes=6)
    meta_train(model, x, y, steps=3, seed=6, **META)
    assert any(not torch.equal(states[0][k], v) for k, v in model.state_dict().items())


def test_meta_training_moves_film_away_from_identity(tiny_model):
    x, y = labeled_pool()
    model = tiny_model(n_source_classes=6)
    r0 = model.film_generator.stages[0].r_gamma.detach().clone()
    meta_train(model, x, y, steps=2, seed=0, lr=1e-2, **META)
    assert not torch.equal(model.film_generator.stages[0].r_gamma, r0)


def test_pretraining_is_deterministic_and_learns(tiny_model):
    x, y = labeled_pool()
    weights, hists = [], []
    for _ in range(2):
        model = tiny_model(n_source_classes=24)
        hists.append(pretrain_backbone(model, x, y, transforms=ROTATIONS, steps=30, batch_size=32, lr=1e-2, progress=False))
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert hists[0]["loss"] == hists[1]["loss"] and hists[0]["loss"] < np.log(24)


def test_budgets_and_pool_size_are_checked(tiny_model):
    x, y = labeled_pool()
    model = tiny_model(n_source_classes=6)
    with pytest.raises(InputError, match="needs a budget"):
        meta_train(model, x, y, **META)
    with pytest.raises(InputError, match="steps of pretrain_backbone"):
        pretrain_backbone(model, x, y, steps=0)
    with pytest.raises(InputError, match="n_source_classes"):
        pretrain_backbone(model, x, y, transforms=ROTATIONS, steps=1)
    hist = meta_train(model, x, y, seconds=0.5, **META)
    assert hist["steps"] >= 1


def test_class_pool_rotations_are_extra_classes():
    x, y = labeled_pool(n_classes=3, per_class=4)
    pool = ClassPool(x, y * 10 + 1, ROTATIONS)  # any int labels
    assert pool.n_classes == 12 and len(pool) == 48
    img, label = pool[12 + 5]  # rotation 90 of image 5
    assert label == 3 + 1 and torch.equal(img, torch.rot90(torch.from_numpy(x[5]), 1, dims=(-2, -1)))
    xb, yb = pool.batch(torch.tensor([17, 5]))
    assert torch.equal(xb[0], img) and yb.tolist() == [4, 1]
    assert sorted(len(v) for v in pool.labels_to_indices.values()) == [4] * 12
    with pytest.raises(InputError, match="transforms of ClassPool"):
        ClassPool(x, y, ("rot45",))


@pytest.mark.parametrize("fused", [True, False])
def test_taskset_episodes_and_split(fused):
    x, y = labeled_pool()
    pool = ClassPool(x, y)
    random.seed(0)
    ts = make_taskset(pool, 3, 5, fused=fused)
    ex, ey = ts.sample()
    assert ex.shape == (15, 1, 12, 12) and sorted(ey.tolist()) == [0] * 5 + [1] * 5 + [2] * 5
    cx, cy, qx, qy = split_episode(ex, ey, 2)
    assert len(cx) == 6 and len(qx) == 9 and sorted(cy.tolist()) == [0, 0, 1, 1, 2, 2]
    with pytest.raises(InputError, match="shots"):
        split_episode(ex, ey, 6)
    with pytest.raises(InputError, match="ways"):
        make_taskset(pool, 7, 2)


def test_low_resolution_domain_and_multi_domain_meta_training(tiny_model):
    x, y = labeled_pool()
    low = ClassPool(x, y, ROTATIONS_LOWRES)
    img, _ = low[0]
    assert img.shape == (1, 12, 12) and not torch.allclose(img, torch.from_numpy(x[0]))
    assert torch.allclose(low.with_transforms(("rot0_low",))[0][0], img)
    assert float(img.diff(dim=-1).abs().mean()) < float(torch.from_numpy(x[0]).diff(dim=-1).abs().mean())  # smoother
    model = tiny_model(n_source_classes=6)
    hist = meta_train(model, x, y, steps=2, seed=0, domains=[("rot0",), ("rot0_low",)], **META)
    assert hist["steps"] == 2 and np.isfinite(hist["loss"])
