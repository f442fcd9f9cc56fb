"""TTA metric: exact and closed-form cases, the soundness property, determinism and bad inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import linprog, minimize
from scipy.special import log_softmax

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics import Reference, tta
from transfergraph.planner.metrics import _ot, tta_fast
from transfergraph.planner.metrics.tta_reference import prepare_reference


def _problem(seed, n=200, d=8, k=4, scale=1.0):
    rng = np.random.default_rng(seed)
    w, c = rng.normal(size=(k, d)) * scale, rng.normal(size=k)
    u = rng.normal(size=(n, d))
    s = np.argmax(u @ w.T + c + rng.gumbel(size=(n, k)), axis=1)
    return u, s, w, c


def _mean_ce(u, s, w, c):
    return float(-log_softmax(u @ w.T + c, axis=1)[np.arange(len(s)), s].mean())


# ---- W1 (exact OT) ----

def test_w1_exact_cases_and_lp_agreement():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    assert _ot.w1(a, a) == 0.0
    delta = np.array([1.0, -2.0, 0.5])
    value = _ot.w1(a, a + delta)
    assert value == pytest.approx(np.linalg.norm(delta), abs=1e-10)
    ab = _ot.w1(a, b)
    assert ab == pytest.approx(_ot.w1(b, a), abs=1e-12)
    assert ab == pytest.approx(_ot.w1(a[::-1], b[[3, 1, 4, 0, 2]]), abs=1e-12)
    assert ab == pytest.approx(_ot.w1(np.tile(a, (3, 1)), np.tile(b, (3, 1))), abs=1e-10)
    # an independent LP solution of the transport problem
    cost = np.linalg.norm(a[:, None] - b[None], axis=2)
    p, q = len(a), len(b)
    eq = np.vstack([np.kron(np.eye(p), np.ones(q)), np.kron(np.ones(p), np.eye(q))])
    lp = linprog(cost.ravel(), A_eq=eq, b_eq=np.r_[np.full(p, 1 / p), np.full(q, 1 / q)], bounds=(0, None), method="highs")
    assert ab == pytest.approx(lp.fun, abs=1e-9)


def test_w1_iteration_cap_is_an_error_not_a_silent_value(monkeypatch):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(60, 4)), rng.normal(size=(60, 4))
    monkeypatch.setattr(_ot, "NUM_ITER_MAX", 3)  # POT then returns a cost below the optimum
    with pytest.raises(_ot.OTError, match="did not reach optimality.*60 x 60.*numItermax"):
        _ot.w1(a, b)
    u, s, w, c = _problem(2, n=120)
    with pytest.raises(_ot.OTError, match="did not reach optimality"):
        tta(u + 0.3, s, reference=Reference(u, s, w, c))


# ---- closed-form cases ----

def test_identity_task_gives_zero_wasserstein_and_entropy():
    u, s, w, c = _problem(3)
    t = tta(u, s, reference=Reference(u, s, w, c), lipschitz="head", return_terms=True)
    assert t.wasserstein == 0.0 and t.label_entropy == 0.0
    assert t.bound == pytest.approx(_mean_ce(u, s, w, c), abs=1e-12)
    assert t.mapping == {k: k for k in range(4)}
    auto = tta(u, s, reference=Reference(u, s, w, c), return_terms=True)
    assert auto.bound <= t.bound + 1e-12
    assert t.certified == pytest.approx(1 - t.bound / t.target_entropy) and not t.vacuous


def test_label_permutation_is_recovered_and_leaves_the_bound_unchanged():
    u, s, w, c = _problem(4)
    names = np.array(["dog", "ant", "cat", "bee"])
    ref = Reference(u, s, w, c)
    base = tta(u, s, reference=ref, lipschitz="head", return_terms=True)
    perm = tta(u, names[s], reference=ref, lipschitz="head", return_terms=True)
    assert perm.mapping == {names[k]: k for k in range(4)}
    assert perm.bound == pytest.approx(base.bound, abs=1e-12)
    assert tta(u, names[s], reference=ref) == pytest.approx(tta(u, s, reference=ref), abs=1e-12)


def test_shifted_features():
    u, s, w, c = _problem(5, d=5)
    delta = np.array([0.5, -1.0, 2.0, 0.0, 1.5])
    ref = Reference(u, s, w, c)
    prep = prepare_reference(ref, 5)
    prior = np.bincount(s) / len(s)
    problem = tta_fast.build_problem(u + delta, s, 4, prior, prep, std=False, cap=None, candidates=None, seed=0)
    np.testing.assert_allclose(np.diag(problem.cost), np.linalg.norm(delta), atol=1e-10)
    t = tta(u + delta, s, reference=ref, lipschitz="head", standardize=False, return_terms=True)
    tau = math.sqrt(2) * np.linalg.norm(w, 2)
    assert t.bound <= _mean_ce(u, s, w, c) + tau * np.linalg.norm(delta) + 1e-10
    # with standardization: exactly invariant to a positive per-coordinate affine map of the target
    scale = np.array([2.0, 0.5, 3.0, 1.0, 7.0])
    a = tta(u, s, reference=ref, return_terms=True)
    b = tta(u * scale + delta, s, reference=ref, return_terms=True)
    assert b.bound == pytest.approx(a.bound, abs=1e-10)


def test_one_dimensional_hand_case():
    a_, delta = 0.7, 0.3
    u, s = np.array([[-1.0], [1.0]]), np.array([0, 1])
    w = np.array([[-a_], [a_]])
    target = np.array([[-(1 + delta)], [1 + delta]])
    t = tta(target, s, reference=Reference(u, s, w, np.zeros(2)), lipschitz="head", standardize=False,
            return_terms=True)
    assert t.lipschitz == pytest.approx(2 * a_, abs=1e-12)
    assert t.bound == pytest.approx(math.log1p(math.exp(-2 * a_)) + 2 * a_ * delta, abs=1e-12)
    assert math.log1p(math.exp(-2 * a_ * (1 + delta))) <= t.bound


def test_uninformative_head_and_fewer_reference_classes():
    u, s, w, c = _problem(6)
    zero = tta(u + 5.0, s, reference=Reference(u, s, np.zeros_like(w), np.zeros(4)), lipschitz="head",
               standardize=False, return_terms=True)
    assert zero.lipschitz == 0.0
    assert zero.bound == pytest.approx(math.log(len(set(zero.mapping.values()))) + zero.label_entropy, abs=1e-12)
    # 2 reference classes, 4 target classes: the label map must collide
    keep = s < 2
    ref2 = Reference(u[keep], s[keep], w[:2], c[:2])
    t = tta(u, s, reference=ref2, return_terms=True)
    d = np.array(list(t.prior.values()))
    prior = np.bincount(s) / len(s)
    h = lambda p: float(-(p * np.log(p)).sum())  # noqa: E731
    assert t.label_entropy > 0
    assert t.label_entropy == pytest.approx(h(prior) - h(d), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_auto_bound_never_exceeds_the_label_prior(seed):
    """lipschitz='auto' includes the label-prior head (one reference class, alpha = 0): bound <= H(pi_T)."""
    rng = np.random.default_rng(seed)
    k_r, k_t, d = 5, 10, 8
    u, s = rng.normal(size=(200, d)), rng.integers(0, k_r, 200)
    f, y = rng.normal(size=(400, d)) * 3, rng.integers(0, k_t, 400)
    t = tta(f, y, reference=Reference(u, s, rng.normal(size=(k_r, d)) * 5, np.zeros(k_r)), return_terms=True)
    assert t.bound <= t.target_entropy
    if t.vacuous:  # the label-prior head: exactly H(pi_T), so vacuous sources tie
        assert t.bound == t.target_entropy and t.certified == 0.0


# ---- soundness: the bound holds for the classifier it describes and for the best linear head ----

def _best_head_ce(f, y, k):
    """Target cross-entropy of a linear head fitted without regularization (L-BFGS, tight tolerance)."""
    n, d = f.shape
    onehot = np.eye(k)[y]

    def fun(x):
        wt, b = x[: d * k].reshape(d, k), x[d * k:]
        z = f @ wt + b
        lp = log_softmax(z, axis=1)
        p = np.exp(lp)
        g = (p - onehot) / n
        return -float((lp * onehot).sum() / n), np.r_[(f.T @ g).ravel(), g.sum(axis=0)]

    res = minimize(fun, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-10})
    return float(res.fun)


def _g_ce(f, y, k_t, t, ref: Reference, classes_r):
    """Empirical target CE of the transformed classifier g rebuilt from the returned terms."""
    fz = (f - f.mean(0)) / np.where(f.std(0) < 1e-12, 1, f.std(0))
    u = np.asarray(ref.features)
    mu, sd = u.mean(0), np.where(u.std(0) < 1e-12, 1, u.std(0))
    wt, ct = ref.head_weight * sd, ref.head_bias + ref.head_weight @ mu
    prior = np.bincount(y, minlength=k_t) / len(y)
    m = np.array([list(classes_r).index(t.mapping[j]) for j in range(k_t)])
    dm = np.array([t.prior[classes_r[s]] for s in m])
    logits = t.alpha * (fz @ wt[m].T + ct[m]) + np.log(prior / dm)
    return float(-log_softmax(logits, axis=1)[np.arange(len(y)), y].mean())


@pytest.mark.parametrize("case", range(15))
def test_soundness_on_random_small_problems(case):
    rng = np.random.default_rng(100 + case)
    d, k_t, k_r = int(rng.integers(1, 6)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    y = np.repeat(np.arange(k_t), rng.integers(2, 16, size=k_t))
    s = np.repeat(np.arange(k_r), rng.integers(2, 16, size=k_r))
    f = rng.normal(size=(len(y), d)) + rng.normal(size=(k_t, d))[y] * rng.uniform(0, 3)
    u = rng.normal(size=(len(s), d)) + rng.normal(size=(k_r, d))[s] * rng.uniform(0, 3)
    ref = Reference(u, s, rng.normal(size=(k_r, d)) * rng.uniform(0, 4), rng.normal(size=k_r))
    lip = ["auto", "head", float(rng.uniform(0.1, 2))][case % 3]
    t = tta(f, y, reference=ref, lipschitz=lip, max_per_class=None, return_terms=True)
    assert t.bound == pytest.approx(t.source_loss + t.label_entropy + t.lipschitz * t.wasserstein, abs=1e-12)
    assert _g_ce(f, y, k_t, t, ref, list(range(k_r))) <= t.bound + 1e-12
    assert _best_head_ce(f, y, k_t) <= t.bound + 1e-9


def test_lipschitz_certificate_against_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(50):
        z, k, d = int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(1, 6))
        w, c = torch.tensor(rng.normal(size=(z, d)) * 3), torch.tensor(rng.normal(size=z))
        b = torch.softmax(torch.tensor(rng.normal(size=(k, z)) * 3), 0)
        f = torch.tensor(rng.normal(size=d) * 2, requires_grad=True)
        loss = -torch.log(b @ torch.softmax(w @ f + c, 0))[int(rng.integers(k))]
        (grad,) = torch.autograd.grad(loss, f)
        worst = max(worst, float(grad.norm()) / (math.sqrt(2) * float(torch.linalg.matrix_norm(w, 2))))
    assert worst <= 1.0


# ---- determinism, sample order, capping ----

def test_deterministic_and_sample_order_invariant_with_capping():
    u, s, w, c = _problem(8, n=300, d=4, k=3)
    ref = Reference(u, s, w, c)
    f = u[::-1] * 1.1 + 0.2
    y = s[::-1]
    first = tta(f, y, reference=ref, max_per_class=40, seed=3, return_terms=True)
    assert tta(f, y, reference=ref, max_per_class=40, seed=3, return_terms=True).bound == first.bound
    perm = np.random.default_rng(0).permutation(len(y))
    assert tta(f[perm], y[perm], reference=ref, max_per_class=40, seed=3) == -first.bound
    assert first.n_target_used == 120 and first.n_reference_used == 120


# ---- bad inputs ----

@pytest.mark.parametrize("kwargs, pattern", [
    ({"reference": "pseudo"}, r"reference of tta\(\) must be a transfergraph.planner.metrics.Reference"),
    ({"mode": "slow"}, r"mode of tta\(\) must be one of 'fast', 'paper'; got 'slow'"),
    ({"lipschitz": -1.0}, r"lipschitz of tta\(\) must be a float > 0.0; got -1.0"),
    ({"lipschitz": "max"}, r"lipschitz of tta\(\) must be one of 'auto', 'head'"),
    ({"max_per_class": True}, r"max_per_class of tta\(\) must be an int >= 2 or None; got True"),
    ({"candidates": 0}, r"candidates of tta\(\) must be an int >= 1 or None; got 0"),
    ({"standardize": 1}, r"standardize of tta\(\) must be True or False"),
    ({"iterations": 5}, r"options \['iterations'\] only apply to mode='paper'"),
])
def test_bad_options(kwargs, pattern):
    u, s, w, c = _problem(9, n=40)
    kwargs = {"reference": Reference(u, s, w, c), **kwargs}
    with pytest.raises(InputError, match=pattern):
        tta(u, s, **kwargs)


def test_bad_reference():
    u, s, w, c = _problem(10, n=40)
    with pytest.raises(InputError, match=r"reference.features of tta\(\) must have the target's feature dimension 8; got 3"):
        tta(u, s, reference=Reference(u[:, :3], s, w[:, :3], c))
    with pytest.raises(InputError, match=r"reference.labels of tta\(\) must all be head classes.*\[7\]"):
        tta(u, s, reference=Reference(u, np.where(s == 0, 7, s), w, c, head_classes=[0, 1, 2, 3]))
    with pytest.raises(InputError, match=r"reference.head_weight of tta\(\) must have shape \(Z, 8\)"):
        tta(u, s, reference=Reference(u, s, w[:, :3], c))
    with pytest.raises(InputError, match=r"reference.head_bias of tta\(\) must be a finite \(4,\) vector"):
        tta(u, s, reference=Reference(u, s, w, c[:2]))
    with pytest.raises(InputError, match=r"reference.labels of tta\(\) must contain at least 2 distinct classes"):
        tta(u, s, reference=Reference(u, np.zeros(40, dtype=int), w, c))
    with pytest.raises(InputError, match=r"reference.features of tta\(\) must be finite"):
        tta(u, s, reference=Reference(np.full_like(u, np.nan), s, w, c))


def test_fitted_head_when_none_is_given_and_pseudo_reference():
    u, s, w, c = _problem(11, n=150, d=4, k=3)
    t = tta(u, s, reference=Reference(u, s), return_terms=True)
    assert np.isfinite(t.bound) and t.wasserstein == 0.0 or t.alpha == 0.0
    pseudo = Reference.pseudo(u, np.exp(log_softmax(u @ w.T + c, axis=1)), w, c)
    p = tta(u, s, reference=pseudo, return_terms=True)
    assert np.isfinite(p.bound) and p.bound >= _best_head_ce(u, s, 3) - 1e-9


# ---- paper mode (reproduction only) ----

def test_paper_mode_is_seeded_and_keeps_the_best_iterate():
    u, s, w, c = _problem(12, n=90, d=3, k=3)
    ref = Reference(u, s, w, c)
    opts = dict(mode="paper", iterations=8, batch_size=30, eval_every=4, return_terms=True)
    a = tta(u + 0.5, s, reference=ref, seed=1, **opts)
    b = tta(u + 0.5, s, reference=ref, seed=1, **opts)
    assert a.bound == b.bound and a.mode == "paper"
    assert a.bound == pytest.approx(a.source_loss + a.label_entropy + a.lipschitz * a.wasserstein, abs=1e-10)
    start = tta(u + 0.5, s, reference=ref, seed=1, lr=0.0, lr_prior=0.0, **opts)  # parameters never move
    assert a.bound <= start.bound + 1e-12
    with pytest.raises(InputError, match=r"iterations of tta\(\) must be an int >= 1; got 0"):
        tta(u, s, reference=ref, mode="paper", iterations=0)


def test_bound_and_wasserstein_grow_with_the_class_mean_perturbation():
    rng = np.random.default_rng(13)
    k, d = 4, 6
    means = rng.normal(size=(k, d)) * 3
    s = np.repeat(np.arange(k), 40)
    u = means[s] + rng.normal(size=(len(s), d))
    ref = Reference(u, s, rng.normal(size=(k, d)), np.zeros(k))
    noise, direction = rng.normal(size=(len(s), d)), rng.normal(size=(k, d))
    out = [tta(means[s] + eps * direction[s] + noise, s, reference=ref, lipschitz=0.5, standardize=False,
               return_terms=True) for eps in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert np.all(np.diff([t.wasserstein for t in out]) > 0)
    assert np.all(np.diff([t.bound for t in out]) > 0)
