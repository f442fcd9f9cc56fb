"""transfergraph: plan transfer, meta-transfer and multitask learning from measured transferability.

>>> import transfergraph as tg
>>> tg.select_sources  # doctest: +ELLIPSIS
<function select_sources at ...>

This package is the public face and the application layer: it re-exports the public API of
:mod:`planner` (the core: metrics, scoring, graph, decisions, report) and holds the code that wires
the core to :mod:`adapters` (datasets, models, meta-transfer): the job config
(:mod:`transfergraph.config`), the job pipeline (:mod:`transfergraph.jobs.run`), the validate job
(:mod:`transfergraph.jobs.validate`), the task/source builders (:mod:`transfergraph.jobs.suite`) and the
command line (:mod:`transfergraph.cli`). It is the only package that imports both ``planner`` and
``adapters``. Every name loads lazily, so ``import transfergraph`` imports neither torch, Ray nor
matplotlib.
"""
from __future__ import annotations

from transfergraph.planner import _LAZY as _CORE
from transfergraph.planner import __version__
from transfergraph.planner._lazy import lazy_attributes

_LAZY = {
    **_CORE,
    "load_config": "transfergraph.config",
    "parse_config": "transfergraph.config",
    "JobConfig": "transfergraph.config",
    "run_job": "transfergraph.jobs.run",
    "validate_job": "transfergraph.jobs.validate",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes("transfergraph", _LAZY, globals(), modules=("metrics",))
