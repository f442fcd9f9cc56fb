"""Property tests for LEEP and NCE (hypothesis) and the proof of the LEEP normalization bound.

Bounds used: for rows summing to 1, EEP_i <= sum_z theta_iz = 1 gives LEEP <= 0, and Jensen
(log sum_z theta_iz P(y_i|z) >= sum_z theta_iz log P(y_i|z)) gives LEEP >= -H_soft(Y|Z) >= -H(Y).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from transfergraph.planner.metrics import REGISTRY, label_entropy, leep, nce

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
TOL = 1e-10


@st.composite
def problems(draw):
    """(probs (n, Z), labels (n,)) with >= 2 classes, including peaked and near-zero probabilities."""
    n = draw(st.integers(4, 30))
    z = draw(st.integers(1, 8))
    k = draw(st.integers(2, min(5, n)))
    scale = draw(st.sampled_from([0.1, 1.0, 10.0, 60.0]))
    logits = draw(arrays(np.float64, (n, z), elements=st.floats(-1, 1))) * scale
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    labels[:k] = np.arange(k)  # every class present
    return probs, labels


@SETTINGS
@given(problems())
def test_leep_between_minus_entropy_and_zero(problem):
    probs, labels = problem
    value = leep(probs, labels)
    assert -label_entropy(labels) - TOL <= value <= TOL


@SETTINGS
@given(problems())
def test_nce_between_minus_log_classes_and_zero(problem):
    probs, labels = problem
    value = nce(probs, labels)
    k = len(np.unique(labels))
    assert -label_entropy(labels) - TOL <= value <= TOL
    assert -np.log(k) - TOL <= value


@SETTINGS
@given(problems(), st.randoms(use_true_random=False))
def test_leep_invariant_to_permuting_source_classes_samples_and_target_names(problem, rnd):
    probs, labels = problem
    base = leep(probs, labels)
    cols = list(range(probs.shape[1]))
    rnd.shuffle(cols)
    rows = list(range(len(labels)))
    rnd.shuffle(rows)
    ids = list(range(len(np.unique(labels))))
    rnd.shuffle(ids)
    names = {c: f"class-{i}" for c, i in zip(np.unique(labels), ids)}
    renamed = [names[c] for c in labels[rows]]
    assert leep(probs[:, cols], labels) == pytest.approx(base, rel=1e-10, abs=1e-13)
    assert leep(probs[rows][:, cols], renamed) == pytest.approx(base, rel=1e-10, abs=1e-13)


def _soft_conditional(probs, labels):
    classes = {c: i for i, c in enumerate(np.unique(labels))}
    joint = np.zeros((len(classes), probs.shape[1]))
    for i, y in enumerate(labels):
        joint[classes[y]] += probs[i] / len(labels)
    marg = joint.sum(axis=0)
    return np.divide(joint, marg, out=np.zeros_like(joint), where=marg > 0), classes


@SETTINGS
@given(problems())
def test_leep_property_2_with_leeps_own_conditional(problem):
    """Property 2 in the form its proof supports: dropping every z but z_i = argmax theta_i from
    the EEP sum gives LEEP >= mean_i [log theta_{i z_i} + log P(y_i | z_i)], P the soft conditional
    LEEP itself uses."""
    probs, labels = problem
    cond, classes = _soft_conditional(probs, labels)
    z = probs.argmax(axis=1)
    rows = np.arange(len(z))
    rhs = np.mean(np.log(probs[rows, z]) + np.log(cond[[classes[y] for y in labels], z]))
    assert leep(probs, labels) >= rhs - TOL


@SETTINGS
@given(problems(), st.data())
def test_leep_property_2_paper_form_for_hard_predictions(problem, data):
    """With the hard-label NCE of the paper: LEEP >= NCE + mean_i log theta_{i z_i}, with equality
    for one-hot predictions (then the soft and hard joints coincide and log theta_{i z_i} = 0)."""
    probs, labels = problem
    z = np.array(data.draw(st.lists(st.integers(0, probs.shape[1] - 1), min_size=len(labels), max_size=len(labels))))
    hard = np.eye(probs.shape[1])[z]
    assert leep(hard, labels) == pytest.approx(nce(hard, labels), rel=1e-12, abs=1e-15)


def test_leep_property_2_paper_form_fails_for_soft_predictions():
    """Counterexample to the paper's Property 2 as printed (hard-label NCE, soft theta): four
    samples with distinct labels, theta = (0.475, 0.525) twice and (0.5, 0.5) twice. Then
    LEEP = log 0.25016 = -1.3857 < NCE + mean log theta_z = -log 2 - 0.6690 = -1.3619.
    The step from LEEP's soft conditional to the hard NCE conditional does not hold in general,
    so the hypothesis tests above check the supported forms."""
    p = 1 / (1 + np.exp(-0.1))
    probs = np.array([[1 - p, p], [1 - p, p], [0.5, 0.5], [0.5, 0.5]])
    labels = [0, 1, 2, 3]
    z = probs.argmax(axis=1)
    rhs = nce(probs, labels) + np.mean(np.log(probs[np.arange(4), z]))
    assert nce(probs, labels) == pytest.approx(-np.log(2), rel=1e-14)
    assert leep(probs, labels) == pytest.approx(-1.3856702065688495, rel=1e-12)
    assert leep(probs, labels) < rhs - 0.02


# ---- the normalization bound: (LEEP + H(Y)) / H(Y) in [0, 1] for random and adversarial input ----

def _adversarial_cases():
    rng = np.random.default_rng(7)
    n, z = 40, 6
    labels = np.arange(n) % 4
    cases = {}
    onehot = np.eye(z)[labels]  # perfect, deterministic source: LEEP = 0 exactly
    cases["perfect"] = (onehot, labels)
    cases["uniform"] = (np.full((n, z), 1.0 / z), labels)  # uninformative: LEEP = -H(Y) exactly
    cases["constant_row"] = (np.tile(rng.dirichlet(np.ones(z)), (n, 1)), labels)
    under = np.exp(-np.array([0.0, 1.0, 800.0, 900.0, 2.0, 760.0]) - rng.random((n, z)))
    cases["underflow_columns"] = (under / under.sum(axis=1, keepdims=True), labels)
    tiny = np.full((n, z), 1e-300)
    tiny[np.arange(n), rng.integers(0, z, n)] = 1.0
    cases["near_onehot_random"] = (tiny / tiny.sum(axis=1, keepdims=True), labels)
    skew = np.zeros(n, dtype=int)
    skew[-1] = 1  # one sample of the second class
    cases["imbalanced"] = (rng.dirichlet(np.full(z, 0.05), size=n), skew)
    cases["one_source_class"] = (np.ones((n, 1)), labels)
    cases["sparse_dirichlet"] = (rng.dirichlet(np.full(z, 0.01), size=n), labels)
    return cases


@pytest.mark.parametrize("case", sorted(_adversarial_cases()))
def test_leep_normalization_bound_adversarial(case):
    probs, labels = _adversarial_cases()[case]
    h = label_entropy(labels)
    value = leep(probs, labels)
    assert -h - TOL <= value <= TOL
    raw = (value + h) / h  # before the clip in Metric.normalize
    assert -1e-12 <= raw <= 1 + 1e-12
    out = REGISTRY["leep"].normalize(np.array([value]), n_classes=len(np.unique(labels)), label_entropy=h)
    assert 0.0 <= out[0] <= 1.0
    if case == "perfect":
        assert value == pytest.approx(0.0, abs=1e-15) and out[0] == 1.0
    if case in ("uniform", "constant_row", "one_source_class"):
        assert value == pytest.approx(-h, rel=1e-12) and out[0] == pytest.approx(0.0, abs=1e-12)


@SETTINGS
@given(problems())
def test_leep_normalization_bound_random(problem):
    probs, labels = problem
    h = label_entropy(labels)
    raw = (leep(probs, labels) + h) / h
    assert -1e-12 <= raw <= 1 + 1e-12
    assert -1e-12 <= (nce(probs, labels) + h) / h <= 1 + 1e-12
