"""Straightforward NumPy implementations of the metrics, the baseline of ``benchmarks/metrics.py``.

Written the way the reference libraries do it (tllib-style: dense one-hot GEMMs, per-class Python
loops with boolean masks, ``np.cov`` on an n x d matrix of class means, an explicit m and F m per
LogME iteration), in float64, with the same conventions as ``transfergraph.planner.metrics`` so that the values
are comparable (1/n covariances, classes present only, constant columns dropped for H-score).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["plain_leep", "plain_nce", "plain_h_score", "plain_reg_h_score", "plain_logme",
           "plain_gbc", "plain_transrate"]


def _codes(labels):
    classes, codes = np.unique(labels, return_inverse=True)
    return codes, len(classes)


def plain_leep(probs, labels):
    codes, k = _codes(labels)
    n = probs.shape[0]
    onehot = np.eye(k)[codes]                      # (n, k)
    joint = onehot.T @ probs / n                   # (k, Z)
    cond = joint / joint.sum(axis=0, keepdims=True)
    eep = (probs @ cond.T)[np.arange(n), codes]    # the full (n, k) prediction matrix
    return float(np.mean(np.log(eep)))


def plain_nce(probs, labels):
    codes, k = _codes(labels)
    n, z = probs.shape
    src = probs.argmax(axis=1)
    joint = np.zeros((k, z))
    for i in range(n):                             # tllib: a Python loop over samples
        joint[codes[i], src[i]] += 1.0 / n
    marg = joint.sum(axis=0, keepdims=True)
    mask = joint > 0
    return float((joint[mask] * np.log((joint / np.where(marg > 0, marg, 1.0))[mask])).sum())


def plain_h_score(features, labels, rcond=1e-15):
    codes, k = _codes(labels)
    f = features[:, features.max(axis=0) != features.min(axis=0)]
    cov_f = np.cov(f, rowvar=False, bias=True)
    g = np.zeros_like(f)
    for c in range(k):                             # per-class masked copies
        g[codes == c] = f[codes == c].mean(axis=0)
    cov_b = np.cov(g, rowvar=False, bias=True)     # a second O(n d^2) covariance
    return float(np.trace(np.linalg.pinv(cov_f, rcond=rcond, hermitian=True) @ cov_b))


def plain_reg_h_score(features, labels):
    from sklearn.covariance import LedoitWolf

    codes, k = _codes(labels)
    f = features - features.mean(axis=0)
    lw = LedoitWolf(assume_centered=True).fit(f)
    g = np.zeros_like(f)
    for c in range(k):
        g[codes == c] = f[codes == c].mean(axis=0)
    cov_b = np.cov(g, rowvar=False, bias=True)     # 1/n like the shrunk covariance (our convention)
    return float(np.trace(np.linalg.inv(lw.covariance_) @ ((1 - lw.shrinkage_) * cov_b)))


def plain_logme(features, labels, tol=1e-2, max_iter=11):
    """tllib's per-class loop (explicit m = V (...) and F m each iteration, evidence at the stale m);
    eigh of F^T F for the spectrum."""
    codes, k = _codes(labels)
    f = features
    n, d = f.shape
    s, v = np.linalg.eigh(f.T @ f)
    s = np.maximum(s, 0.0)
    out = []
    for c in range(k):
        y = (codes == c).astype(np.float64)
        tmp = v.T @ (f.T @ y)
        alpha, beta, lam = 1.0, 1.0, 1.0
        for _ in range(max_iter):
            gamma = float((s / (s + lam)).sum())
            m = v @ (tmp * beta / (alpha + beta * s))
            alpha_de = float(m @ m)
            alpha = gamma / alpha_de
            beta_de = float(((y - f @ m) ** 2).sum())
            beta = (n - gamma) / beta_de
            new_lam = alpha / beta
            if abs(new_lam - lam) / lam < tol:
                break
            lam = new_lam
        ev = (d / 2 * math.log(alpha) + n / 2 * math.log(beta) - 0.5 * float(np.log(alpha + beta * s).sum())
              - beta / 2 * beta_de - alpha / 2 * alpha_de - n / 2 * math.log(2 * math.pi))
        out.append(ev / n)
    return float(np.mean(out))


def plain_gbc(features, labels, n_components=64):
    from sklearn.decomposition import PCA

    codes, k = _codes(labels)
    x = PCA(n_components=min(n_components, *features.shape), svd_solver="full").fit_transform(features)
    stats = []
    for c in range(k):
        rows = x[codes == c]
        stats.append((rows.mean(axis=0), float(np.maximum(rows.var(axis=0), 1e-4).mean())))
    total = 0.0
    for i in range(k):
        for j in range(k):
            if i != j:
                (m1, s1), (m2, s2) = stats[i], stats[j]
                avg = (s1 + s2) / 2
                db = float(((m1 - m2) ** 2 / avg).sum()) / 8 + 0.5 * (math.log(avg) - 0.5 * math.log(s1) - 0.5 * math.log(s2))
                total += math.exp(-db)
    return -total


def plain_transrate(features, labels, eps=1e-4):
    codes, k = _codes(labels)
    f = features - features.mean(axis=0)
    d = f.shape[1]

    def rate(z):
        return 0.5 * np.linalg.slogdet(np.eye(d) + z.T @ z / (z.shape[0] * eps))[1]

    return float(rate(f) - sum(rate(f[codes == c]) for c in range(k)) / k)
