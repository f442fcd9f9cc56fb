"""Building blocks: shapes, identity FiLM at initialisation, permutation invariance, exact rewrites."""
import numpy as np
import pytest
import torch

from transfergraph.adapters.meta import FiLMBackbone, FilmGenerator, SetEncoder
from transfergraph.adapters.meta.heads import (ClassifierGenerator, class_means, mahalanobis_as_linear, mahalanobis_head,
                                 mahalanobis_logits, prototype_head)

from ._data import images


def test_backbone_shapes_any_size():
    net = FiLMBackbone(1, (8, 16, 16, 16)).eval()
    for size in (8, 16, 28):
        assert net(torch.rand(3, 1, size, size)).shape == (3, 16)


def test_identity_film_at_initialisation_leaves_features_unchanged():
    torch.manual_seed(0)
    widths = (8, 16)
    net, gen, enc = FiLMBackbone(1, widths).eval(), FilmGenerator(8, widths), SetEncoder(1, 8, 2)
    x = torch.rand(10, 1, 12, 12)
    film = gen(enc(x))
    assert [g.shape for g, _ in film] == [(8,), (16,)]
    for gamma, beta in film:
        assert torch.allclose(gamma, torch.ones_like(gamma), atol=2e-2)
        assert beta.abs().max() < 2e-2
    assert torch.allclose(net(x, film), net(x), atol=1e-2)
    # exact identity when the output scales are zero
    for stage in gen.stages:
        torch.nn.init.zeros_(stage.r_gamma)
        torch.nn.init.zeros_(stage.r_beta)
    assert torch.equal(net(x, gen(enc(x))), net(x))
    assert gen.penalty().item() == 0.0


def test_film_penalty_is_sum_of_squared_scales():
    gen = FilmGenerator(4, (3, 5))
    expected = sum((s.r_gamma ** 2).sum() + (s.r_beta ** 2).sum() for s in gen.stages)
    assert torch.isclose(gen.penalty(), expected)


def test_set_encoder_is_permutation_invariant():
    torch.manual_seed(0)
    enc = SetEncoder(1, 8, 3)
    x = torch.rand(9, 1, 12, 12)
    perm = torch.randperm(9)
    assert enc(x).shape == (8,)
    assert torch.allclose(enc(x), enc(x[perm]), atol=1e-5)
    assert not torch.allclose(enc(x), enc(x[:4]), atol=1e-4)  # it does depend on the set


@pytest.mark.parametrize("head", ["proto", "mahalanobis", "generated"])
def test_heads_are_permutation_invariant_and_way_agnostic(head):
    torch.manual_seed(0)
    gen = ClassifierGenerator(6)
    for way in (2, 3, 6):
        feats, labels = torch.randn(4 * way, 6), torch.arange(way).repeat(4)
        perm = torch.randperm(len(labels))
        query = torch.randn(5, 6)

        def logits(f, y):
            if head == "mahalanobis":
                return mahalanobis_logits(query, *mahalanobis_head(f, y, way))
            w, b = prototype_head(f, y, way) if head == "proto" else gen(class_means(f, y, way))
            return query @ w.T + b

        out = logits(feats, labels)
        assert out.shape == (5, way)
        assert torch.allclose(out, logits(feats[perm], labels[perm]), atol=1e-4)
        # relabelling classes permutes the logit columns
        relabel = torch.randperm(way)
        assert torch.allclose(logits(feats, relabel[labels])[:, relabel], out, atol=1e-4)


def test_residual_classifier_generator_starts_at_the_prototype_head():
    gen = ClassifierGenerator(5, mode="residual", init_scale=0.0)
    feats, labels = torch.randn(12, 5), torch.arange(3).repeat(4)
    w, b = gen(class_means(feats, labels, 3))
    pw, pb = prototype_head(feats, labels, 3)
    assert torch.allclose(w, pw) and torch.allclose(b, pb)


def test_prototype_head_matches_negative_squared_distance_ranking():
    feats, labels = torch.randn(12, 4), torch.arange(3).repeat(4)
    w, b = prototype_head(feats, labels, 3)
    q = torch.randn(7, 4)
    dist = torch.cdist(q, class_means(feats, labels, 3)) ** 2
    assert torch.allclose(q @ w.T + b, -dist + (q ** 2).sum(1, keepdim=True), atol=1e-4)


def test_mahalanobis_head_equals_its_linear_rewrite_and_handles_one_shot():
    torch.manual_seed(1)
    for shots in (1, 5):
        feats, labels = torch.randn(3 * shots, 6), torch.arange(3).repeat(shots)
        mu, prec = mahalanobis_head(feats, labels, 3)
        assert torch.isfinite(prec).all()
        lift, layer = mahalanobis_as_linear(mu, prec)
        q = torch.randn(8, 6)
        assert torch.allclose(layer(lift(q)), mahalanobis_logits(q, mu, prec), atol=1e-3, rtol=1e-4)
    assert lift(q).shape == (8, 6 + 21)


def test_classifier_generator_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        ClassifierGenerator(4, mode="bogus")


def test_pooled_covariance_head_is_the_prototype_head_at_one_shot():
    torch.manual_seed(2)
    feats, labels, q = torch.randn(4, 6), torch.arange(4), torch.randn(9, 6)
    mu, prec = mahalanobis_head(feats, labels, 4, pooled=True)
    assert torch.allclose(prec, torch.eye(6).expand(4, 6, 6))  # Q_c = beta I
    assert torch.allclose(mahalanobis_logits(q, mu, prec), -torch.cdist(q, feats) ** 2, atol=1e-4)
