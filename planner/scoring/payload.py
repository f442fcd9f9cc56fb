"""How a source model travels to the process that forwards it.

In process (local executor) the live ``nn.Module`` is used as is. Across processes (Ray) a model is
sent as a *skeleton* (the module tree with every parameter and buffer on the ``meta`` device, so it
pickles in microseconds) plus a dict of NumPy arrays, which Ray reads zero-copy from its object
store; torch tensors would be copied and deserialized in every task.

A source that holds a :class:`~transfergraph.planner.inputs.model_ref.ModelRef` (a checkpoint) ships
the ref alone, in process as across processes: the process that runs a job rebuilds the model from
it (once per source and process), so neither the driver nor the object store holds every source's
weights (:func:`payload_of`).
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np

__all__ = ["ModelPayload", "payload_of"]


class ModelPayload:
    """A source's model, transform and feature layer, ready to be shipped or used in place.

    Parameters
    ----------
    model : torch.nn.Module
    transform : callable or None
    feature_layer : str or None
    pooling : str or None
        How 4-D feature maps become vectors (see :func:`transfergraph.planner.runtime.forward.forward`).
    portable : bool
        True: keep only a meta-device skeleton and NumPy weights (for other processes).
        False: keep the live module (same process).
    ref : ModelRef, optional
        Instead of ``model`` (give None): ship only the ref; :meth:`load` rebuilds the model from it.
    """

    def __init__(self, model: Any, transform: Callable | None, feature_layer: str | None, *, portable: bool,
                 pooling: str | None = None, ref: Any = None):
        self.transform = transform
        self.feature_layer = feature_layer
        self.pooling = pooling
        self.portable = portable
        self.ref = ref
        if ref is not None:
            self._model = None
            return
        if not portable:
            self._model = model
            return
        self._model = None
        self.device_type = _device_type(model)
        self.skeleton, self.tensors = _split(model)

    def load(self) -> Any:
        """The ready-to-run ``nn.Module`` (rebuilt from skeleton + weights when portable, from the ref
        when it has one: :meth:`ModelRef.load`, which raises CheckpointError when the file changed)."""
        if self.ref is not None:
            return self.ref.load()
        if not self.portable:
            return self._model
        if self._model is None:
            self._model = _assemble(self.skeleton, self.tensors, self.device_type)
        return self._model

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.portable:
            state["_model"] = None
        return state


def payload_of(source: Any, *, portable: bool) -> ModelPayload:
    """The payload of a :class:`~transfergraph.planner.Source`: its ref when it holds one (the model is
    not built here), else its live module (``portable``: skeleton + NumPy weights)."""
    ref = getattr(source, "model_ref", None)
    return ModelPayload(None if ref is not None else source.model, source.transform, source.feature_layer,
                        portable=portable, pooling=source.pooling, ref=ref)


def _device_type(model: Any) -> str:
    for p in model.parameters():
        return p.device.type
    return "cpu"


def _to_numpy(t: Any) -> Any:
    t = t.detach().cpu()
    try:
        return t.numpy()
    except TypeError:  # dtypes NumPy lacks (bfloat16): ship the tensor itself
        return t.clone()


def _split(model: Any) -> tuple[Any, dict[str, tuple[str, Any, bool]]]:
    import torch

    tensors: dict[str, tuple[str, Any, bool]] = {}
    memo: dict[int, Any] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        tensors[name] = ("param", _to_numpy(p), p.requires_grad)
        if id(p) not in memo:
            memo[id(p)] = torch.nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad)
    for name, b in model.named_buffers(remove_duplicate=False):
        if b is None:
            continue
        tensors[name] = ("buffer", _to_numpy(b), False)
        if id(b) not in memo:
            memo[id(b)] = torch.empty_like(b, device="meta")
    skeleton = copy.deepcopy(model, memo)
    return skeleton, tensors


def _assemble(skeleton: Any, tensors: dict[str, tuple[str, Any, bool]], device_type: str) -> Any:
    import torch

    model = skeleton  # a fresh object in every process that unpickles the payload
    device = torch.device("cuda") if device_type == "cuda" and torch.cuda.is_available() else torch.device("cpu")
    for name, (kind, value, requires_grad) in tensors.items():
        owner_name, _, attr = name.rpartition(".")
        owner = model.get_submodule(owner_name) if owner_name else model
        t = torch.from_numpy(np.array(value, copy=True)) if isinstance(value, np.ndarray) else value.clone()
        t = t.to(device)
        if kind == "param":
            owner._parameters[attr] = torch.nn.Parameter(t, requires_grad=requires_grad)
        else:
            owner._buffers[attr] = t
    return model
