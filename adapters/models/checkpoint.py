"""Safe model checkpoints: architecture name + hyper-parameters + weights, loaded with weights_only=True."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transfergraph.planner.common.exceptions import CheckpointError
from transfergraph.planner.common.io import atomic_write_with
from transfergraph.planner.runtime.checkpoints import load_weights

from transfergraph.adapters.models.architectures import ARCHITECTURES, register_architecture

__all__ = ["ARCHITECTURES", "save_model", "load_model", "model_from_payload", "register_architecture", "zoo_hparams"]

_FORMAT = "transfergraph-model/1"


def _unwrap(model: nn.Module) -> nn.Module:
    """The plain network inside DataParallel/DistributedDataParallel and ``torch.compile`` wrappers."""
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


def _zoo_arch_of(model: nn.Module) -> str | None:
    """``timm:NAME`` for a timm model (its ``pretrained_cfg`` names it); None otherwise."""
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None)
    if type(model).__module__.startswith("timm.") and isinstance(cfg, dict) and cfg.get("architecture"):
        return f"timm:{cfg['architecture']}"
    return None


def _plain(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str)) or (isinstance(v, (tuple, list)) and all(
        isinstance(x, (bool, int, float, str)) for x in v))


def zoo_hparams(model: nn.Module, arch: str) -> dict[str, Any]:
    """How to rebuild a torchvision/timm ``model`` with ``build_architecture(arch, **hparams)``.

    ``num_classes`` (the first dimension of the last weight matrix) plus, for torchvision, every
    constructor argument the model keeps as an attribute of the same name (e.g. googlenet's
    ``transform_input``/``aux_logits``, a ViT's ``image_size``) whose value differs from a model
    built with the defaults. The result is checked: a model built from it (on the meta device, no
    memory) must have the same keys and shapes.

    Raises
    ------
    CheckpointError
        When the architecture is unknown or the rebuilt model differs (the message names the keys).
    """
    from transfergraph.adapters.models.builder_flags import LOAD_FLAGS
    from transfergraph.adapters.models.zoo import _constructor_params, build_architecture, num_classes_of
    from transfergraph.planner.common.exceptions import InputError

    sd = model.state_dict()
    hparams: dict[str, Any] = {"num_classes": num_classes_of(sd)}
    load = dict(LOAD_FLAGS.get(arch.partition(":")[2], {})) if arch.startswith("torchvision:") else {}
    try:
        with torch.device("meta"):
            ref = build_architecture(arch, num_classes=hparams["num_classes"], kwargs=load)
            if arch.startswith("torchvision:"):
                for p in _constructor_params(arch):
                    if p in load or p == "num_classes" or not hasattr(model, p) or not hasattr(ref, p):
                        continue
                    mine, theirs = getattr(model, p), getattr(ref, p)
                    if _plain(mine) and mine != theirs:
                        hparams[p] = list(mine) if isinstance(mine, tuple) else mine
                ref = build_architecture(arch, num_classes=hparams["num_classes"],
                                         kwargs={**load, **{k: v for k, v in hparams.items() if k != "num_classes"}})
    except (InputError, TypeError, ValueError) as exc:
        raise CheckpointError(f"save_model cannot rebuild {type(model).__name__} as {arch!r}: {exc}") from None
    theirs = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    mine = {k: tuple(v.shape) for k, v in sd.items()}
    if theirs != mine:
        diff = sorted(set(mine) ^ set(theirs))[:5] or [k for k in mine if mine[k] != theirs.get(k)][:5]
        raise CheckpointError(
            f"save_model: {type(model).__name__} is not {arch!r} as built with {hparams}: the keys or shapes "
            f"{diff} differ. Check arch (another depth or width?), or save the state_dict and give arch_kwargs.")
    return hparams


def save_model(model: nn.Module, path: str | os.PathLike, *, arch: str | None = None, extra: dict | None = None) -> None:
    """Write ``model`` atomically (temp file + rename) with its architecture and hyper-parameters.

    ``model`` is unwrapped first (``.module`` of DataParallel/DDP, ``._orig_mod`` of ``torch.compile``).
    A model exposing ``hparams`` (a dict of plain values) is saved under ``arch`` (default
    ``"small_cnn"``, or a registered architecture). Any torchvision or timm model is saved under
    ``arch="torchvision:NAME"`` / ``"timm:NAME"`` (a timm model's name is read from it when ``arch`` is
    omitted) with the hyper-parameters of :func:`zoo_hparams`, so :func:`load_model` rebuilds it as it was.

    Raises
    ------
    CheckpointError
        A model with no ``hparams`` and no zoo ``arch``, or one the zoo cannot rebuild as it is.
    """
    model = _unwrap(model)
    hparams = getattr(model, "hparams", None)
    arch = arch or (None if isinstance(hparams, dict) else _zoo_arch_of(model)) or "small_cnn"
    if ":" in arch:
        hparams = zoo_hparams(model, arch)
    elif not isinstance(hparams, dict):
        raise CheckpointError(
            f"model passed to save_model must have an `hparams` dict or be a zoo model; {type(model).__name__} has "
            f"none: for a torchvision/timm model give arch='torchvision:NAME' or 'timm:NAME' "
            f"(registered architectures: {sorted(ARCHITECTURES)}).")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": _FORMAT, "arch": arch, "hparams": dict(hparams),
               "state_dict": model.state_dict(), "extra": dict(extra or {})}
    atomic_write_with(path, lambda tmp: torch.save(payload, tmp))


def load_model(path: str | os.PathLike, *, expect_arch: str | None = None,
               notes: list[str] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_model` with ``torch.load(weights_only=True)``.

    Returns ``(model, extra)``. The keys are fitted as in
    :func:`transfergraph.adapters.models.state_dict_fit.fit_state_dict` (what was adapted goes to
    ``notes`` when given). Raises :class:`CheckpointError` (with the path and what to do) for a
    missing, unreadable or truncated file, an unknown architecture, or weights that do not fit it.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path or retrain the model.")
    payload = load_weights(path, advice=". It may be truncated or not a transfergraph checkpoint; re-save it with "
                                        "transfergraph.adapters.models.save_model.")
    return model_from_payload(payload, path, expect_arch=expect_arch, notes=notes)


def model_from_payload(payload: Any, path: str | os.PathLike, *, expect_arch: str | None = None,
                       notes: list[str] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """:func:`load_model` on a ``payload`` already read from ``path`` (``torch.load(weights_only=True)``),
    so a caller that had to read the file anyway does not read it twice; same checks, same errors."""
    from transfergraph.adapters.models.state_dict_fit import fit_state_dict

    path = Path(path)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a {_FORMAT} checkpoint (no 'format' field); re-save it with save_model.")
    arch = payload.get("arch")
    if expect_arch is not None and arch != expect_arch:
        raise CheckpointError(f"checkpoint {path} holds architecture {arch!r}; the config expects {expect_arch!r}.")
    if not isinstance(arch, str) or (":" not in arch and arch not in ARCHITECTURES):
        raise CheckpointError(f"checkpoint {path} uses unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}, "
                              "or 'torchvision:NAME' / 'timm:NAME'.")
    hparams = dict(payload.get("hparams") or {})
    try:
        if ":" in arch:
            from transfergraph.adapters.models.builder_flags import LOAD_FLAGS
            from transfergraph.adapters.models.zoo import build_architecture

            load = dict(LOAD_FLAGS.get(arch.partition(":")[2], {})) if arch.startswith("torchvision:") else {}
            model = build_architecture(arch, num_classes=hparams.pop("num_classes", None), kwargs={**load, **hparams})
        else:
            model = ARCHITECTURES[arch](**hparams)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: architecture {arch!r} cannot be built with its saved "
                              f"hyper-parameters {payload.get('hparams')}: {' '.join(str(exc).split())}") from None
    sd, said = fit_state_dict(payload.get("state_dict") or {}, model, path=path, arch=arch)
    try:
        model.load_state_dict(sd)
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(
            f"checkpoint {path} does not fit architecture {arch!r}: {' '.join(str(exc).split())}"
        ) from None
    if notes is not None:
        notes.extend(said)
    model.eval()
    return model, payload.get("extra", {})
