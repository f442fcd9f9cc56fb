"""Transfer by retraining the head: frozen source features, a new multinomial logistic classifier.

The LEEP paper's first transfer method (Nguyen et al., ICML 2020, §5): keep the source network
fixed, replace its last layer by a softmax classifier over the target classes, train only that.
Features are the input of the source's last ``nn.Linear`` (or ``Source.feature_layer``), exactly as
scoring uses them (:func:`transfergraph.planner.runtime.forward.forward`).

Batched for validation at scale: :func:`retrain_head_many` forwards the union of the distinct
samples of many tasks through the source once and fits one small head per task.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.dedupe import dedupe_rows
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.runtime.forward import forward
from transfergraph.planner.scoring.jobs import error_text
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.common.arguments import check_bool, check_scalar
from transfergraph.planner.runtime.threads import blas_threads
from transfergraph.planner.validation._common import encode, evaluate_codes, require_test_split, torch_threads

__all__ = ["fit_logistic_head", "retrain_head", "retrain_head_many", "HEAD_DEFAULTS"]

#: Fixed settings of the head: L2 strength C (sklearn convention), L-BFGS iterations and gradient tolerance.
HEAD_DEFAULTS = {"C": 1.0, "max_iter": 500, "tol": 1e-5}


def fit_logistic_head(
    train_features: np.ndarray,
    train_codes: np.ndarray,
    test_features: np.ndarray,
    *,
    C: float = HEAD_DEFAULTS["C"],
    max_iter: int = HEAD_DEFAULTS["max_iter"],
    tol: float = HEAD_DEFAULTS["tol"],
) -> np.ndarray:
    r"""Fit a multinomial logistic regression on standardized features; return test predictions.

    .. math::
        \min_{W, b}\; \frac1n \sum_i \Big(\log \sum_k e^{z_i^\top W_k + b_k} - z_i^\top W_{y_i} - b_{y_i}\Big)
        + \frac{1}{2 C n} \lVert W \rVert_F^2

    (scikit-learn's ``LogisticRegression(C=C)`` objective divided by Cn; the intercept is not
    penalized), where z = (f - mean) / std uses the training split's moments (std < 1e-12 -> 1).
    Solved from zero with SciPy's L-BFGS-B (gradient tolerance ``tol``, at most ``max_iter``
    iterations) in float64: deterministic, and ~3x faster than going through scikit-learn for
    these small problems. Cost per iteration O(n d K).

    Parameters
    ----------
    train_features : np.ndarray, shape (n, d)
    train_codes : np.ndarray of int, shape (n,), values in [0, K)
    test_features : np.ndarray, shape (m, d)

    Returns
    -------
    np.ndarray of int64, shape (m,): predicted codes (argmax of the m x K logits).
    """
    from scipy.optimize import minimize

    f = np.asarray(train_features, dtype=np.float64)
    g = np.asarray(test_features, dtype=np.float64)
    codes = np.asarray(train_codes, dtype=np.int64)
    if f.ndim != 2 or g.ndim != 2 or f.shape[1] != g.shape[1] or len(codes) != len(f) or len(f) == 0:
        raise InputError(
            f"fit_logistic_head needs train features (n, d), codes (n,) and test features (m, d); got shapes "
            f"{f.shape}, {codes.shape} and {g.shape}."
        )
    mean = f.mean(axis=0)
    std = f.std(axis=0)
    std[std < 1e-12] = 1.0
    z, zt = (f - mean) / std, (g - mean) / std
    n, d = z.shape
    k = int(codes.max()) + 1
    onehot = np.zeros((n, k))
    onehot[np.arange(n), codes] = 1.0
    lam = 1.0 / (C * n)

    def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        weight, bias = w[: d * k].reshape(d, k), w[d * k:]
        logits = z @ weight + bias
        top = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - top)
        s = e.sum(axis=1, keepdims=True)
        loss = float((np.log(s) + top).sum() / n - (logits * onehot).sum() / n + 0.5 * lam * (weight * weight).sum())
        resid = (e / s - onehot) / n
        return loss, np.concatenate([(z.T @ resid + lam * weight).ravel(), resid.sum(axis=0)])

    res = minimize(loss_grad, np.zeros(d * k + k), jac=True, method="L-BFGS-B",
                   options={"maxiter": int(max_iter), "gtol": float(tol)})
    weight, bias = res.x[: d * k].reshape(d, k), res.x[d * k:]
    return np.argmax(zt @ weight + bias, axis=1).astype(np.int64)


def retrain_head_many(
    source: Source,
    tasks: Sequence[Task],
    *,
    seed: int = 0,
    C: float = HEAD_DEFAULTS["C"],
    max_iter: int = HEAD_DEFAULTS["max_iter"],
    tol: float = HEAD_DEFAULTS["tol"],
    batch_size: int = 256,
    threads: int | None = 1,
    raise_errors: bool = False,
    fit: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Retrain a head of ``source`` for every task; one forward pass over their distinct samples.

    Parameters
    ----------
    source : Source
    tasks : sequence of Task, each with a test split
    seed : int
        Unused by the (deterministic) L-BFGS fit; kept for the common method signature.
    C, max_iter, tol : head settings, see :func:`fit_logistic_head`.
    batch_size : int
        Forward-pass batch size.
    threads : int or None
        torch threads during the forward pass (1 = reproducible reduction order).
    raise_errors : bool
        Raise the first error instead of recording a failed entry.
    fit : sequence of int, optional
        Positions in ``tasks`` to fit heads for (default: all). The forward pass always covers
        the samples of every task, so a subset gives exactly the numbers of the full call.

    Returns
    -------
    list of dict (None at positions not in ``fit``), one per task in order, with keys ``accuracy``, ``f1``, ``seconds`` (head fit plus
    this task's share of the forward pass, by sample count), ``n_train``, ``n_test``, ``n_classes``,
    ``status`` ("ok" or "failed") and ``error``. A task that fails (e.g. no test split) gets a
    failed entry; the others are unaffected. A forward-pass failure fails every task.
    """
    del seed
    C = check_scalar(C, "C", float, caller="retrain_head", min_val=0, include_boundaries="neither")
    max_iter = check_scalar(max_iter, "max_iter", int, caller="retrain_head", min_val=1)
    tol = check_scalar(tol, "tol", float, caller="retrain_head", min_val=0, include_boundaries="neither")
    batch_size = check_scalar(batch_size, "batch_size", int, caller="retrain_head", min_val=1)
    threads = check_scalar(threads, "threads", int, caller="retrain_head", min_val=1, allow_none=True)
    check_bool(raise_errors, "raise_errors", caller="retrain_head")
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    wanted = set(range(len(tasks)) if fit is None else (int(k) for k in fit))
    usable: list[int] = []
    for k, task in enumerate(tasks):
        try:
            require_test_split(task, "retrain_head")
            usable.append(k)
        except InputError as exc:
            if raise_errors:
                raise
            if k in wanted:
                results[k] = _failed(task, exc)
    groups: dict[tuple, list[int]] = {}
    for k in usable:
        t = tasks[k]
        groups.setdefault((t.inputs.dtype.str, t.inputs.shape[1:]), []).append(k)
    for members in groups.values():
        _run_group(source, tasks, members, wanted, results, C=C, max_iter=max_iter, tol=tol,
                   batch_size=batch_size, threads=threads, raise_errors=raise_errors)
    return results  # type: ignore[return-value]


def _run_group(source: Source, tasks: Sequence[Task], members: list[int], wanted: set[int], results: list, *,
               C: float, max_iter: int, tol: float, batch_size: int, threads: int | None,
               raise_errors: bool) -> None:
    arrays = []
    for k in members:
        arrays += [tasks[k].inputs, tasks[k].test_inputs]
    try:
        deduped = dedupe_rows(arrays, caller="retrain_head_many")
        pool, index = deduped.data, deduped.index
        with torch_threads(threads):
            out = forward(source.model, pool, transform=source.transform,
                          feature_layer=source.feature_layer, batch_size=batch_size)
        if out.features is None:
            raise InputError(f"features of Source {source.name!r} cannot be captured: {out.feature_error}.")
    except Exception as exc:  # noqa: BLE001 - recorded per pair, the run goes on
        if raise_errors:
            raise
        for k in members:
            if k in wanted:
                results[k] = _failed(tasks[k], exc)
        return
    total = sum(len(a) for a in arrays)
    with blas_threads(threads, user_api=None):  # BLAS threads: 1 is ~10x faster for these tiny fits on a busy box
        _fit_members(tasks, members, wanted, results, out, index, total, C=C, max_iter=max_iter, tol=tol,
                     raise_errors=raise_errors)


def _fit_members(tasks, members, wanted, results, out, index, total, *, C, max_iter, tol, raise_errors):  # noqa: ANN001
    for j, k in enumerate(members):
        if k not in wanted:
            continue
        task = tasks[k]
        start = time.perf_counter()
        try:
            train_idx, test_idx = index[2 * j], index[2 * j + 1]
            pred = fit_logistic_head(out.features[train_idx], encode(task.labels, task.classes),
                                     out.features[test_idx], C=C, max_iter=max_iter, tol=tol)
            metrics = evaluate_codes(pred, encode(task.test_labels, task.classes))
        except Exception as exc:  # noqa: BLE001
            if raise_errors:
                raise
            results[k] = _failed(task, exc)
            continue
        share = out.seconds * (len(train_idx) + len(test_idx)) / max(total, 1)
        results[k] = {**metrics, "seconds": time.perf_counter() - start + share, **_sizes(task),
                      "status": "ok", "error": ""}


def retrain_head(source: Source, task: Task, *, seed: int = 0, **options: Any) -> dict[str, Any]:
    """Retrain the head of ``source`` on ``task``'s training split; evaluate on its test split.

    Returns ``dict(accuracy, f1, seconds, n_train, n_test, n_classes, status, error)``; raises the
    error instead of returning a failed entry. Options as in :func:`retrain_head_many`.
    """
    return retrain_head_many(source, [task], seed=seed, raise_errors=True, **options)[0]


def _sizes(task: Task) -> dict[str, int]:
    n_test = len(task.test_labels) if task.has_test else 0
    return {"n_train": task.n_samples, "n_test": n_test, "n_classes": task.n_classes}


def _failed(task: Task, exc: BaseException) -> dict[str, Any]:
    return {"accuracy": float("nan"), "f1": float("nan"), "seconds": 0.0, **_sizes(task),
            "status": "failed", "error": error_text(exc)}
