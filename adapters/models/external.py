"""Config ``models.external`` entries loaded from checkpoints: build, preprocess, and check they fit.

:func:`external_source` turns one loaded-model entry into a :class:`transfergraph.planner.Source`:

- the model: ``arch`` + a plain ``state_dict`` (:func:`transfergraph.adapters.models.zoo.load_zoo_model`), or a
  ``save_model`` checkpoint (:func:`transfergraph.adapters.models.load_model`) when the file is one;
- the transform: :class:`transfergraph.adapters.models.preprocess.Preprocess` from the entry's ``preprocess`` and
  the architecture's defaults (see ``transfergraph.config.models``);
- ``feature_layer`` and ``pooling``;
- a fit check: one sample of every distinct input shape among the tasks goes through the transform
  and the model, so a preprocessing that does not fit the data is reported before scoring, naming
  the entry.

Every problem is a :class:`~transfergraph.planner.common.exceptions.ConfigError` whose message starts with the entry's key.
"""
from __future__ import annotations

from typing import Any, Sequence

from transfergraph.planner.common.exceptions import CheckpointError, ConfigError, InputError
from transfergraph.planner.inputs.task import Source, Task

from transfergraph.adapters.models.preprocess import Preprocess
from transfergraph.adapters.models.zoo import arch_preprocess_defaults, load_state_dict, load_zoo_model

__all__ = ["external_source", "preprocess_for"]


def _is_save_model_file(path: str) -> bool:
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - the zoo loader reports unreadable files
        return False
    return isinstance(payload, dict) and isinstance(payload.get("format"), str)


def preprocess_for(spec: Any, model: Any) -> Preprocess | None:
    """The entry's preprocessing merged with the architecture's defaults (None when there is none)."""
    defaults = arch_preprocess_defaults(spec.arch or "", model)
    if spec.preprocess is None:
        params = defaults
    else:
        params = spec.preprocess.model_dump(exclude_none=True)
        if "mean" not in params and "mean" in defaults:
            params["mean"], params["std"] = defaults["mean"], defaults["std"]
    if not params:
        return None
    return Preprocess(**params)


def _load(spec: Any, key: str, default_arch: str) -> tuple[Any, bool]:
    from transfergraph.adapters.models.checkpoint import load_model

    arch = spec.arch or default_arch
    try:
        if ":" not in arch and _is_save_model_file(spec.checkpoint):
            model, _ = load_model(spec.checkpoint, expect_arch=arch)
            return model, False
        return load_zoo_model(arch, spec.checkpoint, num_classes=spec.num_classes, kwargs=spec.arch_kwargs), True
    except InputError as exc:
        raise ConfigError(f"{key}.arch: {exc}") from None
    except CheckpointError as exc:
        raise ConfigError(f"{key}.checkpoint: {exc}") from None


def _check_fits(source: Source, tasks: Sequence[Task], key: str) -> None:
    from transfergraph.planner.runtime.forward import forward

    seen: set = set()
    for t in tasks:
        shape = (tuple(t.inputs.shape[1:]), str(t.inputs.dtype))
        if shape in seen:
            continue
        seen.add(shape)
        sample = t.inputs[0:1]
        try:
            forward(source.model, sample, transform=source.transform, feature_layer=source.feature_layer,
                    pooling=source.pooling, want_features=source.feature_layer is not None, batch_size=1)
        except Exception as exc:  # noqa: BLE001 - reported as a config problem of this entry
            detail = ' '.join(str(exc).split())[:300]
            if isinstance(exc, InputError) and detail.startswith("model output"):
                raise ConfigError(
                    f"{key}: on task {t.name!r}'s inputs of shape {shape[0]} the {detail} The model must return "
                    "2-D logits (batch, classes): wrap it, or return an object with .logits."
                ) from None
            raise ConfigError(
                f"{key}.preprocess: the model does not accept task {t.name!r}'s inputs of shape {shape[0]} "
                f"after preprocessing {source.transform!r}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}. "
                "Set preprocess (channels, resize, center_crop, mean, std) to match the model."
            ) from None


def external_source(spec: Any, i: int, tasks: Sequence[Task], *, default_arch: str) -> Source:
    """The :class:`~transfergraph.planner.Source` of loaded-model entry ``i`` (see the module docstring)."""
    key = f"models.external[{i}] ({spec.name})"
    model, zoo = _load(spec, key, default_arch)
    try:
        transform = preprocess_for(spec, model) if zoo or spec.preprocess is not None else None
    except ValueError as exc:
        raise ConfigError(f"{key}.preprocess: {exc}") from None
    try:
        source = Source(spec.name, model, transform=transform, feature_layer=spec.feature_layer, pooling=spec.pooling)
    except InputError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    _check_fits(source, tasks, key)
    return source
