"""Inputs and outputs of the TTA metric: the reference sample and the bound's terms.

:class:`Reference` is the labelled source-side sample the bound needs (its features through the same
encoder as the target's, its labels, and the source classifier's last linear layer);
:class:`TTATerms` holds every term of the bound. See :func:`transfergraph.planner.metrics.tta`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transfergraph.planner.common.checks import check_features, check_labels, check_matrix, encode_labels
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.tensors import to_numpy

__all__ = ["Reference", "TTATerms", "PreparedReference", "prepare_reference"]


@dataclass(frozen=True)
class Reference:
    """A labelled reference (source-task) sample through the same encoder as the target features.

    Attributes
    ----------
    features : array (m, d)
        Reference features: the input of the source model's last ``nn.Linear``, like the target's.
    labels : sequence (m,)
        Reference labels (any hashable values; at least 2 classes).
    head_weight : array (Z, d) or None
        Weight of the source classifier's last linear layer (logits = W f + c). None: a multinomial
        logistic head (L2, C = 1) is fitted on the standardized reference features.
    head_bias : array (Z,) or None
        Its bias; None means zeros.
    head_classes : sequence (Z,) or None
        The reference label of each head row. None: the sorted distinct reference labels when the head
        has exactly that many rows, else ``0..Z-1``. Every reference class must be one of them.
    name : str
        Shown in error messages.
    """

    features: Any
    labels: Any
    head_weight: Any = None
    head_bias: Any = None
    head_classes: Any = None
    name: str = "reference"

    @classmethod
    def pseudo(cls, features: Any, probs: Any, head_weight: Any, head_bias: Any = None) -> "Reference":
        """The target itself, labelled by the source's argmax (opt-in; an unvalidated variant).

        ``probs`` (n, Z) are the source's probabilities (or logits: only the argmax is used); the
        labels are head-row indices, so ``head_classes`` is ``0..Z-1``.
        """
        p = check_matrix(probs, arg="probs", func="Reference.pseudo", what="(n, Z) probability")
        p = to_numpy(p)
        w = check_matrix(head_weight, arg="head_weight", func="Reference.pseudo", what="(Z, d) head weight")
        z = w.shape[0]
        if p.shape[1] != z:
            raise InputError(f"probs of Reference.pseudo() must have {z} columns (one per head row); got {p.shape[1]}.")
        return cls(features, np.argmax(p, axis=1), head_weight, head_bias, np.arange(z), "pseudo")


@dataclass
class TTATerms:
    """Every term of the TTA bound for one (reference, target) pair (float64, nats).

    ``bound = source_loss + label_entropy + lipschitz * wasserstein``.
    """

    bound: float
    source_loss: float
    label_entropy: float
    wasserstein: float
    lipschitz: float
    alpha: float
    mapping: dict = field(default_factory=dict)
    prior: dict = field(default_factory=dict)
    target_entropy: float = 0.0
    certified: float = 0.0
    vacuous: bool = True
    n_target_used: int = 0
    n_reference_used: int = 0
    mode: str = "fast"
    seconds: float = 0.0

    def columns(self) -> dict[str, Any]:
        """The extra score-table columns (``tta_*``)."""
        return {
            "tta_source_loss": self.source_loss, "tta_label_entropy": self.label_entropy,
            "tta_wasserstein": self.wasserstein, "tta_lipschitz": self.lipschitz,
            "tta_certified": self.certified, "tta_vacuous": bool(self.vacuous),
        }


@dataclass
class PreparedReference:
    """A checked reference: codes, classes and a head restricted to the reference classes (raw coordinates)."""

    features: np.ndarray  # (m, d)
    codes: np.ndarray  # (m,) in 0..K_R-1
    classes: np.ndarray  # (K_R,)
    weight: np.ndarray  # (K_R, d)
    bias: np.ndarray  # (K_R,)
    fitted: bool  # the head was fitted here (no usable head was given)


def _fit_head(u: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """L2 multinomial logistic head (C = 1) on standardized features, returned in raw coordinates."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = u.mean(axis=0), u.std(axis=0)
    sd[sd < 1e-12] = 1.0
    clf = LogisticRegression(C=1.0, max_iter=1000, tol=1e-8).fit((u - mu) / sd, codes)
    w = clf.coef_ / sd
    b = clf.intercept_ - w @ mu
    if k == 2 and w.shape[0] == 1:  # sklearn's binary head: one row; softmax form is [-z/2, z/2]
        w = np.vstack([-w[0] / 2, w[0] / 2])
        b = np.array([-b[0] / 2, b[0] / 2])
    return w, b


def prepare_reference(reference: Any, d: int, *, func: str = "tta") -> PreparedReference:
    """Check ``reference`` against target dimension ``d`` and align its head rows with its classes."""
    if not isinstance(reference, Reference):
        raise InputError(
            f"reference of {func}() must be a transfergraph.planner.metrics.Reference (reference features, labels and the "
            f"source head); got {type(reference).__name__}. Use Reference.pseudo(...) for a pseudo reference."
        )
    u = check_features(reference.features, func=func, arg="reference.features")
    u = to_numpy(u)
    if u.shape[1] != d:
        raise InputError(
            f"reference.features of {func}() must have the target's feature dimension {d}; got {u.shape[1]}."
        )
    codes, k = check_labels(reference.labels, u.shape[0], func=func, arg="reference.labels", x_arg="reference.features")
    _, classes = encode_labels(reference.labels, func=func, arg="reference.labels")
    if reference.head_weight is None:
        w, b = _fit_head(u, codes, k)
        return PreparedReference(u, codes, classes, w, b, True)
    w = check_features(reference.head_weight, func=func, arg="reference.head_weight")
    w = to_numpy(w)
    z = w.shape[0]
    if w.shape[1] != d:
        raise InputError(f"reference.head_weight of {func}() must have shape (Z, {d}); got {w.shape}.")
    b = np.zeros(z) if reference.head_bias is None else _vector(reference.head_bias, z, func)
    rows = _head_rows(reference.head_classes, classes, z, func)
    return PreparedReference(u, codes, classes, w[rows], b[rows], False)


def _vector(x: Any, z: int, func: str) -> np.ndarray:
    v = to_numpy(x)
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (z,) or not np.isfinite(v).all():
        raise InputError(f"reference.head_bias of {func}() must be a finite ({z},) vector; got shape {v.shape}.")
    return v


def _head_rows(head_classes: Any, classes: np.ndarray, z: int, func: str) -> np.ndarray:
    """Index of the head row of every reference class."""
    if head_classes is None:
        if len(classes) == z:
            return np.arange(z)
        head_classes = np.arange(z)
    hc = list(head_classes.tolist() if hasattr(head_classes, "tolist") else head_classes)
    if len(hc) != z:
        raise InputError(f"reference.head_classes of {func}() must have one label per head row ({z}); got {len(hc)}.")
    lookup = {v: i for i, v in enumerate(hc)}
    missing = [c for c in classes.tolist() if c not in lookup]
    if missing:
        raise InputError(
            f"reference.labels of {func}() must all be head classes (reference.head_classes); "
            f"{missing[:5]!r} have no head row."
        )
    return np.array([lookup[c] for c in classes.tolist()], dtype=np.int64)
