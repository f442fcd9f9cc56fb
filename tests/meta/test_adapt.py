"""CNAPsModel.adapt: one gradient-free forward pass -> a Source-ready classifier over sorted labels."""
import numpy as np
import pytest
import torch

from transfergraph.adapters.meta import HEADS, AdaptedClassifier
from transfergraph.planner import Source
from transfergraph.planner.common.exceptions import InputError

from ._data import SIZE, images


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("way", [2, 3, 6])
def test_adapt_shapes_and_sorted_labels(tiny_model, head, way):
    model = tiny_model(head=head)
    rng = np.random.default_rng(way)
    labels_pool = np.array([42, -7, 3, 1000, 5, 0])[:way]
    y = rng.permutation(np.repeat(labels_pool, 3))
    adapted = model.adapt(images(len(y)), y)
    assert isinstance(adapted, AdaptedClassifier)
    assert adapted.classes == sorted(labels_pool.tolist())
    assert adapted(torch.rand(4, 1, SIZE, SIZE)).shape == (4, way)
    assert isinstance(list(adapted.modules())[-1], torch.nn.Linear)
    src = Source("adapted", adapted, feature_layer="features")
    assert src.model is adapted


@pytest.mark.parametrize("head", HEADS)
def test_logit_columns_follow_sorted_labels_not_input_order(tiny_model, head):
    model = tiny_model(head=head)
    x = images(9)
    y = np.array([5, 5, 5, 1, 1, 1, 3, 3, 3])
    a = model.adapt(x, y)
    perm = np.random.default_rng(0).permutation(9)
    b = model.adapt(x[perm], y[perm])
    c = model.adapt(x, np.array([0, 0, 0, 2, 2, 2, 1, 1, 1]))  # same grouping, labels renamed in sorted order
    q = torch.rand(5, 1, SIZE, SIZE)
    assert torch.allclose(a(q), b(q), atol=1e-4)
    assert a.classes == [1, 3, 5] and c.classes == [0, 1, 2]
    rename = {5: 0, 1: 2, 3: 1}  # the same groups under other names: columns move accordingly
    cols = [c.classes.index(rename[k]) for k in a.classes]
    assert torch.allclose(a(q), c(q)[:, cols], atol=1e-4)


@pytest.mark.parametrize("head", ["proto", "mahalanobis"])
def test_one_shot_context_points_are_classified_as_themselves(tiny_model, head):
    # with one shot the class mean is the context point itself: distance 0 to its own class
    model = tiny_model(head=head, film=False)
    x = images(4)
    labels = [30, -1, 7, 2]
    adapted = model.adapt(x, labels)
    pred = adapted(torch.from_numpy(x)).argmax(1).tolist()
    assert [adapted.classes[i] for i in pred] == labels


def test_adapt_is_gradient_free(tiny_model):
    model = tiny_model(head="linear")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    adapted = model.adapt(images(8), [0, 1] * 4)
    assert model.training  # the caller's mode is restored
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(p.requires_grad for p in adapted.parameters())
    assert not any(b.requires_grad for b in adapted.buffers())
    with torch.no_grad():
        again = model.adapt(images(8), [0, 1] * 4)
    q = torch.rand(3, 1, SIZE, SIZE)
    assert torch.equal(adapted(q), again(q))


def test_adapted_model_is_frozen_against_later_training(tiny_model):
    model = tiny_model()
    adapted = model.adapt(images(6), [0, 1, 2] * 2)
    q = torch.rand(3, 1, SIZE, SIZE)
    out = adapted(q).clone()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert torch.equal(adapted(q), out)


def test_adapt_rejects_bad_input(tiny_model):
    model = tiny_model()
    with pytest.raises(InputError, match="context_labels must contain at least 2 classes"):
        model.adapt(images(4), [1, 1, 1, 1])
    with pytest.raises(InputError, match="same length"):
        model.adapt(images(4), [0, 1, 0])
    with pytest.raises(InputError, match=r"context_inputs must have shape \(n, 1, H, W\)"):
        model.adapt(np.zeros((4, 3, SIZE, SIZE), np.float32), [0, 1, 0, 1])
    bad = images(4)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        model.adapt(bad, [0, 1, 0, 1])


def test_source_classifier_and_forward(tiny_model):
    model = tiny_model(n_source_classes=6)
    src = model.source_classifier()
    q = torch.rand(4, 1, SIZE, SIZE)
    assert torch.allclose(src(q), model(q))
    assert src(q).shape == (4, 6)
    assert isinstance(list(src.modules())[-1], torch.nn.Linear)
    assert not any(p.requires_grad for p in src.parameters())


def test_model_rejects_bad_hyperparameters(tiny_model):
    with pytest.raises(InputError, match="head of CNAPsModel"):
        tiny_model(head="svm")
    with pytest.raises(InputError, match="mahalanobis_beta"):
        tiny_model(mahalanobis_beta=0.0)


@pytest.mark.parametrize("head", HEADS)
def test_residual_ensemble_with_identity_film_doubles_the_frozen_logits(tiny_model, head):
    model = tiny_model(head=head, ensemble_frozen=True)
    for stage in model.film_generator.stages:
        torch.nn.init.zeros_(stage.r_gamma)
        torch.nn.init.zeros_(stage.r_beta)
    x, y, q = images(9), [4, 8, 15] * 3, torch.rand(5, 1, SIZE, SIZE)
    ensemble, frozen = model.adapt(x, y), model.adapt(x, y, use_film=False)
    assert ensemble.features(q).shape == (5, 2 * 16) and frozen.features(q).shape == (5, 16)
    assert torch.allclose(ensemble(q), 2 * frozen(q), atol=1e-3, rtol=1e-4)


def test_train_demo_meta_model_is_deterministic_on_a_tiny_budget():
    pytest.importorskip("learn2learn")
    from transfergraph.adapters.datasets import load_digits_images
    from transfergraph.adapters.meta import train_demo_meta_model

    x, y = load_digits_images(size=8)
    runs = [train_demo_meta_model(x[:300], y[:300], pretrain_steps=3, meta_steps=2, seed=3, widths=(8, 16),
                                  encoder_width=8) for _ in range(2)]
    assert runs[0].hparams["n_source_classes"] == 40
    assert all(torch.equal(v, runs[1].state_dict()[k]) for k, v in runs[0].state_dict().items())
    adapted = runs[0].adapt(x[:20], y[:20])
    assert adapted(torch.tensor(x[20:25])).shape == (5, len(set(y[:20].tolist())))
