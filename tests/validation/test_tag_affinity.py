"""TAG lookahead affinity (Fifty et al., NeurIPS 2021): one step's Z and the multitask run (seconds)."""
from __future__ import annotations

import _val_support as S

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation._training_core import TrainBudget
from transfergraph.planner.validation.multitask import train_group
from transfergraph.planner.validation.tag_affinity import lookahead_affinity, tag_affinity

BUDGET = TrainBudget(steps=6, batch=8, n_evals=2)
trunk = S.decision_trunk


@pytest.fixture(scope="module")
def data():
    return S.decision_tasks()


def _toy(n_heads: int = 3, seed: int = 0):
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU())
    heads = [nn.Linear(8, 3) for _ in range(n_heads)]
    xb = torch.randn(10 * n_heads, 6)
    targets = [torch.randint(0, 3, (10,)) for _ in range(n_heads)]
    return body.train(), heads, xb, targets


def test_self_affinity_is_positive_and_an_identical_copy_gets_the_same():
    body, heads, xb, targets = _toy(2)
    heads.append(nn.Linear(8, 3))
    heads[2].load_state_dict(heads[0].state_dict())  # task 2 = task 0: same rows, labels and head
    xb = torch.cat([xb, xb[:10]])
    targets.append(targets[0].clone())
    z = lookahead_affinity(body, heads, xb, targets, lr=0.05)
    assert z.shape == (3, 3) and (np.diag(z) > 0).all()
    assert z[0, 2] > 0 and z[0, 2] == pytest.approx(z[0, 0], rel=1e-5)
    assert z[2, 0] == pytest.approx(z[2, 2], rel=1e-5)


def test_a_task_without_gradient_gives_zero_and_the_modules_are_untouched():
    body, heads, xb, targets = _toy(3)
    with torch.no_grad():
        heads[1].weight.zero_()  # constant logits: no gradient reaches the trunk
    before = {k: v.clone() for k, v in body.state_dict().items()}
    z = lookahead_affinity(body, heads, xb, targets, lr=0.1)
    assert (z[1] == 0).all()  # its lookahead step is no step: nobody's loss moves
    assert (z[:, 1] == 0).all()  # and its constant logits do not feel the others' steps
    assert (z[np.ix_([0, 2], [0, 2])] != 0).all()
    after = body.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm buffers
    assert all(p.grad is None for m in [body, *heads] for p in m.parameters()) and body.training


def test_tag_affinity_is_deterministic_and_leaves_training_unchanged(data):
    a = tag_affinity(data, seed=0, budget=BUDGET, trunk=trunk)
    b = tag_affinity(data, seed=0, budget=BUDGET, trunk=trunk)
    c = tag_affinity(data, seed=1, budget=BUDGET, trunk=trunk)
    assert a.tasks == ("a0to4", "b5to9", "c_inv") and a.steps == BUDGET.steps
    assert np.array_equal(a.affinity, b.affinity) and not np.array_equal(a.affinity, c.affinity)
    assert (np.diag(a.affinity) > 0).all()
    plain, _ = train_group(data, list(a.tasks), seed=0, budget=BUDGET, trunk=trunk)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "cpu_seconds"} for r in rows]  # noqa: E731
    assert strip(a.rows) == strip(plain)  # the measurement does not perturb the network
    every = tag_affinity(data, ["a0to4", "c_inv"], seed=0, budget=BUDGET, trunk=trunk, every=4)
    assert every.steps == 2 and every.tasks == ("a0to4", "c_inv")
    frame = a.frame()
    assert len(frame) == 6 and set(frame.columns) == {"source", "target", "affinity"}


def test_an_identical_copy_task_receives_positive_affinity(data):
    copy = dataclasses.replace(data[0], name="a_copy")
    out = tag_affinity([data[0], copy, data[1]], seed=0, budget=BUDGET, trunk=trunk)
    i, j = out.tasks.index("a0to4"), out.tasks.index("a_copy")
    assert out.affinity[i, j] > 0 and out.affinity[j, i] > 0


@pytest.mark.parametrize("kwargs, arg", [
    ({"every": 0}, "every"), ({"every": 1.5}, "every"), ({"lookahead_lr": 0.0}, "lookahead_lr"),
    ({"lookahead_lr": float("inf")}, "lookahead_lr"), ({"members": ["a0to4"]}, "members"),
    ({"members": ["a0to4", "nope"]}, "members"), ({"members": ["a0to4", "a0to4"]}, "members"),
    ({"budget": {"steps": 3}}, "budget")])
def test_bad_arguments_of_tag_affinity_name_the_argument(data, kwargs, arg):
    call = {"seed": 0, "budget": BUDGET, "trunk": trunk, **kwargs}
    with pytest.raises(InputError, match=arg):
        tag_affinity(data, **call)


def test_bad_arguments_of_lookahead_affinity_name_the_argument():
    body, heads, xb, targets = _toy(3)
    with pytest.raises(InputError, match="lr"):
        lookahead_affinity(body, heads, xb, targets, lr=0.0)
    with pytest.raises(InputError, match="targets"):
        lookahead_affinity(body, heads, xb, targets[:2], lr=0.1)
    with pytest.raises(InputError, match="xb"):
        lookahead_affinity(body, heads, xb[:-1], targets, lr=0.1)
    with pytest.raises(InputError, match="data"):
        tag_affinity([], seed=0, budget=BUDGET, trunk=trunk)


def test_the_tag_prior_benchmark_tells_a_tracking_prior_from_noise():
    """benchmarks/tag_prior.py's figures on synthetic gains: a prior equal to the true gains beats the
    split-half noise floor; an unrelated one does not; one half of the seeds vs the other is r_half."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from tag_prior import compare

    rng = np.random.default_rng(0)
    truth = rng.normal(size=20)
    gains = truth + 0.3 * rng.normal(size=(8, 20))  # 8 seeds of measured gains
    good = compare(np.array([truth + 0.1 * rng.normal(size=20) for _ in range(3)]), gains, n_boot=200)
    bad = compare(rng.normal(size=(3, 20)), gains, n_boot=200)
    assert good["rho_single"] > 0.8 and good["rho_single_low"] > good["noise_floor"]
    assert bad["rho_single_low"] < bad["noise_floor"] and abs(bad["rho_single"]) < 0.5
    assert 0.8 < good["r_half"] < good["reliability"] <= 1 and good["r_half"] == bad["r_half"]
    assert good["tag_reliability"] > 0.9 and good["rho_tag_half"] > bad["rho_tag_half"]
