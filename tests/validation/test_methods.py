"""The three transfer methods on tiny digits tasks: results, contracts, determinism, errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import _val_support as S
from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation import fine_tune, fine_tune_curve, meta_transfer, retrain_head, retrain_head_many
from transfergraph.planner.validation._common import encode, evaluate_codes

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
    import transfergraph.planner.validation.head_retraining as rh

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
    a = fine_tune(src, tasks[2], seed=5, epochs=2, min_steps=4)
    b = fine_tune(src, tasks[2], seed=5, epochs=2, min_steps=4)
    assert KEYS <= set(a) and a["n_classes"] == 3
    assert (a["accuracy"], a["f1"]) == (b["accuracy"], b["f1"])
    after = _state(src.model)
    assert all(torch.equal(before[k], after[k]) for k in before), "fine_tune modified the source model"
    assert src.model.head.out_features == 5


def test_fine_tune_curve_records_every_epoch_and_scratch_differs(sources, tasks):
    ft = fine_tune_curve(sources[2], tasks[1], seed=0, epochs=3, min_steps=0)
    sc = fine_tune_curve(sources[2], tasks[1], seed=0, epochs=3, min_steps=0, from_scratch=True)
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


def test_small_targets_get_at_least_min_steps():
    from transfergraph.planner.validation.fine_tuning import effective_epochs

    assert effective_epochs(40, 3, 0, 64) == 3
    assert effective_epochs(40, 3, 50, 64) == 50  # one batch per epoch
    assert effective_epochs(1000, 5, 50, 64) == 5  # 16 batches per epoch: 80 steps already
    assert effective_epochs(129, 2, 10, 64) == 5  # 64 + 64 + a skipped single sample: 2 steps per epoch
    ft = fine_tune_curve(S.train_source("m", (0, 1), seed=0, n=40),
                         S.class_task("mini", (2, 3), n_train=30, n_test=10),
                         epochs=1, min_steps=3, batch_size=16)
    assert len(ft["curve"]) == 2  # 30 samples = 2 batches per epoch -> 2 epochs for 3 steps


def test_fine_tune_rejects_bad_budget(sources, tasks):
    with pytest.raises(InputError, match="epochs of fine_tune"):
        fine_tune(sources[0], tasks[1], epochs=0)
    with pytest.raises(InputError, match="lr of fine_tune"):
        fine_tune(sources[0], tasks[1], lr=-1.0)
    with pytest.raises(InputError, match="min_steps of fine_tune"):
        fine_tune(sources[0], tasks[1], min_steps=-1)
    with pytest.raises(InputError, match="head_lr of fine_tune"):
        fine_tune(sources[0], tasks[1], head_lr=0)


def test_new_head_gets_its_own_learning_rate(sources, tasks):
    from transfergraph.planner.validation.fine_tuning import replace_head, train_epochs

    seen = {}

    class Spy(torch.optim.Adam):
        def __init__(self, groups, **kw):
            seen["lrs"] = sorted(g["lr"] for g in groups)
            seen["sizes"] = [len(list(g["params"])) for g in groups]
            super().__init__(groups, **kw)

    net = replace_head(sources[0].model, 2, seed=0)
    orig = torch.optim.Adam
    torch.optim.Adam = Spy
    try:
        train_epochs(net, torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]), epochs=1, lr=1e-3, batch_size=4,
                     weight_decay=0.0, seed=0)
    finally:
        torch.optim.Adam = orig
    assert seen["lrs"] == [1e-3, pytest.approx(1e-2)] and seen["sizes"][1] == 2  # head weight + bias


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


def test_logistic_head_agrees_with_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    from transfergraph.planner.validation import fit_logistic_head

    rng = np.random.default_rng(0)
    centers = rng.normal(scale=1.5, size=(4, 6))
    y = rng.integers(0, 4, 300)
    x = centers[y] + rng.normal(size=(300, 6))
    xt = centers[y[:100]] + rng.normal(size=(100, 6))
    ours = fit_logistic_head(x[100:], y[100:], xt, C=0.5)
    mean, std = x[100:].mean(0), x[100:].std(0)
    ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=5000).fit((x[100:] - mean) / std, y[100:])
    assert np.array_equal(ours, ref.predict((xt - mean) / std))
    with pytest.raises(InputError, match="fit_logistic_head needs"):
        fit_logistic_head(x, y[:10], xt)


def test_meta_transfer_with_the_real_cnaps_model(tasks):
    from transfergraph.adapters.meta import CNAPsModel

    torch.manual_seed(0)
    model = CNAPsModel(3, widths=(8, 8), encoder_width=8, encoder_layers=2)
    out = meta_transfer(Source("bb", model.source_classifier()), tasks[2], meta_model=model, seed=0)
    assert out["status"] == "ok" and out["n_classes"] == 3 and 0.0 <= out["accuracy"] <= 1.0
