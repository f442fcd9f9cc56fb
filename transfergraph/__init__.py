"""transfergraph: plan transfer, meta-transfer and multitask learning from measured transferability.

>>> import transfergraph as tg
>>> tg.select_sources  # doctest: +ELLIPSIS
<function select_sources at ...>

This package is the public face and the application layer: it re-exports the public API of
:mod:`transfergraph.planner` (the core: data model, scoring, graph, decisions, executors, validation,
report, the exception hierarchy) and holds the code that wires the core to
:mod:`transfergraph.adapters` (datasets, models, meta-transfer): the job config
(:mod:`transfergraph.config`), the job pipeline (:mod:`transfergraph.jobs.run`), the validate job
(:mod:`transfergraph.jobs.validate`), the task/source builders (:mod:`transfergraph.jobs.suite`) and the
command line (:mod:`transfergraph.cli`). Every name loads lazily, so ``import transfergraph`` imports
neither torch, Ray nor matplotlib; type checkers and IDEs read the real imports under
``TYPE_CHECKING`` below (the package ships ``py.typed``). The layout and the import rules between
the stages: ``docs/architecture.md``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from transfergraph.planner import _LAZY as _CORE
from transfergraph.planner import __version__
from transfergraph.planner._lazy import lazy_attributes

_LAZY = {
    **_CORE,
    "load_config": "transfergraph.config",
    "parse_config": "transfergraph.config",
    "JobConfig": "transfergraph.config",
    "build_tasks": "transfergraph.jobs.suite",
    "build_sources": "transfergraph.jobs.suite",
    "run_job": "transfergraph.jobs.run",
    "validate_job": "transfergraph.jobs.validate",
}

if TYPE_CHECKING:  # every name of _LAZY, imported for real for type checkers and IDEs (never at run time)
    from transfergraph.config import JobConfig as JobConfig
    from transfergraph.config import load_config as load_config
    from transfergraph.config import parse_config as parse_config
    from transfergraph.jobs.run import run_job as run_job
    from transfergraph.jobs.suite import build_sources as build_sources
    from transfergraph.jobs.suite import build_tasks as build_tasks
    from transfergraph.jobs.validate import validate_job as validate_job
    from transfergraph.planner import CacheError as CacheError
    from transfergraph.planner import CheckpointError as CheckpointError
    from transfergraph.planner import ConfigError as ConfigError
    from transfergraph.planner import Executor as Executor
    from transfergraph.planner import ExecutorError as ExecutorError
    from transfergraph.planner import FeatureError as FeatureError
    from transfergraph.planner import GraphError as GraphError
    from transfergraph.planner import InfeasiblePlanError as InfeasiblePlanError
    from transfergraph.planner import InputError as InputError
    from transfergraph.planner import LocalExecutor as LocalExecutor
    from transfergraph.planner import Plan as Plan
    from transfergraph.planner import PlanOptions as PlanOptions
    from transfergraph.planner import Provenance as Provenance
    from transfergraph.planner import RayExecutor as RayExecutor
    from transfergraph.planner import ScoreError as ScoreError
    from transfergraph.planner import Source as Source
    from transfergraph.planner import Task as Task
    from transfergraph.planner import TransfergraphError as TransfergraphError
    from transfergraph.planner import build_graph as build_graph
    from transfergraph.planner import build_plan as build_plan
    from transfergraph.planner import correlations as correlations
    from transfergraph.planner import explain_plan as explain_plan
    from transfergraph.planner import get_executor as get_executor
    from transfergraph.planner import group_tasks as group_tasks
    from transfergraph.planner import metrics as metrics
    from transfergraph.planner import order_curriculum as order_curriculum
    from transfergraph.planner import run_validation as run_validation
    from transfergraph.planner import score as score
    from transfergraph.planner import select_source_set as select_source_set
    from transfergraph.planner import select_sources as select_sources
    from transfergraph.planner import selection_regret as selection_regret

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes("transfergraph", _LAZY, globals(), modules=("metrics",))
