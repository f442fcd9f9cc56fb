"""Deliberately plain float64 oracles for the metric tests: Python loops over samples and classes,
written straight from the formulas in METRICS.md, sharing no code with ``transfergraph.planner.metrics``.
"""
from __future__ import annotations

import math

import numpy as np


def classes_of(labels):
    return sorted(set(labels.tolist()), key=lambda v: (type(v).__name__, str(v)))


def oracle_leep(probs, labels):
    probs = np.asarray(probs, dtype=np.float64)
    n, z = probs.shape
    classes = classes_of(labels)
    joint = {y: [0.0] * z for y in classes}
    for i in range(n):
        for j in range(z):
            joint[labels[i]][j] += probs[i, j] / n
    marg = [sum(joint[y][j] for y in classes) for j in range(z)]
    total = 0.0
    for i in range(n):
        eep = 0.0
        for j in range(z):
            if marg[j] > 0:
                eep += probs[i, j] * joint[labels[i]][j] / marg[j]
        total += math.log(eep)
    return total / n


def oracle_nce(probs, labels):
    probs = np.asarray(probs, dtype=np.float64)
    n = probs.shape[0]
    src = [int(np.argmax(probs[i])) for i in range(n)]
    pair, per_src = {}, {}
    for i in range(n):
        pair[(labels[i], src[i])] = pair.get((labels[i], src[i]), 0) + 1
        per_src[src[i]] = per_src.get(src[i], 0) + 1
    return sum(c / n * math.log(c / per_src[s]) for (y, s), c in pair.items())


def oracle_entropy(labels):
    n = len(labels)
    counts = {}
    for v in labels.tolist():
        counts[v] = counts.get(v, 0) + 1
    return -sum(c / n * math.log(c / n) for c in counts.values())


def _class_means(f, labels):
    out = {}
    for c in classes_of(labels):
        rows = [f[i] for i in range(len(labels)) if labels[i] == c]
        out[c] = (len(rows), np.sum(rows, axis=0) / len(rows))
    return out


def oracle_h_score(features, labels, rcond=1e-15):
    """tr(pinv(cov_f) cov_b) with cov_b from the n x d matrix of per-sample class means (tllib's
    construction), 1/n both, pinv via SVD; constant columns dropped as documented."""
    f = np.asarray(features, dtype=np.float64)
    f = f[:, [j for j in range(f.shape[1]) if f[:, j].max() != f[:, j].min()]]
    n = f.shape[0]
    means = _class_means(f, labels)
    g = np.stack([means[labels[i]][1] for i in range(n)])
    cov_f = np.cov(f, rowvar=False, bias=True).reshape(f.shape[1], f.shape[1])
    cov_b = np.cov(g, rowvar=False, bias=True).reshape(f.shape[1], f.shape[1])
    return float(np.trace(np.linalg.pinv(cov_f, rcond=rcond, hermitian=True) @ cov_b))


def oracle_reg_h_score(features, labels):
    from sklearn.covariance import ledoit_wolf_shrinkage

    f = np.asarray(features, dtype=np.float64)
    n, d = f.shape
    fc = f - f.mean(axis=0)
    alpha = ledoit_wolf_shrinkage(fc, assume_centered=True)
    cov = fc.T @ fc / n
    shrunk = (1 - alpha) * cov + alpha * np.trace(cov) / d * np.eye(d)
    means = _class_means(f, labels)
    g = np.stack([means[labels[i]][1] for i in range(n)])
    cov_b = np.cov(g, rowvar=False, bias=True).reshape(d, d)
    return float(np.trace(np.linalg.inv(shrunk) @ ((1 - alpha) * cov_b)))


def oracle_evidence(f, y, alpha, beta):
    """Log evidence / n at (alpha, beta) by the textbook formula with explicit A (D x D)."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ y)
    sign, logdet = np.linalg.slogdet(a)
    ev = (
        n / 2 * math.log(beta) + d / 2 * math.log(alpha) - n / 2 * math.log(2 * math.pi)
        - beta / 2 * float(np.sum((f @ m - y) ** 2)) - alpha / 2 * float(m @ m) - 0.5 * logdet
    )
    return ev / n


def oracle_logme(features, labels, tol=1e-10, max_iter=1000, stale=False):
    """Per-class MacKay fixed point with explicit m = beta A^-1 F^T y (eigenbasis of F^T F, all D
    eigenvalues), evidence from the textbook formula (stale=False, at the final alpha, beta) or
    tllib's stale form (stale=True)."""
    f = np.asarray(features, dtype=np.float64)
    n, d = f.shape
    s, v = np.linalg.eigh(f.T @ f)
    s = np.maximum(s, 0.0)
    out = []
    for c in classes_of(labels):
        y = np.array([1.0 if labels[i] == c else 0.0 for i in range(n)])
        proj = v.T @ (f.T @ y)
        alpha, beta, lam = 1.0, 1.0, 1.0
        for _ in range(max_iter):
            gamma = float(np.sum(s / (s + lam)))
            m = v @ (proj * beta / (alpha + beta * s))
            m2 = float(m @ m)
            alpha = gamma / m2
            res = float(np.sum((y - f @ m) ** 2))
            beta = (n - gamma) / res
            new = alpha / beta
            if abs(new - lam) / lam < tol or new > 1e16 * max(s.max(), 1.0):
                break
            lam = new
        if stale:
            ev = (d / 2 * math.log(alpha) + n / 2 * math.log(beta) - 0.5 * float(np.sum(np.log(alpha + beta * s)))
                  - beta / 2 * res - alpha / 2 * m2 - n / 2 * math.log(2 * math.pi)) / n
        else:
            ev = oracle_evidence(f, y, alpha, beta)
        out.append(ev)
    return float(np.mean(out))


def oracle_marginal(f, y, alpha, beta):
    """The same log evidence / n as the Gaussian marginal likelihood of y ~ N(0, C),
    C = I_n / beta + F F^T / alpha (an n x n form, well conditioned for n < D and small alpha)."""
    n = f.shape[0]
    c = np.eye(n) / beta + f @ f.T / alpha
    sign, logdet = np.linalg.slogdet(c)
    return -0.5 * (n * math.log(2 * math.pi) + logdet + float(y @ np.linalg.solve(c, y))) / n


def oracle_logme_max(features, labels):
    """LogME by brute force: for each class, the textbook evidence maximized over (log alpha,
    log beta) by a 2-D grid then Nelder-Mead from the best grid point."""
    from scipy.optimize import minimize

    f = np.asarray(features, dtype=np.float64)
    n = f.shape[0]
    out = []
    for c in classes_of(labels):
        y = np.array([1.0 if labels[i] == c else 0.0 for i in range(n)])

        # each form where it is well conditioned: D x D for n >= D, n x n for n < D
        evidence = oracle_evidence if n >= f.shape[1] else oracle_marginal

        def neg(p):
            return -evidence(f, y, math.exp(p[0]), math.exp(p[1]))

        grid = sorted(((la, lb) for la in range(-24, 31, 2) for lb in range(-6, 31, 2)), key=neg)
        best = math.inf
        for start in grid[:3]:  # Nelder-Mead from the 3 best grid points, restarted once
            x = list(start)
            for _ in range(2):
                res = minimize(neg, x0=x, method="Nelder-Mead",
                               options=dict(xatol=1e-10, fatol=1e-15, maxiter=8000, maxfev=16000))
                x = res.x
            best = min(best, res.fun)
        res.fun = best
        out.append(-res.fun)
    return float(np.mean(out))


def oracle_gbc(features, labels, n_components=64, gaussian="spherical"):
    f = np.asarray(features, dtype=np.float64)
    n, d = f.shape
    p = min(n_components, d, n)
    fc = f - f.mean(axis=0)
    _, _, vt = np.linalg.svd(fc, full_matrices=False)
    x = fc @ vt[:p].T
    stats = {}
    for c in classes_of(labels):
        rows = np.array([x[i] for i in range(n) if labels[i] == c])
        var = np.maximum(rows.var(axis=0), 1e-4)
        if gaussian == "spherical":
            var = np.array([var.mean()])
        stats[c] = (rows.mean(axis=0), var)
    total = 0.0
    for a in stats:
        for b in stats:
            if a == b:
                continue
            (mu1, s1), (mu2, s2) = stats[a], stats[b]
            avg = (s1 + s2) / 2
            db = np.sum((mu1 - mu2) ** 2 / avg) / 8 + 0.5 * (
                np.sum(np.log(avg)) - 0.5 * np.sum(np.log(s1)) - 0.5 * np.sum(np.log(s2))
            )
            total += math.exp(-db)
    return -total


def oracle_transrate(features, labels, eps=1e-4):
    f = np.asarray(features, dtype=np.float64)
    f = f - f.mean(axis=0)
    d = f.shape[1]

    def rate(z):
        return 0.5 * np.linalg.slogdet(np.eye(d) + z.T @ z / (z.shape[0] * eps))[1]

    classes = classes_of(labels)
    within = [rate(np.array([f[i] for i in range(len(labels)) if labels[i] == c])) for c in classes]
    return float(rate(f) - sum(within) / len(classes))
