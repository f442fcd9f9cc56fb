"""transfergraph: plan transfer, meta-transfer and multitask learning from measured transferability.

>>> import transfergraph as tg
>>> tg.select_sources  # doctest: +ELLIPSIS
<function select_sources at ...>

This package is the public face and the application layer: it re-exports the public API of
:mod:`planner` (the core: metrics, scoring, graph, decisions, report) and holds the code that wires
the core to :mod:`adapters` (datasets, models, meta-transfer): the job config
(:mod:`transfergraph.config`), the job pipeline (:mod:`transfergraph.pipeline`), the validate job
(:mod:`transfergraph.validate_job`), the task/source builders (:mod:`transfergraph.suite`) and the
command line (:mod:`transfergraph.cli`). It is the only package that imports both ``planner`` and
``adapters``. Every name loads lazily, so ``import transfergraph`` imports neither torch, Ray nor
matplotlib.
"""
from __future__ import annotations

import importlib
from typing import Any

from planner import __version__
from planner import _LAZY as _CORE

_LAZY = {
    **_CORE,
    "load_config": "transfergraph.config",
    "parse_config": "transfergraph.config",
    "JobConfig": "transfergraph.config",
    "run_job": "transfergraph.pipeline",
    "validate_job": "transfergraph.validate_job",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name == "metrics" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'transfergraph' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
