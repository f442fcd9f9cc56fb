"""transfergraph core: transferability metrics, scoring, the transfer graph and decisions.

>>> from transfergraph.planner import Task, Source, score, build_graph, select_sources

Heavy modules (torch, Ray) load lazily on first use, so ``import transfergraph.planner`` and the CLI's help stay fast.
"""
from __future__ import annotations

from transfergraph.planner._lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "Task": "transfergraph.planner.inputs.task",
    "Source": "transfergraph.planner.inputs.task",
    "score": "transfergraph.planner.scoring",
    "build_graph": "transfergraph.planner.graph",
    "select_sources": "transfergraph.planner.decisions",
    "select_source_set": "transfergraph.planner.decisions",
    "group_tasks": "transfergraph.planner.decisions",
    "order_curriculum": "transfergraph.planner.decisions",
    "make_plan": "transfergraph.planner.decisions",
    "build_plan": "transfergraph.planner.decisions",
    "Plan": "transfergraph.planner.decisions",
    "PlanOptions": "transfergraph.planner.decisions",
    "metrics": "transfergraph.planner.metrics",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes("transfergraph.planner", _LAZY, globals(), modules=("metrics",))
