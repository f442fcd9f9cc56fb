"""Per-metric values pinned against the plain loop oracles (``_metric_oracle.py``) and hand-computed
numbers, on the pitfall inputs of METRICS.md §3: an underflowing source column (P(z) = 0), a
zero-variance feature column, a 2-sample class, n < d, a label gap.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from _metric_oracle import (
    oracle_entropy,
    oracle_gbc,
    oracle_h_score,
    oracle_leep,
    oracle_logme,
    oracle_logme_max,
    oracle_nce,
    oracle_reg_h_score,
    oracle_transrate,
)
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics import gbc, h_score, label_entropy, leep, logme, nce, nleep, reg_h_score, transrate
from transfergraph.planner.metrics.logme import LogMEConvergenceWarning

REL = 1e-9


def _features(n=40, d=5, seed=0, gap=False, two_sample_class=True, constant_col=True):
    """Features with class structure, optionally a constant column and a class of exactly 2 samples."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    if two_sample_class:
        labels[:2] = 3
        labels[2:] = np.arange(n - 2) % 3
    f = rng.normal(size=(n, d)) + np.eye(4, d)[labels] * 2.0
    if constant_col:
        f[:, 1] = 0.7
    if gap:
        labels = np.array([0, 1, 5, 9])[labels]
    return f, labels


def _varying(f):
    return f[:, f.max(axis=0) != f.min(axis=0)]


CASES = {
    "plain": dict(),
    "label_gap": dict(gap=True),
    "n_lt_d": dict(n=12, d=30),
    "wide_gap": dict(n=10, d=25, gap=True, seed=3),
}


# ---- LEEP / NCE ----

def test_leep_hand_computed():
    """Two samples, two source classes, two target classes.

    theta = [[0.8, 0.2], [0.4, 0.6]], y = [a, b]. P(a,z) = [0.4, 0.1], P(b,z) = [0.2, 0.3],
    P(z) = [0.6, 0.4], P(a|z) = [2/3, 1/4], P(b|z) = [1/3, 3/4];
    EEP_1 = 0.8*2/3 + 0.2/4 = 0.58333..., EEP_2 = 0.4/3 + 0.6*3/4 = 0.58333...
    """
    probs = np.array([[0.8, 0.2], [0.4, 0.6]])
    expected = math.log(0.8 * 2 / 3 + 0.2 / 4) / 2 + math.log(0.4 / 3 + 0.6 * 3 / 4) / 2
    assert leep(probs, ["a", "b"]) == pytest.approx(expected, rel=1e-15)
    assert leep(probs, ["a", "b"]) == pytest.approx(math.log(7 / 12), rel=1e-15)
    # NCE: z = [0, 1] is a bijection with y: H(Y|Z) = 0
    assert nce(probs, ["a", "b"]) == 0.0


def test_nce_hand_computed():
    """z = [0, 0, 0, 1], y = [a, a, b, b]: H(Y|Z) = 3/4 * H(2/3, 1/3) = 0.4774..."""
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8]])
    expected = 0.75 * (2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert nce(probs, list("aabb")) == pytest.approx(expected, rel=1e-15)
    assert label_entropy(list("aabb")) == pytest.approx(math.log(2), rel=1e-15)


def _probs_with_underflow(n=30, z=6, seed=1):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, z)) * 2
    logits[:, 2] = -1000.0  # exp underflows to exactly 0 for every sample: P(z=2) = 0
    logits[:, 4] = -800.0
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return np.exp(log_probs), log_probs


@pytest.mark.parametrize("gap", [False, True])
def test_leep_nce_match_oracle_with_underflowing_columns(gap):
    probs, log_probs = _probs_with_underflow()
    assert (probs[:, 2] == 0).all() and (probs[:, 4] == 0).all()
    labels = np.arange(30) % 3
    labels[:2] = 7  # a 2-sample class
    if gap:
        labels = np.array([0, 1, 5, 7, 7, 7, 7, 7])[labels]
    expected = oracle_leep(probs, labels)
    # the reference implementations give NaN here (0/0 in P(y|z)); the right value skips the column
    assert np.isfinite(expected)
    assert leep(probs, labels) == pytest.approx(expected, rel=1e-12)
    assert leep(log_probs, labels, log_probs=True) == pytest.approx(expected, rel=1e-12)
    assert leep(torch.tensor(log_probs), torch.tensor(labels), log_probs=True) == pytest.approx(expected, rel=1e-12)
    assert nce(probs, labels) == pytest.approx(oracle_nce(probs, labels), rel=1e-12)
    assert label_entropy(labels) == pytest.approx(oracle_entropy(labels), rel=1e-14)


def test_leep_rows_renormalized_within_tolerance():
    probs, _ = _probs_with_underflow(seed=4)
    labels = np.arange(30) % 2
    perturbed = probs * (1 + 1e-7)  # rows sum to 1 + 1e-7: accepted, renormalized
    assert leep(perturbed, labels) == pytest.approx(leep(probs, labels), rel=1e-12)


# ---- H-score and shrinkage H-score ----

@pytest.mark.parametrize("case", ["plain", "label_gap"])
def test_h_score_matches_oracle(case):
    f, labels = _features(**CASES[case])
    assert h_score(f, labels) == pytest.approx(oracle_h_score(f, labels), rel=REL)
    assert h_score(torch.tensor(f), labels) == pytest.approx(oracle_h_score(f, labels), rel=REL)


def test_h_score_n_lt_d_with_explicit_cutoff():
    f, labels = _features(n=12, d=30)
    value = h_score(f, labels, rcond=1e-10)
    assert value == pytest.approx(oracle_h_score(f, labels, rcond=1e-10), rel=1e-7)
    assert 0 <= value <= len(np.unique(labels)) - 1 + 1e-9


def test_h_score_invariant_to_invertible_affine_maps_and_bounded():
    f, labels = _features(n=60, d=5, constant_col=False)
    rng = np.random.default_rng(3)
    a = rng.normal(size=(5, 5)) + 3 * np.eye(5)
    base = h_score(f, labels)
    assert h_score(f @ a + rng.normal(size=5), labels) == pytest.approx(base, rel=1e-8)
    assert 0 <= base <= 3  # |Y| - 1
    # n Sigma_f = S_w + S_b: perfectly separated, tight classes give H close to |Y| - 1
    tight = np.eye(4)[labels] * 100 + rng.normal(size=(60, 4)) * 1e-3
    assert h_score(tight, labels) == pytest.approx(3.0, rel=1e-4)


@pytest.mark.parametrize("case", sorted(CASES))
def test_reg_h_score_matches_oracle(case):
    f, labels = _features(**CASES[case])
    expected = oracle_reg_h_score(_varying(f), labels)  # constant columns carry no information: dropped
    assert reg_h_score(f, labels) == pytest.approx(expected, rel=REL)
    assert reg_h_score(torch.tensor(f), labels) == pytest.approx(expected, rel=REL)
    assert 0 <= reg_h_score(f, labels) <= len(np.unique(labels)) - 1


# ---- LogME ----

@pytest.mark.parametrize("case", sorted(CASES))
def test_logme_profile_is_the_maximized_evidence(case):
    """Default method: the evidence maximized over (alpha, beta), against a brute-force 2-D search
    on the textbook formula (explicit A, slogdet over all D eigenvalues)."""
    f, labels = _features(**CASES[case])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = logme(f, labels)
    assert value == pytest.approx(oracle_logme_max(f, labels), abs=1e-8)
    codes = np.unique(labels, return_inverse=True)[1]
    assert logme(torch.tensor(f), torch.tensor(codes)) == pytest.approx(value, rel=REL)


@pytest.mark.parametrize("case", sorted(CASES))
def test_logme_tllib_reference_matches_oracle(case):
    f, labels = _features(**CASES[case])
    expected = oracle_logme(f, labels, tol=1e-2, max_iter=11, stale=True)
    assert logme(f, labels, reference="tllib") == pytest.approx(expected, rel=REL)
    assert logme(torch.tensor(f), labels, reference="tllib") == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize("case", ["plain", "label_gap"])
def test_logme_fixed_point_matches_oracle_and_profile(case):
    """n >= D: MacKay's fixed point converges, to the same maximum as the profile search."""
    f, labels = _features(n=60, d=5, gap=case == "label_gap")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = logme(f, labels, method="fixed_point")
    assert value == pytest.approx(oracle_logme(f, labels), rel=REL)
    assert value == pytest.approx(logme(f, labels), rel=1e-9)


def test_logme_fixed_point_slow_for_n_lt_d_warns():
    f, labels = _features(n=12, d=30)
    with pytest.warns(LogMEConvergenceWarning, match="method='profile'"):
        slow = logme(f, labels, method="fixed_point", max_iter=50)
    assert np.isfinite(slow) and slow <= logme(f, labels) + 1e-12


def test_logme_zero_column_does_not_change_score():
    """All D eigenvalues enter log|A|: an all-zero feature column adds sigma = 0 and changes nothing
    (thuml's fixed-point code shifts the score by (D - k) log(alpha) / (2n) here)."""
    f, labels = _features(n=40, d=5, constant_col=False)
    padded = np.hstack([f, np.zeros((40, 3))])
    assert logme(padded, labels) == pytest.approx(logme(f, labels), rel=1e-12)
    wide, wlabels = _features(n=12, d=30)
    assert logme(np.hstack([wide, np.zeros((12, 4))]), wlabels) == pytest.approx(logme(wide, wlabels), rel=1e-12)


def test_logme_options_and_convergence_warning():
    f, labels = _features()
    with pytest.warns(LogMEConvergenceWarning, match="max_iter=2"):
        early = logme(f, labels, max_iter=2)
    assert np.isfinite(early)
    with pytest.warns(LogMEConvergenceWarning, match="max_iter=2"):
        assert np.isfinite(logme(f, labels, method="fixed_point", max_iter=2))
    with pytest.raises(InputError, match="method of logme"):
        logme(f, labels, method="newton")
    with pytest.raises(InputError, match="reference of logme"):
        logme(f, labels, reference="thuml")
    with pytest.raises(InputError, match="tol of logme"):
        logme(f, labels, tol=0)
    with pytest.raises(InputError, match="max_iter of logme"):
        logme(f, labels, max_iter=0)


def test_logme_unexplained_class_reaches_the_no_weight_limit():
    """A class the features do not explain drives alpha -> inf; the result is the finite limit
    (n/2 log beta - beta/2 ||y||^2 - n/2 log 2 pi with beta = n / ||y||^2), with no overflow."""
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 2
    f = rng.normal(size=(60, 3))
    f -= np.stack([f[labels == c].mean(axis=0) for c in (0, 1)])[labels]  # class sums are 0: F^T y = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = logme(f, labels)
        assert logme(f, labels, method="fixed_point") == pytest.approx(value, rel=1e-12)
    beta = 60 / 30
    limit = (60 / 2 * math.log(beta) - beta / 2 * 30 - 60 / 2 * math.log(2 * math.pi)) / 60
    assert value == pytest.approx(limit, rel=1e-12)


# ---- GBC, TransRate ----

@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("gaussian", ["spherical", "diagonal"])
def test_gbc_matches_oracle(case, gaussian):
    f, labels = _features(**CASES[case])
    expected = oracle_gbc(_varying(f), labels, gaussian=gaussian)  # constant columns dropped first
    assert gbc(f, labels, gaussian=gaussian) == pytest.approx(expected, rel=REL)
    assert gbc(f, labels, gaussian=gaussian, n_components=3) == pytest.approx(
        oracle_gbc(_varying(f), labels, n_components=3, gaussian=gaussian), rel=REL
    )


def test_gbc_separated_classes_approach_zero():
    f, labels = _features(n=60, d=4, constant_col=False, two_sample_class=False)
    far = f + 1000 * np.eye(4)[labels]
    assert gbc(far, labels) > -1e-12
    with pytest.raises(InputError, match="gaussian of gbc"):
        gbc(f, labels, gaussian="full")


@pytest.mark.parametrize("case", sorted(CASES))
def test_transrate_matches_oracle(case):
    f, labels = _features(**CASES[case])
    expected = oracle_transrate(f, labels)
    assert transrate(f, labels) == pytest.approx(expected, rel=REL)
    assert transrate(torch.tensor(f), labels) == pytest.approx(expected, rel=REL)
    assert transrate(f, labels, eps=1e-2) == pytest.approx(oracle_transrate(f, labels, eps=1e-2), rel=REL)
    with pytest.raises(InputError, match="eps of transrate"):
        transrate(f, labels, eps=-1.0)


# ---- N-LEEP ----

def test_nleep_seeded_deterministic_and_leep_of_gmm_posteriors():
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    from transfergraph.planner.metrics.nleep import canonical_order

    f, labels = _features(n=60, d=5, gap=True)
    value = nleep(f, labels, seed=3)
    assert nleep(f, labels, seed=3) == value
    assert -label_entropy(labels) <= value <= 0
    order = canonical_order(f)
    reduced = PCA(n_components=0.8, svd_solver="full").fit_transform(f[order])
    k = len(np.unique(labels))
    gm = GaussianMixture(n_components=5 * k, random_state=3).fit(reduced)
    assert value == pytest.approx(oracle_leep(gm.predict_proba(reduced), labels[order]), rel=1e-12)
    with pytest.raises(InputError, match="seed of nleep"):
        nleep(f, labels, seed=1.5)
    with pytest.raises(InputError, match="features of nleep"):
        nleep(np.ones((10, 3)), np.arange(10) % 2)
