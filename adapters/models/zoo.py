"""Models from a zoo: torchvision, timm (optional extra) or a plugin's architecture, with local weights.

``arch`` names the architecture: ``"torchvision:NAME"`` (any name of
``torchvision.models.list_models()``), ``"timm:NAME"`` (needs ``pip install 'transfergraph[timm]'``)
or a name registered in :data:`transfergraph.adapters.models.ARCHITECTURES` (built-ins and plugins). The model is
built with random weights (nothing is ever downloaded) and then loads a local ``state_dict`` with
``torch.load(weights_only=True)``. The number of output classes is read from the checkpoint (the
first dimension of its last weight), unless given. :func:`load_zoo_model` rebuilds the model the
checkpoint came from (:mod:`transfergraph.adapters.models.builder_flags`: flags torchvision sets for
pretrained weights, flags read from the checkpoint, the entry's ``arch_kwargs`` checked against the
constructor) and fits the checkpoint's keys to it (:mod:`transfergraph.adapters.models.state_dict_fit`:
nesting and wrapper prefixes).

:func:`arch_preprocess_defaults` gives the architecture's own input preprocessing (torchvision's
weights metadata or timm's pretrained config; read locally, no download).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transfergraph.planner.common.exceptions import CheckpointError, InputError
from transfergraph.planner.runtime.checkpoints import load_weights

from transfergraph.adapters.models.builder_flags import rebuild_kwargs
from transfergraph.adapters.models.architectures import ARCHITECTURES
from transfergraph.adapters.models.state_dict_fit import check_shapes, find_state_dict, fit_state_dict

_LOG = logging.getLogger(__name__)

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


#: file suffixes of weights, listed when a folder is given as a checkpoint
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".tar")


def _read(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], list[str]]:
    path = Path(path)
    if path.is_dir():  # e.g. a Hugging Face save_pretrained folder, a Lightning checkpoints folder
        inside = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
        raise CheckpointError(f"checkpoint {path} is a folder; point `checkpoint` at the weights file"
                              + (f" inside it: {', '.join(inside[:5])}." if inside else
                                 f" (none of {list(_WEIGHT_SUFFIXES)} in it)."))
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; transfergraph never downloads weights: "
                              "save your trained model there with transfergraph.adapters.models.save_model(model, "
                              "path) (arch='torchvision:NAME' or 'timm:NAME' for a zoo model), which records how to "
                              "rebuild it, or point `checkpoint` at an existing file.")
    if path.suffix == ".safetensors":  # timm / Hugging Face hub weights: tensors only, safe by design
        return find_state_dict(_read_safetensors(path), path)
    payload = load_weights(path, advice=(
        ". It may be truncated, or hold pickled objects besides the weights (e.g. a Lightning checkpoint's "
        "hyper-parameters, a whole pickled model): if you trust the file, save its weights alone: "
        "torch.save(torch.load(path, weights_only=False)['state_dict'], 'weights.pt') (a whole model: "
        "torch.load(path, weights_only=False).state_dict()) and point `checkpoint` there."))
    return find_state_dict(payload, path)


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise CheckpointError(f"checkpoint {path} is a safetensors file: pip install safetensors to read it, or "
                              "save the weights with torch.save(state_dict, 'weights.pt').") from None
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - truncated or not a safetensors file
        raise CheckpointError(f"checkpoint {path} cannot be read as a safetensors file ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:500]}); it may be truncated.") from None


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A ``state_dict`` read with ``torch.load(weights_only=True)`` (a ``.safetensors`` file with
    ``safetensors.torch.load_file``), found inside the usual nestings
    (``{"state_dict": ...}``, ``{"model": ...}``, ``{"ema": ...}``, ...:
    :func:`transfergraph.adapters.models.state_dict_fit.find_state_dict`).

    Raises
    ------
    CheckpointError
        When the file is missing, unreadable, or holds no tensors.
    """
    return _read(path)[0]


def num_classes_of(state_dict: dict[str, torch.Tensor]) -> int:
    """Output classes of a classifier's ``state_dict``: the first dimension of its last weight."""
    weights = [v for k, v in state_dict.items() if k.endswith("weight") and v.ndim >= 2]
    if not weights:
        raise CheckpointError("cannot tell the number of classes of the checkpoint (no weight matrix); give num_classes.")
    return int(weights[-1].shape[0])


def _constructor_params(arch: str) -> list[str]:
    """Keyword arguments the architecture's constructor takes (empty when unknown)."""
    import inspect
    import typing

    kind, _, name = arch.partition(":")
    try:
        if kind == "torchvision":
            import torchvision

            cls = typing.get_type_hints(torchvision.models.get_model_builder(name)).get("return")
            fn = cls.__init__ if isinstance(cls, type) else None
        elif kind == "timm":
            return []
        else:
            fn = ARCHITECTURES.get(arch)
        if fn is None:
            return []
        return [p for p in inspect.signature(fn).parameters if p not in ("self", "args", "kwargs")]
    except Exception:  # noqa: BLE001 - only used to improve a message
        return []


#: a constructor default's type -> the value types accepted for it
_PLAIN = {bool: bool, int: int, float: (int, float), str: str}


def _check_kwargs(arch: str, kwargs: dict) -> None:
    """``kwargs`` against the torchvision constructor's signature: known names, and for a parameter whose
    default is a bool/int/float, a value of that type (a bool is not a number here)."""
    import inspect
    import typing

    kind, _, name = arch.partition(":")
    if kind != "torchvision" or not kwargs:
        return
    try:
        import torchvision

        cls = typing.get_type_hints(torchvision.models.get_model_builder(name)).get("return")
        params = inspect.signature(cls.__init__).parameters if isinstance(cls, type) else {}
    except Exception:  # noqa: BLE001 - no signature to check against: the constructor checks
        return
    for k, v in kwargs.items():
        p = params.get(k)
        if p is None or p.default is inspect.Parameter.empty or p.default is None:
            continue
        want = type(p.default)
        if want not in _PLAIN:
            continue
        if isinstance(v, bool) != (want is bool) or not isinstance(v, _PLAIN[want]):
            raise InputError(f"arch_kwargs.{k}: {arch} expects {want.__name__} (default {p.default!r}); got {v!r}.")


def _build(arch: str, classes: int, kwargs: dict) -> nn.Module:
    _check_kwargs(arch, kwargs)
    try:
        return build_architecture(arch, num_classes=classes, kwargs=kwargs)
    except (TypeError, ValueError, AssertionError) as exc:
        if isinstance(exc, InputError):
            raise
        text = " ".join(str(exc).split())
        bad = [k for k in kwargs if repr(k) in text or f"'{k}'" in text]
        known = _constructor_params(arch)
        if bad and "unexpected keyword" in text:
            raise InputError(f"arch_kwargs.{bad[0]}: {arch} takes no argument {bad[0]!r}"
                             f"{f'; it takes {known}' if known else ''}.") from None
        raise InputError(f"architecture {arch!r} cannot be built with num_classes={classes} and arguments {kwargs}: "
                         f"{type(exc).__name__}: {text}. Check arch_kwargs"
                         f"{f' (the constructor takes {known})' if known else ''}.") from None


def load_zoo_model(arch: str, checkpoint: str | os.PathLike, *, num_classes: int | None = None,
                   kwargs: dict | None = None, from_pretrained: bool | None = None,
                   notes: list[str] | None = None) -> nn.Module:
    """Build ``arch`` the way the checkpoint's model was built and load ``checkpoint`` into it (strict).

    The constructor arguments come from
    :func:`transfergraph.adapters.models.builder_flags.rebuild_kwargs` (flags torchvision sets for
    pretrained weights unless ``from_pretrained`` is False, flags read from the checkpoint, then
    ``kwargs``); the checkpoint's keys are fitted with
    :func:`transfergraph.adapters.models.state_dict_fit.fit_state_dict` (wrapper prefixes such as
    ``module.``/``_orig_mod.``/``model.`` stripped only when the result is exactly the model's keys).
    What was adapted is appended to ``notes``, or logged (``logging``, INFO) when ``notes`` is None.
    Returns the model in eval mode.

    Raises
    ------
    InputError
        Unknown architecture, missing extra, or constructor arguments it does not take.
    CheckpointError
        Missing/unreadable checkpoint, or weights that do not fit the architecture.
    """
    sd, found = _read(checkpoint)
    classes = num_classes if num_classes is not None else num_classes_of(sd)
    build_kwargs, flag_notes = rebuild_kwargs(arch, sd, kwargs, from_pretrained)
    model = _build(arch, classes, build_kwargs)
    fitted, fit_notes = fit_state_dict(sd, model, path=checkpoint, arch=arch, shapes=False)
    if num_classes is None:  # read again from the model's own keys (a wrapper may hold other layers)
        own = num_classes_of({k: fitted[k] for k in model.state_dict() if k in fitted})
        if own != classes:
            model = _build(arch, own, build_kwargs)
    check_shapes(fitted, model.state_dict(), path=checkpoint, arch=arch)
    try:
        model.load_state_dict(fitted)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {checkpoint} does not fit architecture {arch!r}: "
                              f"{' '.join(str(exc).split())}") from None
    said = found + flag_notes + fit_notes
    if notes is None:
        for line in said:
            _LOG.info(line)
    else:
        notes.extend(said)
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
