"""The main job: config -> tasks and sources -> scores -> graph -> decisions -> report.

Only wiring lives here; each step is a library function (``transfergraph.jobs.suite``, ``transfergraph.planner.score``,
``transfergraph.planner.build_graph``, ``transfergraph.planner.decisions.build_plan``, ``transfergraph.planner.report``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import networkx as nx
import pandas as pd

from transfergraph.planner.decisions.options import PlanOptions
from transfergraph.planner.decisions.plan_types import Plan
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.executors import Executor, LocalExecutor
from transfergraph.planner.graph import build_graph
from transfergraph.planner.common.io import atomic_write_json, atomic_write_with, prepare_out_dir

from transfergraph.config import JobConfig
from transfergraph.config.devices import check_device
from transfergraph.jobs.out_owner import other_run_in
from transfergraph.jobs.planning import plan_options, read_scores

__all__ = ["RunResult", "run_job", "plan_outputs", "read_scores", "resolve_cache", "make_executor", "connect_executor",
           "pairs_record"]


@dataclass
class RunResult:
    out: Path
    scores: pd.DataFrame
    graph: nx.DiGraph
    plan: Plan
    seconds: float

    @property
    def n_failed(self) -> int:
        return int((self.scores["status"] == "failed").sum())  # "predicted" rows (pairs_fraction) are not failures


def resolve_cache(setting, out: Path, name: str, override: str | None | bool = None) -> Path | None:
    """Cache folder from the CLI override (path, or False for none) or the config (true = OUT/name)."""
    value = setting if override is None else override
    if value is False or value is None:
        return None
    if value is True:
        return out / name
    return Path(value)


def make_executor(config: JobConfig, *, executor: str | None = None, address: str | None = None,
                  workers: int | None = None, log_file: Path | None = None, verbose: bool = False,
                  gpus_per_task: float | None = None) -> Executor:
    """The executor to score with: CLI options override the config's ``scoring`` section.

    A :class:`~transfergraph.planner.executors.LocalExecutor` or a Ray executor; a Ray executor sends
    Ray's own console output to ``log_file`` unless ``verbose``."""
    name = executor or config.scoring.executor
    address = address or config.scoring.address
    workers = workers or config.scoring.workers
    gpus = config.scoring.gpus_per_task if gpus_per_task is None else gpus_per_task
    if name == "local":
        if address:
            raise InputError("--address needs the ray executor; drop --address or use --executor ray.")
        return LocalExecutor()
    from transfergraph.planner.executors import RayExecutor

    return RayExecutor(address=address, workers=workers, log_file=log_file, verbose=verbose,
                       gpus_per_task=gpus or None)


def connect_executor(runner, log: Callable[[str], None]) -> None:
    """Connect a Ray executor now, before any task is built or model trained, so that a bad address,
    token or version fails in seconds (:mod:`transfergraph.planner.executors.preflight`)."""
    if isinstance(runner, LocalExecutor):
        return
    runner.connect()
    if runner.logs.log_file is not None and not runner.logs.verbose:
        log(f"Ray's own log lines go to {runner.logs.log_file} (--verbose shows them)")


def runs_on_this_machine(runner) -> bool:
    """True for the local executor and an embedded Ray; False for a connected Ray cluster."""
    if isinstance(runner, LocalExecutor):
        return True
    from transfergraph.planner.executors.ray_connect import owns_embedded_ray

    return owns_embedded_ray()


def plan_outputs(scores: pd.DataFrame | None, out: Path, *, options: PlanOptions, config_summary: dict,
                 seconds: float, graph: nx.DiGraph | None = None, tasks=None,
                 sources=None, warnings: Sequence[str] = ()) -> tuple[nx.DiGraph, Plan]:
    """Graph, plan, figures and report from a score table or a graph (shared by ``run`` and ``plan``).

    With ``tasks`` (and the ``sources`` scored on them) the plan also warns about sample overlap
    between the recommended sources' training data and their targets; without, it says that check
    did not run. ``warnings`` (e.g. a loaded model's degenerate outputs) are added to the plan's.
    Writes ``graph.graphml``, ``plan.json`` (and ``scores.csv`` when given scores and it is not
    there yet), then the report from those files. With only ``graph`` (re-planning from
    ``graph.graphml``) the heatmap and failed-pair notes are left out.
    """
    from transfergraph.planner.decisions import build_plan
    from transfergraph.planner.decisions.trust import data_warnings
    from transfergraph.planner.report import write_report

    if graph is None:
        graph = build_graph(scores, metric=options.metric)
    atomic_write_with(out / "graph.graphml", lambda tmp: nx.write_graphml(graph, tmp))
    if scores is not None and not (out / "scores.csv").is_file():
        atomic_write_with(out / "scores.csv", lambda tmp: scores.to_csv(tmp, index=False))
    plan = build_plan(graph, options)
    plan.warnings += list(warnings)
    plan.warnings += data_warnings(plan.to_json(), scores=scores, tasks=tasks, sources=sources,
                                   metric=options.metric)
    failed = scores[scores["status"] == "failed"][["source", "target"]].drop_duplicates() if scores is not None else []
    if len(failed):
        plan.warnings.append(
            f"{len(failed)} (source, target) pairs failed to score and are missing from the graph; see report.md.")
    plan_json = plan.to_json()
    atomic_write_json(out / "plan.json", plan_json)
    write_report(out, graph=graph, plan=plan_json, scores=scores, summary=config_summary, seconds=seconds)
    return graph, plan


def _record_data(out: Path, config: JobConfig) -> None:
    """Add ``data`` to ``run.json`` for data with class names (an image folder, a Hugging Face
    ``ClassLabel``): its classes as ``{name: position}`` (the labels, and what integer ``classes``
    entries select) and an image folder's sub-folders that are not classes, with why."""
    import json

    from transfergraph.jobs.suite import describe_data

    data = describe_data(config)
    if data is not None:
        info = json.loads((out / "run.json").read_text())
        atomic_write_json(out / "run.json", {**info, "data": data})


def pairs_record(scores) -> dict:
    """``run.json``'s record of how many pairs were scored: ``pairs_fraction``, the share asked for (``None``
    when every pair was scored: none asked, or 1), and ``pairs``: ``candidates``, the (source, target) pairs that
    can be graph edges (every pair but a source's own task: the pairs the share applies to), ``scored`` of them
    (status ok or failed: tried) and ``predicted`` (every row of the pair has status "predicted")."""
    from transfergraph.planner.report.predicted import pair_masks

    meta = scores.attrs.get("pairs_fraction") or {}
    pred, own = pair_masks(scores)
    return {"pairs_fraction": meta.get("fraction"),
            "pairs": {"candidates": int((~own).sum()), "scored": int((~own & ~pred).sum()),
                      "predicted": int(pred.sum())}}


def _record_pairs(out: Path, scores) -> None:
    """Add :func:`pairs_record` of ``scores`` to ``run.json``."""
    import json

    info = json.loads((out / "run.json").read_text())
    atomic_write_json(out / "run.json", {**info, **pairs_record(scores)})


def run_job(config: JobConfig, out: str | Path, *, executor: str | None = None, address: str | None = None,
            workers: int | None = None, cache: str | None | bool = None, progress: bool = True,
            log: Callable[[str], None] | None = None, verbose: bool = False, batch_size: int | None = None,
            device: str | None = None, gpus_per_task: float | None = None,
            pairs_fraction: float | None = None) -> RunResult:
    """Run the whole job and write ``scores.csv``, ``graph.graphml``, ``plan.json``, ``report.md`` and figures.

    ``pairs_fraction`` (else ``scoring.pairs_fraction``) scores that share of the pairs and predicts the
    rest (:func:`transfergraph.planner.score`), re-scoring each target's predicted ``plan.top_k`` exactly."""
    from transfergraph.jobs.suite import build_sources, build_tasks

    from transfergraph.planner.scoring import score

    log = log or (lambda _m: None)
    start = time.perf_counter()
    other = other_run_in(config.name, out)
    if other is not None:  # e.g. the default --out runs/latest: say what is being replaced
        log(f"warning: --out {out} holds a run of config {other!r}; its outputs are replaced by this run of "
            f"{config.name!r} (give another --out to keep both)")
    out = prepare_out_dir(out)
    cache_dir = resolve_cache(config.scoring.cache, out, "cache", cache)
    model_dir = Path(config.models.model_dir) if config.models.model_dir else out / "models"
    runner = make_executor(config, executor=executor, address=address, workers=workers,
                           log_file=out / "ray.log", verbose=verbose,
                           gpus_per_task=gpus_per_task)
    connect_executor(runner, log)
    check_device(device or config.scoring.device, "--device" if device else "scoring.device",
                 on_this_machine=runs_on_this_machine(runner))
    log(f"building {len(config.tasks)} tasks")
    tasks = build_tasks(config)
    model_warnings: list[str] = []

    def warn(message: str) -> None:
        model_warnings.append(message)
        log(f"warning: {message}")

    sources = build_sources(config, tasks, model_dir=model_dir, log=log, warn=warn)
    log(f"scoring {len(sources)} sources x {len(tasks)} targets x {len(config.scoring.metrics)} metrics "
        f"({runner.name if isinstance(runner, LocalExecutor) else type(runner).__name__})")
    sc = config.scoring
    scores = score(sources, tasks, metrics=tuple(sc.metrics), executor=runner, cache=cache_dir,
                   progress=progress, seed=config.seed, batch_size=batch_size or sc.batch_size,
                   device=device or sc.device, num_workers=sc.num_workers,
                   pairs_fraction=sc.pairs_fraction if pairs_fraction is None else pairs_fraction,
                   pairs_top_k=config.plan.top_k)
    atomic_write_with(out / "scores.csv", lambda tmp: scores.to_csv(tmp, index=False))
    from transfergraph.jobs.measured_files import set_aside_measured

    aside, moved = set_aside_measured(out)  # measured on the run this one replaces: not shown as this run's
    if aside is not None:
        said = (f"results measured on the previous run in this folder ({'; '.join(moved)}) were moved to {aside} "
                "(with a copy of that run's report.md, graph.graphml and groups.png): they do not describe this run. Their networks "
                "stay in the caches: `transfergraph group` / `validate` (--decisions) into this folder measure this "
                "run again, reading them back.")
        warn(said)  # logged, and in this plan's warnings (report.md counts it)
    seconds = time.perf_counter() - start
    summary = {"name": config.name, "n_tasks": len(tasks), "n_sources": len(sources),
               "executor": runner.describe()}
    graph, plan = plan_outputs(scores, out, options=plan_options(config), config_summary=summary, seconds=seconds,
                               tasks=tasks, sources=sources, warnings=model_warnings)
    _record_pairs(out, scores)
    _record_data(out, config)
    return RunResult(out, scores, graph, plan, time.perf_counter() - start)
