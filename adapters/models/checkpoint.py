"""Safe model checkpoints: architecture name + hyper-parameters + weights, loaded with weights_only=True."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from transfergraph.planner.common.exceptions import CheckpointError
from transfergraph.planner.common.io import atomic_write_with

from transfergraph.adapters.models.small_cnn import SmallCNN

__all__ = ["ARCHITECTURES", "save_model", "load_model", "register_architecture"]

#: Architecture name -> constructor taking the saved hyper-parameters as keyword arguments.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {"small_cnn": SmallCNN}

_FORMAT = "transfergraph-model/1"


def register_architecture(name: str, builder: Callable[..., nn.Module]) -> None:
    """Make ``builder(**hparams)`` loadable by name (used by plugins)."""
    ARCHITECTURES[name] = builder


def save_model(model: nn.Module, path: str | os.PathLike, *, arch: str = "small_cnn", extra: dict | None = None) -> None:
    """Write ``model`` atomically (temp file + rename) with its architecture and hyper-parameters.

    The model must expose ``hparams`` (a dict of plain values) so :func:`load_model` can rebuild it.
    """
    hparams = getattr(model, "hparams", None)
    if not isinstance(hparams, dict):
        raise CheckpointError(f"model passed to save_model must have an `hparams` dict; {type(model).__name__} has none.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": _FORMAT, "arch": arch, "hparams": dict(hparams),
               "state_dict": model.state_dict(), "extra": dict(extra or {})}
    atomic_write_with(path, lambda tmp: torch.save(payload, tmp))


def load_model(path: str | os.PathLike, *, expect_arch: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_model` with ``torch.load(weights_only=True)``.

    Returns ``(model, extra)``. Raises :class:`CheckpointError` (with the path and what to do) for a
    missing, unreadable or truncated file, an unknown architecture, or weights that do not fit it.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path or retrain the model.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle with code, garbage bytes
        raise CheckpointError(
            f"checkpoint {path} cannot be read safely ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
            "It may be truncated or not a transfergraph checkpoint; re-save it with transfergraph.adapters.models.save_model."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a {_FORMAT} checkpoint (no 'format' field); re-save it with save_model.")
    arch = payload.get("arch")
    if expect_arch is not None and arch != expect_arch:
        raise CheckpointError(f"checkpoint {path} holds architecture {arch!r}; the config expects {expect_arch!r}.")
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"checkpoint {path} uses unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}.")
    try:
        model = ARCHITECTURES[arch](**payload["hparams"])
        model.load_state_dict(payload["state_dict"])
    except (TypeError, RuntimeError, KeyError) as exc:
        raise CheckpointError(
            f"checkpoint {path} does not fit architecture {arch!r}: {str(exc).splitlines()[0][:300]}"
        ) from None
    model.eval()
    return model, payload.get("extra", {})
