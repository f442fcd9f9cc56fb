"""The three transfer methods on tiny digits tasks: results, contracts, determinism, errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import _val_support as S
from planner import Source, Task
from planner.exceptions import InputError
from planner.validation import fine_tune, fine_tune_curve, meta_transfer, retrain_head, retrain_head_many
from planner.validation._common import encode, evaluate_codes

KEYS = {"accuracy", "f1", "seconds", "n_train", "n_test", "n_classes", "status", "error"}


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_retrain_head_learns_an_easy_target(sources, tasks):
    out = retrain_head(sources[2], tasks[1])  # 'all' source, digits 5 vs 6
    assert KEYS <= set(out)
    assert out["status"] == "ok" and out["n_classes"] == 2 and out["n_test"] == 40
    assert out["accuracy"] >= 0.8  # chance is 0.5; frozen digit features separate 5 from 6
    assert 0.0 <= out["f1"] <= 1.0 and out["seconds"] > 0


def test_retrain_head_many_matches_single_calls_and_forwards_once(sources, tasks, monkeypatch):
    import planner.validation.head_retraining as rh

    calls = []
    real = rh.forward

    def counting(model, pool, *a, **k):
        calls.append(len(pool))
        return real(model, pool, *a, **k)

    monkeypatch.setattr(rh, "forward", counting)
    many = retrain_head_many(sources[1], tasks)
    assert len(calls) == 1
    distinct = len({x.tobytes() for t in tasks for x in np.concatenate([t.inputs, t.test_inputs])})
    assert calls[0] == distinct  # shared samples (t_low overlaps t_b, t_c) forwarded once
    for task, batched in zip(tasks, many):
        single = retrain_head(sources[1], task)
        # same head on the same features up to float rounding of a different batch layout
        assert abs(single["accuracy"] - batched["accuracy"]) <= 1.0 / single["n_test"] + 1e-12


def test_retrain_head_fit_subset_gives_the_full_calls_numbers(sources, tasks):
    full = retrain_head_many(sources[0], tasks)
    part = retrain_head_many(sources[0], tasks, fit=[1, 3])
    assert part[0] is None and part[2] is None
    assert part[1] == full[1] | {"seconds": part[1]["seconds"]}
    assert part[3]["accuracy"] == full[3]["accuracy"]


def test_fine_tune_trains_a_copy_and_is_seeded(sources, tasks):
    src = sources[0]
    before = _state(src.model)
    a = fine_tune(src, tasks[2], seed=5, epochs=2)
    b = fine_tune(src, tasks[2], seed=5, epochs=2)
    assert KEYS <= set(a) and a["n_classes"] == 3
    assert (a["accuracy"], a["f1"]) == (b["accuracy"], b["f1"])
    after = _state(src.model)
    assert all(torch.equal(before[k], after[k]) for k in before), "fine_tune modified the source model"
    assert src.model.head.out_features == 5


def test_fine_tune_curve_records_every_epoch_and_scratch_differs(sources, tasks):
    ft = fine_tune_curve(sources[2], tasks[1], seed=0, epochs=3)
    sc = fine_tune_curve(sources[2], tasks[1], seed=0, epochs=3, from_scratch=True)
    assert len(ft["curve"]) == len(sc["curve"]) == 3 and len(ft["losses"]) == 3
    assert ft["accuracy"] == ft["curve"][-1]
    assert ft["losses"] != sc["losses"]  # different starting weights


def test_meta_transfer_with_a_nearest_centroid_meta_model(tasks):
    out = meta_transfer(None, tasks[1], meta_model=S.NearestCentroidMeta(), seed=0)
    assert KEYS <= set(out) and out["status"] == "ok"
    assert out["accuracy"] >= 0.8  # class means of raw 8x8 digits separate 5 from 6


def test_meta_transfer_rejects_a_model_without_adapt(tasks):
    with pytest.raises(InputError, match="meta_model must be a CNAPs-style model"):
        meta_transfer(None, tasks[1], meta_model=torch.nn.Linear(2, 2))


def test_meta_transfer_rejects_wrong_logit_width(tasks):
    class Wrong(torch.nn.Module):
        def adapt(self, x, y):
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(x[0].numel(), 7))

    with pytest.raises(InputError, match="logits over the 2 context classes"):
        meta_transfer(None, tasks[1], meta_model=Wrong())


@pytest.mark.parametrize("method", [retrain_head, fine_tune])
def test_methods_need_a_test_split(method, sources):
    x, y = S.digits()
    task = Task("no_test", x[:20], y[:20] % 2)
    with pytest.raises(InputError, match="no test split"):
        method(sources[0], task)


def test_string_labels_and_unseen_test_labels():
    x, y = S.digits()
    src = S.train_source("s", (0, 1, 2), seed=0, n=60)
    names = {0: "zero", 1: "one", 7: "seven"}
    idx = np.flatnonzero(np.isin(y, [0, 1]))[:40]
    test = np.flatnonzero(np.isin(y, [0, 1, 7]))[40:70]
    task = Task("str", x[idx], [names[int(v)] for v in y[idx]],
                test_inputs=x[test], test_labels=[names[int(v)] for v in y[test]])
    out = retrain_head(src, task)
    n_seven = int(np.sum(y[test] == 7))
    assert n_seven > 0
    assert out["accuracy"] <= 1 - n_seven / len(test) + 1e-12  # 'seven' was never trained: always wrong


def test_evaluate_codes_and_encode():
    assert encode(np.array(["b", "a", "z"], dtype=object), np.array(["a", "b"], dtype=object)).tolist() == [1, 0, -1]
    m = evaluate_codes(np.array([0, 1, 1, 0]), np.array([0, 1, 0, -1]))
    assert m["accuracy"] == 0.5
    from sklearn.metrics import f1_score

    assert m["f1"] == pytest.approx(f1_score([0, 1, 0, -1], [0, 1, 1, 0], average="macro", zero_division=0))
    with pytest.raises(InputError, match="same non-zero length"):
        evaluate_codes(np.array([0, 1]), np.array([0]))


def test_fine_tune_rejects_bad_budget(sources, tasks):
    with pytest.raises(InputError, match="epochs of fine_tune"):
        fine_tune(sources[0], tasks[1], epochs=0)
    with pytest.raises(InputError, match="lr of fine_tune"):
        fine_tune(sources[0], tasks[1], lr=-1.0)


def test_fine_tune_needs_a_linear_head(tasks):
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    with pytest.raises(InputError, match="nn.Linear head"):
        fine_tune(Source("conv", model), tasks[1], epochs=1)


class _Recorder:
    def __init__(self):
        self.shapes = []

    def __call__(self, batch):
        self.shapes.append(tuple(batch.shape[1:]))
        return torch.nn.functional.interpolate(batch, size=(16, 16), mode="bilinear")


@pytest.mark.parametrize("method", ["retrain_head", "fine_tune", "meta_transfer"])
def test_source_transform_is_applied(method, sources, tasks):
    rec = _Recorder()
    src = Source("up", copy.deepcopy(sources[2].model), transform=rec)
    if method == "retrain_head":
        out = retrain_head(src, tasks[1])
    elif method == "fine_tune":
        out = fine_tune(src, tasks[1], epochs=1)
    else:
        out = meta_transfer(src, tasks[1], meta_model=S.NearestCentroidMeta())
    assert out["status"] == "ok"
    assert rec.shapes and set(rec.shapes) == {(1, 8, 8)}
