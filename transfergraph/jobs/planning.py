"""Plan options and plan inputs for the command line and the job: built here and nowhere else.

:func:`plan_options` turns a job config's ``plan`` section (plus its top-level ``seed``) and/or
command-line flags into one :class:`transfergraph.planner.decisions.PlanOptions`; :func:`read_plan_input` reads
what ``transfergraph plan`` re-plans from: a ``scores.csv`` or a ``graph.graphml``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from transfergraph.planner.decisions.options import PlanOptions
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.names import bad_names
from transfergraph.planner.report.artifacts import read_scores

from transfergraph.config import JobConfig

__all__ = ["plan_options", "recorded_settings", "option_rejected", "read_plan_input", "read_scores", "FLAGS"]

#: command-line flag of each PlanOptions field (library errors name the field; the CLI names the flag)
FLAGS = {"metric": "--metric", "top_k": "--top-k", "budget": "--budget", "n_groups": "--groups",
         "max_group_size": "--max-group-size", "start": "--start", "centered": "--centered/--no-centered",
         "grouping_affinity": "--grouping-affinity",
         "curriculum_objective": "--curriculum-objective", "time_limit": "--time-limit", "seed": "--seed",
         "sources_from": "--sources-from"}


def plan_options(config: JobConfig | None = None, *, previous: Path | None = None, **overrides: Any) -> PlanOptions:
    """The plan options of ``config`` (else of the ``previous`` plan.json when it exists and reads back,
    else the defaults), with every non-None override applied.

    ``overrides`` use the :class:`PlanOptions` field names (``n_groups`` for ``--groups``). Re-planning
    with one flag changed keeps the other options of the run it came from.

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        An override :class:`PlanOptions` rejects (checked first, on its own: the message names the field,
        what it accepts and the value given, never the recorded file); a setting of ``previous`` it
        rejects (the message names that file and ``settings.<key>``).
    """
    base = PlanOptions()
    base.replace(**overrides)  # the values given (the command line's flags) are checked before any recorded one
    if config is None and previous is not None and Path(previous).is_file():
        settings = recorded_settings(Path(previous))
        if settings is not None:
            given = {k: v for k, v in overrides.items() if v is not None}
            for key in given:  # a flag's value replaces the recorded one, defaulted or not
                settings.pop(f"{key}_default", None)
            try:
                return PlanOptions.from_json({**settings, **given})
            except InputError as exc:
                bad = [k for k in PlanOptions.names() if k in settings and k not in given
                       and option_rejected(k, settings[k])]
                raise InputError(f"{previous} (the run re-planned from) records a setting the plan options do not "
                                 f"accept: {exc} Fix {', '.join(f'settings.{k}' for k in bad) or 'its settings'} in "
                                 "that file, or give the option on the command line.") from exc
    if config is not None:
        p = config.plan
        base = PlanOptions(metric=config.plan_metric, top_k=p.top_k, budget=p.budget, n_groups=p.n_groups,
                           max_group_size=p.max_group_size, start=p.curriculum_start, centered=p.centered,
                           grouping_affinity=p.grouping_affinity,
                           curriculum_objective=p.curriculum_objective, time_limit=p.time_limit, seed=config.seed,
                           sources_from=p.sources_from if isinstance(p.sources_from, str) else tuple(p.sources_from))
    return base.replace(**overrides)


def option_rejected(key: str, value: Any) -> bool:
    """Whether PlanOptions rejects ``value`` for ``key`` (the other options at their defaults)."""
    try:
        PlanOptions(**{key: value})
    except (InputError, TypeError):
        return True
    return False


def recorded_settings(path: Path) -> dict | None:
    """``settings`` (with the plan's ``metric``) of a plan.json, or None when the file is not a readable plan
    (then the defaults apply: there are no options to inherit)."""
    from transfergraph.planner.common.io import read_json_object

    data = read_json_object(path)
    if not isinstance(data.get("settings"), dict):
        return None
    return {**({"metric": data["metric"]} if isinstance(data.get("metric"), str) else {}), **data["settings"]}


def _looks_like_graphml(path: Path) -> bool:
    """A GraphML file under another name (``graph.xml``): its first KiB opens a ``<graphml`` element."""
    try:
        with open(path, "rb") as fh:
            return b"<graphml" in fh.read(1024)
    except OSError:
        return False


def read_plan_input(path: str | Path) -> tuple[pd.DataFrame | None, nx.DiGraph | None]:
    """``(scores, None)`` for a ``.csv`` file, ``(None, graph)`` for a ``.graphml`` file.

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        The file is missing, unreadable, or neither a score table nor a transfer graph.
    """
    path = Path(path)
    if path.is_dir():
        inside = [f"{path / name}" for name in ("scores.csv", "graph.graphml") if (path / name).is_file()]
        raise InputError(f"{path} is a folder: a scores.csv or graph.graphml file does not exist at that path; pass "
                         "the scores.csv or graph.graphml written by `transfergraph run`"
                         + (f" (here: {' or '.join(inside)})." if inside else ", not a folder."))
    if not path.is_file():
        raise InputError(f"{path} does not exist; pass the scores.csv or graph.graphml written by `transfergraph run`.")
    if path.suffix.lower() != ".graphml" and not _looks_like_graphml(path):
        return read_scores(path), None
    try:
        graph = nx.read_graphml(path)
    except Exception as exc:  # ElementTree and networkx raise several types
        raise InputError(f"{path} is not a readable GraphML file: {str(exc).splitlines()[0]}.") from None
    if (not isinstance(graph, nx.DiGraph) or graph.is_multigraph()
            or not all(k in ("task", "model") for _, k in graph.nodes(data="kind"))):
        raise InputError(f"{path} is not a transfer graph (a directed graph, at most one edge per pair of nodes, "
                         "whose nodes have kind task/model).")
    if graph.graph.get("metric") == "cotrain_gain":  # `transfergraph group` without a run in its --out
        raise InputError(f"{path} holds measured co-training gains (written by `transfergraph group`), not transfer "
                         "scores: its groups are already in the plan.json beside it; re-plan from the scores.csv or "
                         "graph.graphml written by `transfergraph run`.")
    bad = bad_names(graph.nodes)
    if bad:  # e.g. a node id written with a character reference such as &#13;
        _, name, problem = bad[0]
        raise InputError(f"{path}: node {name!r} {problem}; names may not contain control characters; rename it.")
    return None, graph
