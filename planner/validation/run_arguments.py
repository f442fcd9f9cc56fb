"""Checks of :func:`transfergraph.planner.validation.run_validation`'s arguments: the pairs to validate, the
methods, the meta-model(s) and the methods' options. Every failure is an
:class:`~transfergraph.planner.common.exceptions.InputError` naming the argument.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.validation.jobs import METHODS
from transfergraph.planner.validation.meta_adaptation import check_meta_model

__all__ = ["candidate_pairs", "select_pairs", "check_methods", "check_meta", "check_options"]


def candidate_pairs(sources: Sequence[Source], tasks: Sequence[Task]) -> list[tuple[str, str]]:
    """Every (source name, target name) pair except a source on its own training task (self-edge)."""
    return [(s.name, t.name) for s in sources for t in tasks if s.task != t.name]


def select_pairs(sources: list[Source], tasks: list[Task], pairs: Any, n_pairs: Any, seed: int) -> list[tuple[str, str]]:
    """The pairs to validate: ``pairs`` checked (known names, no self-edge, no repeat) and put in
    :func:`candidate_pairs` order, or every candidate; then a sample of ``n_pairs`` of them drawn
    with ``numpy.random.default_rng(seed)``. Raises InputError naming the argument."""
    allowed = candidate_pairs(sources, tasks)
    if pairs is None:
        chosen = allowed
    else:
        if isinstance(pairs, (str, bytes, Mapping)) or not isinstance(pairs, Sequence):
            raise InputError(f"pairs must be a list of (source name, target name) tuples or None; got {type(pairs).__name__}.")
        src_names = {s.name: s for s in sources}
        task_names = {t.name for t in tasks}
        chosen = []
        for i, p in enumerate(pairs):
            if not isinstance(p, (tuple, list)) or len(p) != 2:
                raise InputError(f"pairs[{i}] must be a (source name, target name) pair; got {p!r}.")
            s, t = p
            if s not in src_names:
                raise InputError(f"pairs[{i}] names unknown source {s!r}; known sources: {sorted(src_names)[:10]}.")
            if t not in task_names:
                raise InputError(f"pairs[{i}] names unknown target {t!r}; known tasks: {sorted(task_names)[:10]}.")
            if src_names[s].task == t:
                raise InputError(
                    f"pairs[{i}] = ({s!r}, {t!r}) pairs a source with its own training task (a self-edge); remove it."
                )
            chosen.append((s, t))
        if len(set(chosen)) != len(chosen):
            dup = next(p for p in chosen if chosen.count(p) > 1)
            raise InputError(f"pairs must not repeat a pair; {dup!r} appears more than once.")
        order = {p: i for i, p in enumerate(allowed)}
        chosen.sort(key=order.__getitem__)
    if n_pairs is not None:
        n_pairs = check_scalar(n_pairs, "n_pairs", int, caller="run_validation", min_val=1)
        if n_pairs < len(chosen):
            rng = np.random.default_rng(seed)
            keep = np.sort(rng.choice(len(chosen), size=n_pairs, replace=False))
            chosen = [chosen[i] for i in keep]
    if not chosen:
        raise InputError("no (source, target) pair to validate: every source was trained on the only target(s) given.")
    return chosen


def check_methods(methods: Any, meta_model: Any) -> list[str]:
    """``methods`` as a list of known method names, without repeats (a str is one method)."""
    names = [methods] if isinstance(methods, str) else methods
    if not isinstance(names, Sequence) or isinstance(names, (bytes, Mapping)) or not names:
        raise InputError(f"methods must be a non-empty sequence of method names from {list(METHODS)}; got {methods!r}.")
    names = list(dict.fromkeys(names))
    for m in names:
        if m not in METHODS:
            raise InputError(f"methods contains unknown method {m!r}; known methods: {list(METHODS)}.")
    if "meta_transfer" in names and meta_model is None:
        raise InputError(
            "methods includes 'meta_transfer' but meta_model is None; pass a CNAPs-style model with adapt() "
            "(or a dict {source name: model}), or drop 'meta_transfer'."
        )
    return names


def check_meta(meta_model: Any, sources: list[Source]) -> dict[str, Any] | Any:
    """``meta_model`` checked: None, one CNAPs-style model, or a dict keyed by source names."""
    if meta_model is None:
        return None
    if isinstance(meta_model, Mapping):
        names = {s.name for s in sources}
        for k, m in meta_model.items():
            if k not in names:
                raise InputError(f"meta_model has key {k!r}, which is not a source name; known sources: {sorted(names)[:10]}.")
            check_meta_model(m, f"meta_model[{k!r}]")
        return dict(meta_model)
    check_meta_model(meta_model)
    return meta_model


def check_options(method_options: Any, methods: list[str]) -> dict[str, dict[str, Any]]:
    """``{method: {option: value}}`` for every method in ``methods``; unknown methods or options
    (keyword-only parameters of the method's function) raise InputError."""
    if method_options is None:
        return {m: {} for m in methods}
    if not isinstance(method_options, Mapping):
        raise InputError(f"method_options must be a dict {{method: {{option: value}}}}; got {type(method_options).__name__}.")
    for m, opts in method_options.items():
        if m not in METHODS:
            raise InputError(f"method_options has unknown method {m!r}; known methods: {list(METHODS)}.")
        if not isinstance(opts, Mapping):
            raise InputError(f"method_options[{m!r}] must be a dict of options; got {type(opts).__name__}.")
        allowed = _option_names(m)
        for key in opts:
            if key not in allowed:
                raise InputError(f"method_options[{m!r}] has unknown option {key!r}; options of {m}: {sorted(allowed)}.")
    return {m: dict(method_options.get(m, {})) for m in methods}


def _option_names(method: str) -> set[str]:
    import inspect

    from transfergraph.planner.validation.fine_tuning import fine_tune
    from transfergraph.planner.validation.head_retraining import retrain_head_many
    from transfergraph.planner.validation.meta_adaptation import meta_transfer

    fn = {"retrain_head": retrain_head_many, "fine_tune": fine_tune, "meta_transfer": meta_transfer}[method]
    reserved = {"source", "task", "tasks", "seed", "meta_model", "fit", "raise_errors"}
    return {p.name for p in inspect.signature(fn).parameters.values()
            if p.kind == p.KEYWORD_ONLY and p.name not in reserved}
