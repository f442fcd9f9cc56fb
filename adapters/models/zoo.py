"""Models from a zoo: torchvision, timm (optional extra) or a plugin's architecture, with local weights.

``arch`` names the architecture: ``"torchvision:NAME"`` (any name of
``torchvision.models.list_models()``), ``"timm:NAME"`` (needs ``pip install 'transfergraph[timm]'``)
or a name registered in :data:`transfergraph.adapters.models.ARCHITECTURES` (built-ins and plugins). The model is
built with random weights (nothing is ever downloaded) and then loads a local ``state_dict`` with
``torch.load(weights_only=True)``. The number of output classes is read from the checkpoint (the
first dimension of its last weight), unless given.

:func:`arch_preprocess_defaults` gives the architecture's own input preprocessing (torchvision's
weights metadata or timm's pretrained config; read locally, no download).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transfergraph.planner.common.exceptions import CheckpointError, InputError

from transfergraph.adapters.models.checkpoint import ARCHITECTURES

__all__ = ["build_architecture", "load_state_dict", "load_zoo_model", "arch_preprocess_defaults", "num_classes_of"]


def _timm() -> Any:
    try:
        import timm
    except ImportError:
        raise InputError("arch 'timm:...' needs the optional timm extra: pip install 'transfergraph[timm]'.") from None
    return timm


def build_architecture(arch: str, *, num_classes: int | None = None, kwargs: dict | None = None) -> nn.Module:
    """A randomly initialised model of architecture ``arch`` (see the module docstring).

    Raises
    ------
    InputError
        For an unknown architecture (the message lists what is known) or a missing optional extra.
    """
    kwargs = dict(kwargs or {})
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    kind, _, name = arch.partition(":") if ":" in arch else ("", "", arch)
    if kind == "torchvision":
        import torchvision

        known = torchvision.models.list_models()
        if name not in known:
            close = [k for k in known if name.split("_")[0] in k][:8]
            raise InputError(f"unknown architecture {arch!r}: torchvision has no model {name!r}"
                             f"{f' (similar: {close})' if close else ''}; see torchvision.models.list_models().")
        return torchvision.models.get_model(name, weights=None, **kwargs)
    if kind == "timm":
        timm = _timm()
        if not timm.is_model(name):
            raise InputError(f"unknown architecture {arch!r}: timm has no model {name!r}; see timm.list_models().")
        return timm.create_model(name, pretrained=False, **kwargs)
    if kind:
        raise InputError(f"unknown architecture {arch!r}: the prefix must be 'torchvision:' or 'timm:', or give a "
                         f"registered name {sorted(ARCHITECTURES)}.")
    if name not in ARCHITECTURES:
        raise InputError(f"unknown architecture {arch!r}; registered: {sorted(ARCHITECTURES)}, or use "
                         "'torchvision:NAME' / 'timm:NAME'.")
    return ARCHITECTURES[name](**kwargs)


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A ``state_dict`` read with ``torch.load(weights_only=True)`` (also unwraps ``{"state_dict": ...}``
    and ``{"model": ...}``).

    Raises
    ------
    CheckpointError
        When the file is missing, unreadable, or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; transfergraph never downloads weights: "
                              "save the model's state_dict there (torch.save(model.state_dict(), path)).")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickled code, garbage
        raise CheckpointError(f"checkpoint {path} cannot be read safely with weights_only=True "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}).") from None
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"checkpoint {path} is not a state_dict (a mapping of parameter names to tensors).")
    return sd


def num_classes_of(state_dict: dict[str, torch.Tensor]) -> int:
    """Output classes of a classifier's ``state_dict``: the first dimension of its last weight."""
    weights = [v for k, v in state_dict.items() if k.endswith("weight") and v.ndim >= 2]
    if not weights:
        raise CheckpointError("cannot tell the number of classes of the checkpoint (no weight matrix); give num_classes.")
    return int(weights[-1].shape[0])


def load_zoo_model(arch: str, checkpoint: str | os.PathLike, *, num_classes: int | None = None,
                   kwargs: dict | None = None) -> nn.Module:
    """Build ``arch`` and load ``checkpoint`` into it (strict); returns the model in eval mode.

    Raises
    ------
    InputError
        Unknown architecture or missing extra.
    CheckpointError
        Missing/unreadable checkpoint, or weights that do not fit the architecture.
    """
    sd = load_state_dict(checkpoint)
    classes = num_classes if num_classes is not None else num_classes_of(sd)
    try:
        model = build_architecture(arch, num_classes=classes, kwargs=kwargs)
    except TypeError as exc:  # a plugin builder without num_classes
        raise InputError(f"architecture {arch!r} cannot be built with num_classes={classes}: {exc}") from None
    try:
        model.load_state_dict(sd)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {checkpoint} does not fit architecture {arch!r}: "
                              f"{' '.join(str(exc).split())[:300]}") from None
    return model.eval()


def arch_preprocess_defaults(arch: str, model: nn.Module | None = None) -> dict[str, Any]:
    """The architecture's own preprocessing: ``resize``, ``center_crop``, ``mean``, ``std`` (empty when
    it has none, e.g. a plugin's)."""
    kind, _, name = arch.partition(":")
    if kind == "torchvision":
        import torchvision

        try:
            weights = torchvision.models.get_model_weights(name).DEFAULT
        except (ValueError, KeyError, AttributeError):
            return {}
        t = weights.transforms()
        return {"resize": int(t.resize_size[0]), "center_crop": int(t.crop_size[0]),
                "mean": [float(v) for v in t.mean], "std": [float(v) for v in t.std]}
    if kind == "timm" and model is not None:
        cfg = _timm().data.resolve_data_config({}, model=model)
        size = int(cfg["input_size"][-1])
        return {"resize": int(round(size / cfg.get("crop_pct", 1.0))), "center_crop": size,
                "mean": [float(v) for v in cfg["mean"]], "std": [float(v) for v in cfg["std"]]}
    return {}
