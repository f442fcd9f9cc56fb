"""Up-front argument checks for :func:`transfergraph.planner.score` (errors name the argument)."""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.task import Source, Task

__all__ = ["check_named", "check_metrics", "check_cache", "check_seed"]


def check_named(value: Any, argument: str, kind: type) -> list:
    """``value`` as a non-empty list of ``kind`` instances with unique ``.name``."""
    if isinstance(value, kind):
        raise InputError(f"{argument} must be a sequence of {kind.__name__} objects; got a single {kind.__name__} "
                         f"({value.name!r}). Wrap it in a list: [{kind.__name__.lower()}].")
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InputError(f"{argument} must be a non-empty sequence of {kind.__name__} objects; got {type(value).__name__}.")
    items = list(value)
    if not items:
        raise InputError(f"{argument} must be a non-empty sequence of {kind.__name__} objects; got an empty sequence.")
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise InputError(f"{argument}[{i}] must be a {kind.__name__}; got {type(item).__name__}.")
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise InputError(f"{argument} must have unique names; {item.name!r} appears more than once.")
        seen.add(item.name)
    return items


def check_metrics(metrics: Any, registry: Mapping[str, Any]) -> list[str]:
    """Metric names as a list without duplicates, each registered."""
    names = [metrics] if isinstance(metrics, str) else metrics
    if not isinstance(names, Sequence) or isinstance(names, (bytes, Mapping)):
        raise InputError(f"metrics must be a metric name or a sequence of names; got {type(metrics).__name__}.")
    names = list(dict.fromkeys(names))
    if not names:
        raise InputError(f"metrics must name at least one metric; got an empty sequence. Known: {sorted(registry)}.")
    for name in names:
        if not isinstance(name, str) or name not in registry:
            raise InputError(f"metrics contains unknown metric {name!r}; known metrics: {sorted(registry)}.")
    return names


def check_cache(cache: Any) -> str | None:
    if cache is None:
        return None
    if isinstance(cache, (str, os.PathLike)) and str(cache).strip():
        return os.fspath(cache)
    raise InputError(f"cache must be a directory path (str or os.PathLike) or None; got {cache!r}.")


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be an integer; got {seed!r}.")
    return seed


class SourceTaskWarning(UserWarning):
    """A source names a ``task`` that is not one of the scored tasks (often a typo)."""


def check_sources_tasks(sources: Any, tasks: Any) -> tuple[list[Source], list[Task]]:
    """Checked lists; warns (:class:`SourceTaskWarning`) for a ``Source.task`` naming no scored task: the
    graph then gets a task node with no score into it, and groups and curricula include it."""
    import warnings

    sources, tasks = check_named(sources, "sources", Source), check_named(tasks, "tasks", Task)
    names = {t.name for t in tasks}
    for s in sources:
        if s.task is not None and s.task not in names:
            close = [n for n in sorted(names) if n.lower().startswith(str(s.task).lower()[:3])][:3]
            warnings.warn(f"task of Source {s.name!r} is {s.task!r}, which is not one of the scored tasks"
                          + (f" (did you mean {close}?)" if close else "") + "; the graph will have a task node "
                          "with no scores into it, and groups and curricula will include it.",
                          SourceTaskWarning, stacklevel=3)
    return sources, tasks
