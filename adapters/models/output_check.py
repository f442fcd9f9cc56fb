"""One-batch check that a rebuilt source model's outputs carry information.

A checkpoint loaded into a model built differently from the one it came from (a constructor flag
such as torchvision's ``transform_input``, another preprocessing) can load without error and still
give degenerate outputs: the same logits for every input, non-finite logits, or predictions
saturated on one class. So can a model rebuilt correctly whose classifier head is degenerate (untrained,
collapsed). The scores that read the model's predictions (LEEP, NCE: metric input ``"probs"``) of such a
model are meaningless but look normal (LEEP is then exactly :math:`-H(Y)`, normalized LEEP 0); the
scores that read its features (LogME, H-score, ...) may still be valid, since the features can carry
information the head lost. :func:`degenerate_output_warning` forwards one stratified batch of a task
(about 32 samples, every class) through the model and says which of these it sees;
:func:`degenerate_output_advice` says what that means and its possible causes.

Checks on the logits :math:`L` (n, Z) of the batch, in order:

1. non-finite values;
2. constant logits: :math:`\\max_z (\\max_i L_{iz} - \\min_i L_{iz}) \\le 10^{-6} (1 + \\max |L|)`;
3. label-prior LEEP: :math:`\\mathrm{LEEP} + H(Y) \\le 10^{-6} H(Y)` on the batch's labels (the
   predictions tell nothing about them; Nguyen et al., ICML 2020, https://arxiv.org/abs/2002.12462).

A healthy model, even a randomly initialised one, gives varied logits and LEEP above :math:`-H(Y)`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["degenerate_output_warning", "degenerate_output_advice", "check_sample", "TOLERANCE"]

#: Relative tolerance of the constant-logits and label-prior checks.
TOLERANCE = 1e-6


def check_sample(labels: np.ndarray, size: int = 32) -> np.ndarray:
    """Positions of a stratified sample of about ``size``: the first ``ceil(size / K)`` samples of each of
    the K classes (with K > ``size``: one sample of each of the first ``size`` classes)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    per = max(1, -(-size // max(len(classes), 1)))
    kept = classes[:max(size // per, 2)]
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per] for c in kept]))


def _entropy(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def degenerate_output_advice() -> str:
    """What a degenerate output means for the scores, and its possible causes (the sentence after the
    problem that :func:`degenerate_output_warning` found). The metrics are named from
    ``transfergraph.planner.metrics.REGISTRY``: output-based = input ``"probs"``, feature-based = the others."""
    from transfergraph.planner.metrics import REGISTRY

    probs = [n for n, m in REGISTRY.items() if str(m.input) == "probs"]
    feats = [n for n, m in REGISTRY.items() if str(m.input) != "probs"]
    return (f"Its output-based scores are meaningless for this source ({', '.join(probs)}: they read the model's "
            f"predictions); its feature-based scores ({', '.join(feats)}) read its features (the input of its last "
            "nn.Linear, or feature_layer) and may still be valid. Possible causes: a degenerate or untrained classifier head (the features can still "
            "transfer: `transfergraph validate` with retrain_head measures that), or an entry that does not rebuild "
            "the model the checkpoint came from (arch, arch_kwargs, from_pretrained) or its preprocess (resize, "
            "mean, std).")


def degenerate_output_warning(source: Any, task: Any, *, size: int = 32) -> str | None:
    """What is degenerate about ``source``'s outputs on a batch of ``task``'s training data (None: nothing).

    ``source`` is a :class:`transfergraph.planner.Source` (model, transform); ``task`` a
    :class:`transfergraph.planner.Task`. At most ``size`` samples (stratified, :func:`check_sample`)
    go through the model once; errors of the forward pass propagate.
    """
    import torch

    from transfergraph.planner.metrics.leep import leep
    from transfergraph.planner.runtime.forward import forward

    idx = check_sample(task.labels, size)
    labels = np.asarray(task.labels)[idx]
    out = forward(source.model, task.inputs[idx], transform=source.transform, want_features=False,
                  batch_size=len(idx))
    logits = np.asarray(out.logits, dtype=np.float64)
    where = f"on {len(idx)} samples of task {task.name!r}"
    if not np.isfinite(logits).all():
        return f"gives non-finite logits (NaN or inf) {where}"
    spread = float((logits.max(axis=0) - logits.min(axis=0)).max())
    if spread <= TOLERANCE * (1.0 + float(np.abs(logits).max())):
        return f"gives the same logits for every input {where} (largest spread {spread:.3g})"
    if len(np.unique(labels)) < 2:
        return None
    log_probs = torch.log_softmax(torch.as_tensor(logits), dim=1).numpy()
    h = _entropy(labels)
    value = leep(log_probs, labels, log_probs=True)
    if value + h <= TOLERANCE * h:
        top = np.bincount(logits.argmax(axis=1), minlength=logits.shape[1])
        return (f"gives predictions that carry no information about the labels {where}: LEEP {value:.6g} = -H(Y) = {-h:.6g} "
                f"(normalized 0; {int(top.max())} of {len(idx)} samples predicted as class {int(top.argmax())})")
    return None
