"""transfergraph core: transferability metrics, scoring, the transfer graph and decisions.

>>> from transfergraph.planner import Task, Source, score, build_graph, select_sources

Heavy modules (torch, Ray) load lazily on first use, so ``import transfergraph.planner`` and the CLI's help stay
fast; type checkers and IDEs read the real imports under ``TYPE_CHECKING`` below.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from transfergraph.planner._lazy import lazy_attributes

__version__ = "0.1.0"

_EXCEPTIONS = ("TransfergraphError", "InputError", "ConfigError", "ScoreError", "FeatureError", "GraphError",
               "InfeasiblePlanError", "CacheError", "ExecutorError", "CheckpointError")

_LAZY = {
    "Task": "transfergraph.planner.inputs.task",
    "Source": "transfergraph.planner.inputs.task",
    "Provenance": "transfergraph.planner.inputs.provenance",
    "score": "transfergraph.planner.scoring",
    "build_graph": "transfergraph.planner.graph",
    "select_sources": "transfergraph.planner.decisions",
    "select_source_set": "transfergraph.planner.decisions",
    "group_tasks": "transfergraph.planner.decisions",
    "order_curriculum": "transfergraph.planner.decisions",
    "build_plan": "transfergraph.planner.decisions",
    "Plan": "transfergraph.planner.decisions",
    "PlanOptions": "transfergraph.planner.decisions",
    "explain_plan": "transfergraph.planner.report",
    "Executor": "transfergraph.planner.executors",
    "LocalExecutor": "transfergraph.planner.executors",
    "RayExecutor": "transfergraph.planner.executors",
    "get_executor": "transfergraph.planner.executors",
    "run_validation": "transfergraph.planner.validation",
    "correlations": "transfergraph.planner.validation",
    "selection_regret": "transfergraph.planner.validation",
    **{name: "transfergraph.planner.common.exceptions" for name in _EXCEPTIONS},
    "metrics": "transfergraph.planner.metrics",
}

if TYPE_CHECKING:  # the same names, imported for real for type checkers and IDEs (never at run time)
    from transfergraph.planner import metrics as metrics
    from transfergraph.planner.common.exceptions import CacheError as CacheError
    from transfergraph.planner.common.exceptions import CheckpointError as CheckpointError
    from transfergraph.planner.common.exceptions import ConfigError as ConfigError
    from transfergraph.planner.common.exceptions import ExecutorError as ExecutorError
    from transfergraph.planner.common.exceptions import FeatureError as FeatureError
    from transfergraph.planner.common.exceptions import GraphError as GraphError
    from transfergraph.planner.common.exceptions import InfeasiblePlanError as InfeasiblePlanError
    from transfergraph.planner.common.exceptions import InputError as InputError
    from transfergraph.planner.common.exceptions import ScoreError as ScoreError
    from transfergraph.planner.common.exceptions import TransfergraphError as TransfergraphError
    from transfergraph.planner.decisions import Plan as Plan
    from transfergraph.planner.decisions import PlanOptions as PlanOptions
    from transfergraph.planner.decisions import build_plan as build_plan
    from transfergraph.planner.decisions import group_tasks as group_tasks
    from transfergraph.planner.decisions import order_curriculum as order_curriculum
    from transfergraph.planner.decisions import select_source_set as select_source_set
    from transfergraph.planner.decisions import select_sources as select_sources
    from transfergraph.planner.executors import Executor as Executor
    from transfergraph.planner.executors import LocalExecutor as LocalExecutor
    from transfergraph.planner.executors import get_executor as get_executor
    from transfergraph.planner.executors.ray_executor import RayExecutor as RayExecutor
    from transfergraph.planner.graph import build_graph as build_graph
    from transfergraph.planner.inputs.provenance import Provenance as Provenance
    from transfergraph.planner.inputs.task import Source as Source
    from transfergraph.planner.inputs.task import Task as Task
    from transfergraph.planner.report.explain import explain_plan as explain_plan
    from transfergraph.planner.scoring import score as score
    from transfergraph.planner.validation import correlations as correlations
    from transfergraph.planner.validation import run_validation as run_validation
    from transfergraph.planner.validation import selection_regret as selection_regret

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes("transfergraph.planner", _LAZY, globals(), modules=("metrics",))
