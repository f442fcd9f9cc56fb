"""The main job: config -> tasks and sources -> scores -> graph -> decisions -> report.

Only wiring lives here; each step is a library function (``transfergraph.suite``, ``planner.score``,
``planner.build_graph``, ``planner.decisions.make_plan``, ``planner.report``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import networkx as nx
import pandas as pd

from .config import JobConfig
from planner.exceptions import InputError
from planner.graph import build_graph
from planner.io import atomic_write_json, atomic_write_with, prepare_out_dir

__all__ = ["RunResult", "run_job", "plan_outputs", "read_scores", "resolve_cache", "make_executor"]


@dataclass
class RunResult:
    out: Path
    scores: pd.DataFrame
    graph: nx.DiGraph
    plan: dict
    seconds: float

    @property
    def n_failed(self) -> int:
        return int((self.scores["status"] != "ok").sum())


def resolve_cache(setting, out: Path, name: str, override: str | None | bool = None) -> Path | None:
    """Cache folder from the CLI override (path, or False for none) or the config (true = OUT/name)."""
    value = setting if override is None else override
    if value is False or value is None:
        return None
    if value is True:
        return out / name
    return Path(value)


def make_executor(config: JobConfig, *, executor: str | None = None, address: str | None = None,
                  workers: int | None = None):
    """The executor to score with: CLI options override the config's ``scoring`` section."""
    name = executor or config.scoring.executor
    address = address or config.scoring.address
    workers = workers or config.scoring.workers
    if name == "local":
        if address:
            raise InputError("--address needs the ray executor; drop --address or use --executor ray.")
        return "local"
    from planner.executors import get_executor

    return get_executor("ray", address=address, workers=workers)


def read_scores(path: str | Path) -> pd.DataFrame:
    """Read a ``scores.csv`` written by ``transfergraph run`` (empty source_task kept as "")."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"SCORES_CSV {path} does not exist; pass the scores.csv written by `transfergraph run`.")
    try:
        df = pd.read_csv(path, keep_default_na=False, na_values={"score": ["", "nan", "NaN"],
                                                                  "normalized": ["", "nan", "NaN"]})
    except Exception as exc:  # pandas raises many parser error types
        raise InputError(f"SCORES_CSV {path} is not a readable CSV: {str(exc).splitlines()[0]}.") from None
    from planner.graph import SCORE_COLUMNS

    missing = [c for c in SCORE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"SCORES_CSV {path} lacks columns {missing}; expected a scores.csv from `transfergraph run`.")
    for col in ("source", "source_task", "target", "metric", "status"):
        df[col] = df[col].astype(str)
    for col in ("score", "normalized"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def plan_outputs(scores: pd.DataFrame, out: Path, *, metric: str, config_summary: dict, plan_options: dict,
                 seconds: float) -> tuple[nx.DiGraph, dict]:
    """Graph, plan, figures and report from a score table (shared by ``run`` and ``plan``)."""
    from planner.decisions import make_plan
    from planner.report import explain_plan, plot_curriculum, plot_groups
    from planner.report import plot_graph, plot_heatmap, write_report

    graph = build_graph(scores, metric=metric)
    atomic_write_with(out / "graph.graphml", lambda tmp: nx.write_graphml(graph, tmp))
    plan = make_plan(graph, metric=metric, **plan_options)
    failed = scores[scores["status"] != "ok"][["source", "target"]].drop_duplicates()
    if len(failed):
        plan.setdefault("warnings", []).append(
            f"{len(failed)} (source, target) pairs failed to score and are missing from the graph; see report.md.")
    atomic_write_json(out / "plan.json", plan)
    figures = {"heatmap": "heatmap.png", "graph": "graph.png", "groups": "groups.png", "curriculum": "curriculum.png"}
    plot_heatmap(scores, metric, out / figures["heatmap"])
    plot_graph(graph, out / figures["graph"])
    plot_groups(graph, plan, out / figures["groups"])
    plot_curriculum(graph, plan, out / figures["curriculum"])
    write_report(out, scores=scores, graph=graph, plan=plan, config_summary=config_summary,
                 decisions_markdown=explain_plan(plan), figures=figures, seconds=seconds)
    return graph, plan


def plan_options_from(config: JobConfig) -> dict:
    p = config.plan
    return {"top_k": p.top_k, "budget": p.budget, "n_groups": p.n_groups, "max_group_size": p.max_group_size,
            "start": p.curriculum_start, "centered": p.centered, "curriculum_objective": p.curriculum_objective,
            "time_limit": p.time_limit, "seed": config.seed}


def run_job(config: JobConfig, out: str | Path, *, executor: str | None = None, address: str | None = None,
            workers: int | None = None, cache: str | None | bool = None, progress: bool = True,
            log: Callable[[str], None] | None = None) -> RunResult:
    """Run the whole job and write ``scores.csv``, ``graph.graphml``, ``plan.json``, ``report.md`` and figures."""
    from .suite import build_sources, build_tasks

    from planner.scoring import score

    log = log or (lambda _m: None)
    start = time.perf_counter()
    out = prepare_out_dir(out)
    cache_dir = resolve_cache(config.scoring.cache, out, "cache", cache)
    model_dir = Path(config.models.model_dir) if config.models.model_dir else out / "models"
    runner = make_executor(config, executor=executor, address=address, workers=workers)
    log(f"building {len(config.tasks)} tasks")
    tasks = build_tasks(config)
    sources = build_sources(config, tasks, model_dir=model_dir, log=log)
    log(f"scoring {len(sources)} sources x {len(tasks)} targets x {len(config.scoring.metrics)} metrics "
        f"({runner if isinstance(runner, str) else type(runner).__name__})")
    scores = score(sources, tasks, metrics=tuple(config.scoring.metrics), executor=runner, cache=cache_dir,
                   progress=progress, seed=config.seed)
    atomic_write_with(out / "scores.csv", lambda tmp: scores.to_csv(tmp, index=False))
    seconds = time.perf_counter() - start
    summary = {"name": config.name, "n_tasks": len(tasks), "n_sources": len(sources),
               "executor": executor or config.scoring.executor}
    graph, plan = plan_outputs(scores, out, metric=config.plan_metric, config_summary=summary,
                               plan_options=plan_options_from(config), seconds=seconds)
    return RunResult(out, scores, graph, plan, time.perf_counter() - start)
