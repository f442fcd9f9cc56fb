"""Config ``models.external`` entries loaded from checkpoints: build, preprocess, and check they fit.

:func:`external_source` turns one loaded-model entry into a :class:`transfergraph.planner.Source`:

- the model: ``arch`` + a plain ``state_dict`` (:func:`transfergraph.adapters.models.zoo.load_zoo_model`), or a
  ``save_model`` checkpoint (:func:`transfergraph.adapters.models.load_model`) when the file is one; a plain
  ``state_dict`` without ``arch`` is an error naming the entry's ``arch`` (``default_arch`` is not guessed);
- the transform: :class:`transfergraph.adapters.models.preprocess.Preprocess` from the entry's ``preprocess`` and
  the architecture's defaults (see ``transfergraph.config.models``);
- ``feature_layer`` and ``pooling``; when a requested metric reads features (``metrics``) and the model
  has none to read (no ``nn.Linear`` whose input is the default features, e.g. SqueezeNet, and no
  ``feature_layer``), a ConfigError names ``feature_layer`` and ``pooling`` before any scoring;
- a fit check: one sample of every distinct input shape among the tasks goes through the transform
  and the model, so a preprocessing that does not fit the data is reported before scoring, naming
  the entry;
- an output check: one stratified batch of the first task; degenerate outputs (constant logits,
  label-prior LEEP) are a warning naming the entry: the scores that read the model's predictions are
  meaningless for it, those that read its features may still hold
  (:mod:`transfergraph.adapters.models.output_check`);
- then the source keeps only a :class:`~transfergraph.planner.inputs.model_ref.ModelRef` to the
  checkpoint (how to rebuild the model, and its fingerprint), not the model: a run over hundreds of
  checkpoints holds one model at a time, and each scoring job rebuilds its source's model from the
  file (so on a cluster the checkpoints must be readable at the same path on every node, as the
  cache folder and on-disk data are).

Every problem is a :class:`~transfergraph.planner.common.exceptions.ConfigError` whose message starts with the entry's key.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Callable, Sequence

from transfergraph.planner.common.exceptions import CheckpointError, ConfigError, InputError
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.runtime.checkpoints import load_weights

from transfergraph.adapters.models.architectures import ARCHITECTURES
from transfergraph.adapters.models.output_check import degenerate_output_advice, degenerate_output_warning
from transfergraph.adapters.models.preprocess import Preprocess
from transfergraph.adapters.models.zoo import arch_preprocess_defaults, load_zoo_model

__all__ = ["external_source", "preprocess_for"]


def preprocess_for(spec: Any, model: Any, arch: str | None = None) -> Preprocess | None:
    """The entry's preprocessing merged with the defaults of ``arch`` (default: the entry's; None when
    there is none)."""
    defaults = arch_preprocess_defaults(arch or spec.arch or "", model)
    if spec.preprocess is None:
        params = defaults
    else:
        params = spec.preprocess.model_dump(exclude_none=True)
        if "mean" not in params and "mean" in defaults:
            params["mean"], params["std"] = defaults["mean"], defaults["std"]
    if not params:
        return None
    return Preprocess(**params)


def _saved_arch(path: str) -> tuple[str | None, Any]:
    """The architecture a ``save_model`` file names and the file's payload (``(None, None)``: not such
    a file); the payload is returned so that the file is read once."""
    try:
        payload = load_weights(path)
    except CheckpointError:  # the zoo loader reports unreadable files
        return None, None
    if isinstance(payload, dict) and isinstance(payload.get("format"), str) and isinstance(payload.get("arch"), str):
        return payload["arch"], payload
    return None, None


def _load(spec: Any, key: str, default_arch: str, notes: list[str]) -> tuple[Any, str | None]:
    """The entry's model, and its zoo architecture (``torchvision:``/``timm:``/registered; None for a
    ``save_model`` file of a registered architecture, which has no preprocessing defaults)."""
    from transfergraph.adapters.models.checkpoint import model_from_payload

    try:
        saved, payload = _saved_arch(spec.checkpoint)
        if saved is not None:  # the file names its architecture and hyper-parameters
            given = [k for k in ("arch_kwargs", "from_pretrained", "num_classes")
                     if getattr(spec, k, None) not in (None, {})]
            if given:
                raise ConfigError(f"{key}.{given[0]}: {spec.checkpoint} is a save_model file, which records how to "
                                  f"rebuild its model ({saved!r} with its hyper-parameters); drop {given}.")
            model, _ = model_from_payload(payload, spec.checkpoint, expect_arch=spec.arch, notes=notes)
            return model, (saved if ":" in saved else None)
        if not spec.arch and os.path.isfile(spec.checkpoint):  # plain weights do not say which network they fit
            load_weights(spec.checkpoint)  # an unreadable file is reported as that first
            raise ConfigError(f"{key}.arch: {spec.checkpoint} holds plain weights (a state_dict), which do not say "
                              "which architecture they belong to; set arch (torchvision:NAME, timm:NAME or a "
                              f"registered name: {sorted(ARCHITECTURES)}), or save the model with "
                              "transfergraph.adapters.models.save_model, which records it.")
        arch = spec.arch or default_arch  # (a missing file: load_zoo_model says so)
        return load_zoo_model(arch, spec.checkpoint, num_classes=spec.num_classes, kwargs=spec.arch_kwargs,
                              from_pretrained=getattr(spec, "from_pretrained", None), notes=notes), arch
    except InputError as exc:
        text = str(exc)
        if text.startswith("arch_kwargs."):
            raise ConfigError(f"{key}.{text}") from None
        raise ConfigError(f"{key}.{'arch_kwargs' if 'arch_kwargs' in text else 'arch'}: {text}") from None
    except CheckpointError as exc:
        raise ConfigError(f"{key}.checkpoint: {exc}") from None


def _rebuild(spec: Any, key: str, default_arch: str) -> Any:
    """The entry's model, rebuilt from its checkpoint (a source's :class:`ModelRef` loader: picklable)."""
    return _load(spec, key, default_arch, [])[0]


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


def _features_problem(model: Any, spec: Any, key: str, metrics: Sequence[str]) -> str | None:
    """The ConfigError message when one of ``metrics`` reads features (its registry input is not ``"probs"``)
    and the model has no default feature module (no ``nn.Linear``) while the entry sets no ``feature_layer``;
    else None."""
    from transfergraph.planner.metrics import REGISTRY
    from transfergraph.planner.runtime.model_outputs import feature_module

    reading = [m for m in metrics if m in REGISTRY and str(REGISTRY[m].input) != "probs"]
    if not reading or spec.feature_layer is not None or feature_module(model, None)[0] is not None:
        return None
    children = [name for name, _ in model.named_children()]
    shown = ", ".join(children[:10]) + (", ..." if len(children) > 10 else "")
    return (
        f"{key}.feature_layer: {type(model).__name__} has no nn.Linear, so it has no default features (the input "
        f"of its last nn.Linear) for the feature-based metrics of scoring.metrics {reading}. Set {key}.feature_layer "
        f"to the module whose output are the features (its top-level modules: {shown}; a dotted name reaches "
        f"inside one) and {key}.pooling to avg (or max) to pool a 4-D feature map, e.g. "
        "`feature_layer: features, pooling: avg`; or score it with output-based metrics only ("
        + ", ".join(n for n, m in REGISTRY.items() if str(m.input) == "probs") + ").")


def external_source(spec: Any, i: int, tasks: Sequence[Task], *, default_arch: str,
                    log: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None,
                    metrics: Sequence[str] = ()) -> Source:
    """The :class:`~transfergraph.planner.Source` of loaded-model entry ``i`` (see the module docstring).

    ``log`` receives what was adapted to load the checkpoint (nesting unwrapped, prefixes stripped,
    constructor flags set); ``warn`` (default: ``log``) a warning when the model's outputs on a batch
    of the first task are degenerate (:func:`transfergraph.adapters.models.output_check.degenerate_output_warning`).
    ``metrics``: the metrics the source will be scored with (config ``scoring.metrics``); when one reads
    features, a model without features to read is a ConfigError naming the entry's ``feature_layer``.
    """
    log = log or (lambda _m: None)
    warn = warn or log
    key = f"models.external[{i}] ({spec.name})"
    notes: list[str] = []
    model, zoo = _load(spec, key, default_arch, notes)
    for line in notes:
        log(f"{key}: {line}")
    no_features = _features_problem(model, spec, key, metrics)  # raised after the fit check, which comes first
    try:
        transform = preprocess_for(spec, model, zoo) if zoo or spec.preprocess is not None else None
    except ValueError as exc:
        raise ConfigError(f"{key}.preprocess: {exc}") from None
    from transfergraph.planner.inputs.model_ref import ModelRef

    ref = ModelRef(functools.partial(_rebuild, spec.model_copy(update={"checkpoint": os.path.abspath(spec.checkpoint)}),
                                     key, default_arch), model, describe=f"{key}: checkpoint {spec.checkpoint}")
    del model  # from here the ref's process-wide "last model" holds it, until the next one is loaded
    try:
        source = Source(spec.name, ref, transform=transform, feature_layer=spec.feature_layer, pooling=spec.pooling)
    except InputError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    _check_fits(source, tasks, key)
    if no_features:
        raise ConfigError(no_features)
    if tasks:
        try:
            problem = degenerate_output_warning(source, tasks[0])
        except Exception as exc:  # noqa: BLE001 - a batch the model cannot take fails its pairs at scoring
            problem = None
            log(f"{key}: output check skipped ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})")
        if problem:
            warn(f"{key}: the model loaded from {spec.checkpoint} {problem}. {degenerate_output_advice()}")
    source.model_fingerprint()  # taken now, while the model is loaded: planning a run needs no second load
    return source
