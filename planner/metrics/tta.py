r"""Task Transfer Analysis (TTA): an upper bound on the target loss of a retrained linear head.

Mehra, Zhang, Hamm, "Analysis of Task Transferability in Large Pre-trained Classifiers",
arXiv:2307.00823 (2023). The target cross-entropy of a classifier built from the source head by a
class-prior change D, a label map B and an invertible feature map is bounded by

.. math::
    L_T(g) \le \underbrace{\sum_s D_s\, \hat L_{R_s}(h)}_{\text{source\_loss}}
    + \underbrace{H_D(B)}_{\text{label\_entropy}}
    + \underbrace{\tau}_{\text{lipschitz}} \cdot
      \underbrace{\sum_y \pi_T(y)\, W_1(\tilde R_{m(y)}, \tilde T_y)}_{\text{wasserstein}}

(reweighted reference loss, label mismatch, distribution mismatch), and the transformations are
chosen to make it small. ``score = -bound`` (nats; higher = more transferable).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from transfergraph.planner.common.arguments import check_bool, check_choice, check_scalar
from transfergraph.planner.common.checks import check_features, check_labels, encode_labels
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.tensors import to_numpy
from transfergraph.planner.metrics import tta_fast
from transfergraph.planner.metrics.tta_reference import Reference, TTATerms, prepare_reference
from transfergraph.planner.metrics._regimes import tta_regime
from transfergraph.planner.metrics._registry import Metric, MetricInput, nonpositive, normalize_rank

__all__ = ["tta", "Reference", "TTATerms", "PAPER", "METRIC"]

PAPER = "https://arxiv.org/abs/2307.00823"


def _check_options(mode, lipschitz, max_per_class, candidates, standardize, seed) -> None:
    check_choice(mode, "mode", ("fast", "paper"), caller="tta")
    if isinstance(lipschitz, str):
        check_choice(lipschitz, "lipschitz", ("auto", "head"), caller="tta")
    else:
        check_scalar(lipschitz, "lipschitz", float, caller="tta", min_val=0.0, include_boundaries="neither")
    check_scalar(max_per_class, "max_per_class", int, caller="tta", min_val=2, allow_none=True)
    check_scalar(candidates, "candidates", int, caller="tta", min_val=1, allow_none=True)
    check_bool(standardize, "standardize", caller="tta")
    check_scalar(seed, "seed", int, caller="tta")


def tta(
    features: Any,
    labels: Any,
    *,
    reference: Reference,
    mode: str = "fast",
    lipschitz: str | float = "auto",
    max_per_class: int | None = 500,
    candidates: int | None = None,
    standardize: bool = True,
    seed: int = 0,
    return_terms: bool = False,
    **paper_options: Any,
) -> float | TTATerms:
    r"""Minus the TTA bound of a (reference, target) pair: higher = more transferable.

    ``mode="fast"`` (default) minimizes the bound over a label map m (collisions allowed), the prior it
    implies and a temperature on the source head, with per-domain standardization as the feature map
    (see :mod:`transfergraph.planner.metrics.tta_fast`). The transformed classifier is then a linear softmax head on
    the target features, so for every input the bound is at least the empirical target cross-entropy
    of the best linear head on the (class-capped, prior-reweighted) target sample: it is certified.
    ``mode="paper"`` is the paper's alternating minibatch-OT + Adam optimization (torch; for
    reproduction only, see :mod:`transfergraph.planner.metrics.tta_paper`); it reports the bound of the
    transformation it learned, which is not certified to bound a linear head.

    Parameters
    ----------
    features : array (n, d)
        Target features (input of the source model's last ``nn.Linear``).
    labels : sequence (n,)
        Target labels, any hashable values, at least 2 classes.
    reference : Reference
        The labelled reference sample through the same encoder, and the source head
        (:class:`transfergraph.planner.metrics.Reference`; ``Reference.pseudo`` for the opt-in pseudo reference).
    mode : {"fast", "paper"}
    lipschitz : "auto", "head" or float
        "auto": the smallest bound over the temperatures {0} and 16 log-spaced values in [1e-3, 1];
        "head": the head as given (temperature 1); a float: a fixed Lipschitz constant tau.
    max_per_class : int or None
        At most this many points per class on each side (seeded, sample-order independent); None = all.
    candidates : int or None
        Reference classes considered per target class (nearest class means first); None = all when the
        reference has at most 50 classes, else 5. Pruning can only loosen the bound.
    standardize : bool
        Standardize each domain with its own mean and std (the fast mode's feature map).
    seed : int
        Seed of the per-class subsampling (and of paper mode).
    return_terms : bool
        Return a :class:`TTATerms` (bound, source_loss, label_entropy, wasserstein, lipschitz, alpha,
        mapping, prior, target_entropy, certified = clip(1 - bound / H(pi_T), 0, 1), vacuous =
        bound >= H(pi_T), n_target_used, n_reference_used) instead of the float.
    **paper_options
        ``iterations``, ``batch_size``, ``label_weight``, ... of paper mode (see :func:`tta_paper.paper_bound`).

    Returns
    -------
    float or TTATerms
        ``-bound`` in nats (<= 0), or the terms. ``normalized`` in ``score()``: the per-target rank
        over sources (the certified value is usually vacuous, so an absolute normalization would set
        most pairs to 0); ``tta_certified`` is the absolute, cross-target comparable number.

    Raises
    ------
    InputError
        Bad features, labels, reference or option (the message names the argument).
    ImportError
        When POT is missing (``pip install "transfergraph[tta]"``).

    Notes
    -----
    All W1 distances are exact (POT's network simplex with a 1e7 iteration cap); a run that stops
    before optimality raises ``transfergraph.planner.metrics._ot.OTError`` (a failed pair in ``score()``) rather
    than returning a value that is not a valid W1.
    Cost: one exact EMD of at most ``max_per_class`` x ``max_per_class`` points per (candidate
    reference class, target class).
    """
    start = time.perf_counter()
    _check_options(mode, lipschitz, max_per_class, candidates, standardize, seed)
    if mode == "fast" and paper_options:
        raise InputError(f"tta() options {sorted(paper_options)} only apply to mode='paper'.")
    f = check_features(features, func="tta")
    f = to_numpy(f)
    y, k_t = check_labels(labels, f.shape[0], func="tta")
    _, t_classes = encode_labels(labels, func="tta")
    ref = prepare_reference(reference, f.shape[1])
    prior = np.bincount(y, minlength=k_t) / len(y)
    h_t = float(-np.sum(prior * np.log(prior)))
    if mode == "paper":
        from transfergraph.planner.metrics.tta_paper import paper_bound

        out = paper_bound(f, y, k_t, prior, ref, seed=int(seed), standardize=standardize, **paper_options)
        out.mapping = {_py(t_classes[j]): s for j, s in out.mapping.items()}
    else:
        problem = tta_fast.build_problem(f, y, k_t, prior, ref, std=standardize, cap=max_per_class,
                                         candidates=candidates, seed=int(seed))
        m, (bound, src, ent, was, lip, alpha) = tta_fast.search(problem, lipschitz)
        d = np.zeros(len(ref.classes))
        np.add.at(d, m, prior)
        out = TTATerms(
            bound=bound, source_loss=src, label_entropy=ent, wasserstein=was, lipschitz=lip, alpha=alpha,
            mapping={_py(t_classes[j]): _py(ref.classes[s]) for j, s in enumerate(m)},
            prior={_py(ref.classes[s]): float(d[s]) for s in np.unique(m)},
            n_target_used=problem.n_target, n_reference_used=problem.n_reference, mode="fast",
        )
    if mode == "fast" and abs(out.bound - h_t) <= 1e-12:
        # the label-prior head (bound H(pi_T), up to rounding) won: report exactly H(pi_T), so sources that
        # explain nothing beyond the prior tie instead of being ranked by rounding noise
        out.label_entropy += h_t - out.bound
        out.bound = h_t
    out.target_entropy = h_t
    out.certified = float(min(max(1.0 - out.bound / h_t, 0.0), 1.0))
    out.vacuous = bool(out.bound >= h_t)
    out.seconds = time.perf_counter() - start
    return out if return_terms else -float(out.bound)


def _py(v: Any) -> Any:
    """A NumPy scalar as the matching Python scalar (for dict keys and JSON)."""
    return v.item() if hasattr(v, "item") else v


#: This metric's record in ``transfergraph.planner.metrics.REGISTRY``: ``version`` is bumped whenever
#: its numbers or flags change (score caches key on it). Rank-normalized: the certified value is
#: usually vacuous, and a vacuous upper bound is no sign of negative transfer.
METRIC = Metric(name="tta", func=tta, input=MetricInput.FEATURES_REFERENCE, version="2", seeded=True, paper=PAPER,
                normalizer=normalize_rank, bounds=nonpositive, regime=tta_regime,
                invariant_columns=frozenset({"zero", "constant", "duplicated"}),
                columns=tuple(TTATerms(0, 0, 0, 0, 0, 0).columns()))
