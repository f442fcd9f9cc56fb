"""Which results in an output folder were measured on its run's data, and where a new run puts them.

``transfergraph group`` and ``transfergraph validate [--decisions]`` write measurements of the run's data
into its folder (plan.json keys, ``cotrain_*`` edge attributes, CSV / Markdown files, figures). A re-plan
keeps them (:mod:`transfergraph.jobs.replan_measured`); a new ``transfergraph run`` moves them aside
(:func:`set_aside_measured`), since they measured the run it replaces.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from transfergraph.planner.common.io import read_json_object

__all__ = ["Measured", "read_measured", "set_aside_measured", "MEASURED_KEYS", "MEASURED_FILES", "RUN_RECORDS",
           "SET_ASIDE", "KEPT_WITH", "REPLAN_WARNINGS", "measured_level"]

#: plan.json keys that hold measurements of the data (written by `transfergraph group` / `validate --decisions`)
MEASURED_KEYS = ("measured_groups", "measured_groups_withheld", "measured_partition", "measured_curriculum",
                 "cotrain_groups", "train_alone", "train_alone_provisional")
#: run.json keys that `transfergraph run` adds about its inputs (a re-plan's report writes the others)
RUN_RECORDS = ("pairs_fraction", "pairs", "data")
_MEASURED_LEVELS = ("measured on this data", "validated on this data")
#: the files `transfergraph group` and `validate [--decisions]` write into a run's folder (glob patterns)
MEASURED_FILES = ("cotrain*.csv", "cotrain*.md", "validation.md", "validation.csv", "correlations.csv", "regret.csv",
                  "pair_signal.csv", "validation_*.png", "decisions.md", "decision_summary.csv",
                  "grouping_validation.csv", "curriculum_validation.csv", "grouping_k*.png", "curriculum_*_*.png")
#: the sub-folder where a new `transfergraph run` puts the measured results of the run it replaces (an earlier
#: one is renamed ``previous_measurements.1``, ``.2``, ...: nothing is deleted)
SET_ASIDE = "previous_measurements"
#: the files a new run rewrites that also show the measurements (their cotrain_gain edges, sections, figure):
#: copied beside the measured files it moves aside
KEPT_WITH = ("report.md", "graph.graphml", "groups.png")
#: how the warnings of a re-plan into a measured folder begin: kept measured groups at another budget (removed
#: by the next `transfergraph group`), a planner method `validate --decisions` did not judge (removed by the next
#: `validate --decisions`)
REPLAN_WARNINGS = {"budget": "groups: plan.json `groups` stay those measured by `transfergraph group`",
                   "groups": "groups: `transfergraph validate --decisions` measured the planner's method",
                   "curriculum": "curriculum: `transfergraph validate --decisions` measured the planner's method"}


def measured_level(entry) -> bool:
    """Whether an ``evidence`` entry of plan.json was measured or validated on the data."""
    return isinstance(entry, dict) and str(entry.get("level", "")).startswith(_MEASURED_LEVELS)


@dataclass(frozen=True)
class Measured:
    """The measured results of an output folder, read before a re-plan rewrites its files.

    ``plan``: its plan.json as it was ({} when none or unreadable); ``cotrain``: the ``cotrain_*`` attributes of
    each edge of its graph.graphml that has them; ``run_records``: the :data:`RUN_RECORDS` of its run.json.
    """

    folder: Path
    plan: dict = field(default_factory=dict)
    cotrain: dict = field(default_factory=dict)
    run_records: dict = field(default_factory=dict)

    @property
    def grouped(self) -> bool:
        """Whether the plan's groups were measured by ``transfergraph group``."""
        return ((self.plan.get("evidence") or {}).get("groups") or {}).get("level") == "measured"

    def held(self) -> list[str]:
        """What was measured, in words (``[]``: nothing; the run.json records alone do not count)."""
        ev = self.plan.get("evidence") or {}
        out = [f"plan.json {k}" for k in MEASURED_KEYS if self.plan.get(k)]
        if self.grouped:
            out.append("plan.json groups measured by `transfergraph group`")
        out += [f"plan.json evidence.{k} ({ev[k]['level']})" for k in ("sources", "groups", "curriculum")
                if measured_level(ev.get(k))]
        if self.cotrain:
            out.append(f"graph.graphml cotrain_gain on {len(self.cotrain)} edges")
        return out


def read_measured(folder: str | Path) -> Measured:
    """The :class:`Measured` of ``folder`` (empty when it holds none of those files); never raises.

    The graph is read only when its plan.json says ``transfergraph group`` ran there (``train_alone`` or
    ``cotrain_groups``): only that writes ``cotrain_*`` edge attributes."""
    folder = Path(folder)
    plan = read_json_object(folder / "plan.json")
    cotrain: dict = {}
    grouped = any(k in plan for k in ("train_alone", "cotrain_groups"))  # `group` ran: its gains are on the graph
    if grouped and (folder / "graph.graphml").is_file():
        try:
            graph = nx.read_graphml(folder / "graph.graphml")
        except Exception:  # noqa: BLE001 - an unreadable graph holds nothing to keep
            graph = nx.DiGraph()
        for u, v, data in graph.edges(data=True):
            kept = {k: val for k, val in data.items() if str(k).startswith("cotrain_")}
            if kept:
                cotrain[(str(u), str(v))] = kept
    if not isinstance(plan.get("evidence"), dict):  # a hand-edited or foreign plan.json: no evidence to read
        plan = {**plan, "evidence": {}}
    run = read_json_object(folder / "run.json")
    return Measured(folder, plan, cotrain,
                    {k: run[k] for k in RUN_RECORDS if k in run})


def set_aside_measured(folder: str | Path) -> tuple[Path | None, list[str]]:
    """Move the measured results of ``folder`` (:data:`MEASURED_FILES` and, when its plan.json holds measured
    results, that plan.json) into ``folder/previous_measurements``, before a new ``transfergraph run`` writes its
    plan there: they measured the run it replaces, and its report must not show them as this run's. An earlier
    ``previous_measurements`` is first renamed ``previous_measurements.1`` (``.2``, ... the next free number):
    nothing is deleted. A copy of :data:`KEPT_WITH` (the report, the graph with its ``cotrain_gain`` edges and
    the groups figure, which the new run rewrites) goes with them. The trained networks stay in the caches, so measuring again reads them back.

    Returns (the folder they went to, what was moved in words); (None, []) when there was nothing to move."""
    import shutil

    folder = Path(folder)
    held = read_measured(folder).held()
    files = sorted({f for pattern in MEASURED_FILES for f in folder.glob(pattern) if f.is_file()})
    if held:
        files.append(folder / "plan.json")
    if not files:
        return None, []
    aside = folder / SET_ASIDE
    if aside.exists():
        k = 1
        while (folder / f"{SET_ASIDE}.{k}").exists():
            k += 1
        aside.rename(folder / f"{SET_ASIDE}.{k}")
    aside.mkdir()
    for f in files:
        shutil.move(str(f), aside / f.name)
    for name in KEPT_WITH:  # the run's own files this run rewrites: a copy shows the measurements as they were
        if (folder / name).is_file():
            shutil.copy2(folder / name, aside / name)
    return aside, held + [f.name for f in files if f.name != "plan.json"]
