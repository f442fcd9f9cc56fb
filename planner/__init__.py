"""transfergraph core: transferability metrics, scoring, the transfer graph and decisions.

>>> from planner import Task, Source, score, build_graph, select_sources

Heavy modules (torch, Ray) load lazily on first use, so ``import planner`` and the CLI's help stay fast.
"""
from __future__ import annotations

from ._lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "Task": "planner.task",
    "Source": "planner.task",
    "score": "planner.scoring",
    "build_graph": "planner.graph",
    "select_sources": "planner.decisions",
    "select_source_set": "planner.decisions",
    "group_tasks": "planner.decisions",
    "order_curriculum": "planner.decisions",
    "make_plan": "planner.decisions",
    "build_plan": "planner.decisions",
    "Plan": "planner.decisions",
    "PlanOptions": "planner.decisions",
    "metrics": "planner.metrics",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes("planner", _LAZY, globals(), modules=("metrics",))
