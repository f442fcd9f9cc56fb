"""Safe CNAPsModel checkpoints: architecture hyper-parameters + weights, read with ``weights_only=True``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from transfergraph.planner.common.exceptions import CheckpointError
from transfergraph.planner.common.io import atomic_write_with
from transfergraph.planner.runtime.checkpoints import load_weights

from transfergraph.adapters.meta.model import CNAPsModel

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "transfergraph-cnaps/1"


def save_checkpoint(model: CNAPsModel, path: str | os.PathLike, *, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` atomically (temp file, fsync, rename): format tag, ``hparams``, ``state_dict``, ``extra``.

    ``extra`` must hold plain values (numbers, strings, lists, dicts): it is read back with
    ``weights_only=True``. Returns the path written.
    """
    if not isinstance(model, CNAPsModel):
        raise CheckpointError(f"model passed to save_checkpoint must be a CNAPsModel; got {type(model).__name__}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "hparams": dict(model.hparams),
               "state_dict": model.state_dict(), "extra": dict(extra or {})}
    atomic_write_with(path, lambda tmp: torch.save(payload, tmp))
    return path


def load_checkpoint(path: str | os.PathLike, *, return_extra: bool = False) -> CNAPsModel | tuple[CNAPsModel, dict]:
    """Rebuild a :class:`CNAPsModel` from :func:`save_checkpoint`'s file (in eval mode).

    Raises
    ------
    CheckpointError
        Missing, truncated or unreadable file; a file that is not a CNAPs checkpoint; hyper-parameters
        the model does not accept; weights that do not fit the architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"CNAPs checkpoint {path} does not exist; check the path or re-run meta-training.")
    payload = load_weights(path, what="CNAPs checkpoint", advice="; it may be truncated or not a checkpoint; re-save it "
                                                                 "with transfergraph.adapters.meta.save_checkpoint.")
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint (found format {found!r}); "
                              "save CNAPs models with transfergraph.adapters.meta.save_checkpoint.")
    hparams = payload.get("hparams")
    if not isinstance(hparams, dict):
        raise CheckpointError(f"CNAPs checkpoint {path} has no 'hparams' dict; it cannot be rebuilt.")
    try:
        model = CNAPsModel(**hparams)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"CNAPs checkpoint {path} has hyper-parameters this version cannot build: {exc}") from None
    from transfergraph.adapters.models.state_dict_fit import fit_state_dict

    try:
        weights, _ = fit_state_dict(payload.get("state_dict") or {}, model, path=path, arch=f"CNAPs {hparams}")
        model.load_state_dict(weights)
    except (CheckpointError, RuntimeError, TypeError, KeyError) as exc:  # the keys and shapes, in full
        raise CheckpointError(f"CNAPs checkpoint {path}: weights do not fit the architecture {hparams}: "
                              f"{' '.join(str(exc).split())}") from None
    model.eval()
    return (model, dict(payload.get("extra") or {})) if return_extra else model
