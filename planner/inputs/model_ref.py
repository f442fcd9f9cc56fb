"""A source model held as the recipe to rebuild it (e.g. a checkpoint path), not as its weights.

At zoo scale the driver of a run must not hold every source model: hundreds of checkpoints of a
few MB to a few hundred MB each would make its memory grow with the number of sources. A
:class:`ModelRef` keeps only

- ``loader``: a picklable zero-argument callable that rebuilds the model (e.g. a module-level
  function bound to a checkpoint path with ``functools.partial``), called in whichever process needs the model (the
  driver for a check, a Ray worker for a job: the file must be readable there, as on-disk data and
  the cache folder are);
- ``weights_fp``: :func:`weights_fingerprint` of the model when the ref was made (its class, repr,
  every ``state_dict`` entry and its build flags: cheaper than the scoring fingerprint, which also
  hashes the source code of every module class); every rebuilt model is checked against it, so
  a checkpoint replaced during a run fails its pairs
  (:class:`~transfergraph.planner.common.exceptions.CheckpointError`) instead of scoring other
  weights under the cache keys of the first ones;
- the scoring fingerprints already computed (:meth:`ModelRef.fingerprint`, per transform, feature
  layer and pooling), so planning a run needs no model at all.

Each process keeps the model it rebuilt last (one model: :data:`_LAST`), because the jobs of one
source come one after the other (a job per (source, sample pool)): one rebuild per source and
process, and at most one model resident beyond the one a job is running. That model is found by
the ref's own ``token`` (drawn when the ref is made, kept by its pickled copies), not by its
fingerprint: two refs to one file rebuilt differently (e.g. torchvision's googlenet with and without
``transform_input``, a flag that neither the weights nor ``repr`` show) are two models, and their
scoring fingerprints differ too (they hash the model's build flags), so they never share cached scores.
"""
from __future__ import annotations

import threading
import uuid
from typing import Any, Callable

import numpy as np

from transfergraph.planner.common.exceptions import CheckpointError, InputError

__all__ = ["ModelRef", "clear_loaded", "weights_fingerprint"]

#: this process's last rebuilt model: ``(token, model)`` (one entry; see the module docstring)
_LAST: list[tuple[str, Any]] = []
_LOCK = threading.Lock()


def weights_fingerprint(model: Any) -> str:
    """Hex digest (BLAKE2b) of ``model``'s class (qualified name), ``repr(model)`` (structure and
    hyper-parameters), every ``state_dict()`` entry's name, dtype, shape and bytes, in order, and its
    :func:`~transfergraph.planner.common.fingerprint.build_flags` (a file rewritten with the same
    weights but other flags, e.g. googlenet's ``transform_input``, is a changed model)."""
    from transfergraph.planner.common.fingerprint import _hasher, _tensor_array, build_flags

    h = _hasher()
    h.update(f"{type(model).__module__}.{type(model).__qualname__}\x00{model!r}".encode())
    for name, tensor in model.state_dict().items():
        arr = _tensor_array(tensor)
        h.update(f"\x00{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
    for flag in build_flags(model):
        h.update(f"\x00build:{flag}".encode())
    return h.hexdigest()


def clear_loaded() -> None:
    """Forget this process's last rebuilt model (its memory is freed when nothing else holds it)."""
    with _LOCK:
        _LAST.clear()


class ModelRef:
    """A model given by how to rebuild it (see the module docstring).

    Parameters
    ----------
    loader : callable () -> torch.nn.Module
        Rebuilds the model; picklable (cloudpickle) for the Ray executor.
    model : torch.nn.Module
        The model ``loader`` returns, already built by the caller: its fingerprint is taken now and
        it becomes this process's last rebuilt model (so the caller's checks need no second load).
    describe : str
        What to call the model in errors (e.g. ``"checkpoint runs/m.pt"``).

    Raises
    ------
    InputError
        When ``loader`` is not callable or ``model`` is not a ``torch.nn.Module``.
    """

    def __init__(self, loader: Callable[[], Any], model: Any, *, describe: str) -> None:
        import torch.nn as nn

        if not callable(loader):
            raise InputError(f"loader of ModelRef must be callable; got {type(loader).__name__}.")
        if not isinstance(model, nn.Module):
            raise InputError(f"model of ModelRef must be a torch.nn.Module; got {type(model).__name__}.")
        self.loader = loader
        self.describe = str(describe)
        self.class_name = type(model).__name__
        self.weights_fp = weights_fingerprint(model)
        self.token = uuid.uuid4().hex
        self._fps: dict[tuple[str, str | None, str | None], str] = {}
        _remember(self.token, model)

    def load(self) -> Any:
        """The model: this process's last rebuilt one when it is this ref's, else ``loader()``, checked.

        Raises
        ------
        CheckpointError
            When ``loader`` fails (e.g. the file is missing on this node), the rebuilt model's
            fingerprint differs from the one taken when the ref was made (the file changed), or
            ``loader`` returned something else than a ``torch.nn.Module``.
        """
        with _LOCK:
            if _LAST and _LAST[0][0] == self.token:
                return _LAST[0][1]
        import torch.nn as nn

        clear_loaded()  # the previous model is freed before the next one is built
        try:
            model = self.loader()
        except Exception as exc:  # noqa: BLE001 - reported with what to do, as the job's error
            # what to do first: the row's error is cut at 500 characters, and the cause repeats the path
            raise CheckpointError(
                f"{self.describe}: cannot be rebuilt in this process (it was read when the run started: leave a "
                "running job's checkpoints in place; on a cluster every node must read it at the same path). "
                f"Cause: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:400]}") from None
        if not isinstance(model, nn.Module):
            raise CheckpointError(
                f"{self.describe}: its loader returned {type(model).__name__}, not a torch.nn.Module.")
        if weights_fingerprint(model) != self.weights_fp:
            raise CheckpointError(
                f"{self.describe} changed since this run loaded it (the rebuilt model's weights or structure "
                "differ): leave the checkpoints of a running job in place, then run it again.")
        _remember(self.token, model)
        return model

    def fingerprint(self, *, transform: Callable | None = None, feature_layer: str | None = None,
                    pooling: str | None = None) -> str:
        """:func:`~transfergraph.planner.common.fingerprint.model_fingerprint` of the model with these
        options, computed once (the model is rebuilt only when not computed before)."""
        from transfergraph.planner.common.fingerprint import callable_identity, model_fingerprint

        key = (callable_identity(transform), feature_layer, pooling)
        if key not in self._fps:
            self._fps[key] = model_fingerprint(self.load(), transform=transform, feature_layer=feature_layer,
                                               pooling=pooling)
        return self._fps[key]

    def __repr__(self) -> str:
        return f"ModelRef({self.describe!r}, {self.class_name})"


def _remember(token: str, model: Any) -> None:
    with _LOCK:
        _LAST[:] = [(token, model)]
