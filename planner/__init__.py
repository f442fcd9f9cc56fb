"""transfergraph core: transferability metrics, scoring, the transfer graph and decisions.

>>> from planner import Task, Source, score, build_graph, select_sources

Heavy modules (torch, Ray) load lazily on first use, so ``import planner`` and the CLI's help stay fast.
"""
from __future__ import annotations

import importlib
from typing import Any

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
    "metrics": "planner.metrics",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name == "metrics" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'planner' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
