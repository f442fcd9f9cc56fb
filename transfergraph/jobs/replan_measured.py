"""What a re-plan into its run's own folder keeps: the results measured on the data since the run.

``transfergraph plan OUT/scores.csv --out OUT`` (or ``OUT/graph.graphml``) rewrites ``OUT/plan.json``,
``OUT/graph.graphml`` and ``OUT/run.json``. Those files may hold results that training measured on the
run's data after it, which a re-plan cannot compute again; they are measurements of the data, not of
the plan's options, so the re-plan keeps them:

- from ``transfergraph group``: the ``cotrain_gain`` / ``cotrain_se`` of the graph's task -> task edges, and
  the measured grouping (``evidence.groups.level == "measured"``), which stays the plan's ``groups`` (with
  its evidence and objective; the re-plan's own proxy groups go to ``proxy_groups``) as long as the tasks
  are the same, plus ``train_alone``, ``train_alone_provisional``, ``cotrain_groups`` and the warnings it
  wrote;
- from ``transfergraph validate --decisions``: ``measured_groups``, ``measured_groups_withheld``,
  ``measured_partition`` and ``measured_curriculum``; its evidence about the planner's grouping method
  (affinity, centring) and curriculum objective is kept while the re-plan uses the same method (its note
  then says when the re-plan's own groups or order changed, so that its ``this_plan`` rank is of the
  decision planned then), with its warnings; otherwise a warning says the new method was not measured;
- from ``transfergraph validate``: the ``sources`` evidence, computed again for the re-plan's
  recommendations from ``correlations.csv``, ``regret.csv`` and ``validation.csv``
  (:func:`transfergraph.jobs.source_evidence.record_source_evidence`);
- ``run.json``'s records of the run's inputs (``pairs``, ``pairs_fraction``, ``data``).

A re-plan of *another* run's table into a folder holding such results would replace them with a plan of
other data: :func:`refuse_foreign` stops it before anything is written.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import networkx as nx

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.io import atomic_write_json, read_json_object

from transfergraph.jobs.decisions import VALIDATION_WARNINGS  # the warnings `validate --decisions` writes
from transfergraph.jobs.measured_files import (MEASURED_FILES, MEASURED_KEYS, REPLAN_WARNINGS, RUN_RECORDS, SET_ASIDE,
                                               Measured, measured_level, read_measured, set_aside_measured)
from transfergraph.jobs.group import OWN_WARNINGS as GROUP_WARNINGS  # the warnings `transfergraph group` writes
from transfergraph.jobs.group import redraw_groups_figure

__all__ = ["Measured", "read_measured", "refuse_foreign", "measured_elsewhere_warning", "annotate_graph",
           "carry_measured", "set_aside_measured", "MEASURED_KEYS", "MEASURED_FILES", "SET_ASIDE"]

#: the plan options each decision's validated method depends on
METHOD_OPTIONS = {"groups": ("grouping_affinity", "centered"), "curriculum": ("curriculum_objective",)}


def _tasks(groups) -> list[str]:
    return sorted(str(t) for g in (groups or []) for t in g)


def refuse_foreign(measured: Measured, source: Path) -> None:
    """InputError when ``measured`` holds results and ``source`` (the table or graph re-planned) is not its
    folder's: a plan of other data written there would replace measurements of the folder's own run."""
    held = measured.held()
    if held:
        raise InputError(
            f"--out {measured.folder} holds results measured on its own run's data ({'; '.join(held)}); a plan of "
            f"{source} written there would replace them. Give another --out for this plan, or re-plan that folder's "
            f"own table ({measured.folder / 'scores.csv'}) into it, which keeps them.")


def measured_elsewhere_warning(measured: Measured, out: Path) -> list[str]:
    """The warning of a plan written to ``out`` from a folder holding measured results (``[]`` when none)."""
    held = measured.held()
    if not held:
        return []
    return [f"measured results of {measured.folder} are not in this plan ({'; '.join(held)}): they stay in "
            f"{measured.folder / 'plan.json'}; re-plan into {measured.folder} itself (--out {measured.folder}) to "
            f"keep them with the new options."]


def annotate_graph(graph: nx.DiGraph, measured: Measured) -> int:
    """Put the measured ``cotrain_*`` edge attributes back on ``graph`` (in place); returns how many edges got them.

    A measured pair whose edge the graph lacks is skipped (its gain stays in ``cotrain_gains.csv``)."""
    done = 0
    for (u, v), attrs in measured.cotrain.items():
        if graph.has_edge(u, v):
            graph.edges[u, v].update(attrs)
            done += 1
    return done


def _method(settings: dict, name: str) -> str:
    return ", ".join(f"{k} {settings.get(k)!r}" for k in METHOD_OPTIONS[name])


def _own_rank_stale(entry: dict, name: str, whose: str) -> dict:
    """``entry`` whose note says that the rank of ``whose`` decision it gives (``this_plan``: the plan's own, or
    the proxy's beside measured groups) is that of the decision planned then: the re-plan's differs (the report
    shows ``this_plan`` only while it still matches)."""
    said = f"{whose} {name} changed with a re-plan (`transfergraph plan`) after this measurement"
    if said not in str(entry.get("note", "")):
        entry["note"] = (str(entry.get("note", "")).rstrip() + f" {said}; any rank of it above is that of the "
                         f"{name} planned then.").strip()
    return entry


def _carry_validated(plan: dict, old: dict, name: str, own_then, own_now, folder: Path) -> list[str]:
    """Keep the ``validate --decisions`` evidence of decision ``name`` when the method is the same; returns the
    warnings to add (the earlier run's, or one saying the re-plan's method is not the one recorded)."""
    entry = (old.get("evidence") or {}).get(name)
    beside = name == "groups" and (entry or {}).get("level") == "measured"  # groups measured by `group`
    if beside:
        entry = entry.get("proxy_method")  # the validation of the proxy method, beside the measured groups
    before, now = old.get("settings") or {}, plan.get("settings") or {}
    same = all(before.get(k) == now.get(k) for k in METHOD_OPTIONS[name])
    if not measured_level(entry):  # an earlier re-plan's "not recorded" warning holds while the method stays
        return [w for w in old.get("warnings") or [] if str(w).startswith(REPLAN_WARNINGS[name])] if same else []
    kept = [w for w in old.get("warnings") or [] if str(w).startswith(VALIDATION_WARNINGS[name])]
    if not same:
        return [f"{REPLAN_WARNINGS[name]} with {_method(before, name)} on this data ({folder / 'decisions.md'}); this "
                f"re-plan uses {_method(now, name)}, so that evidence is not this plan's"
                + (" (its groups stay those measured by `transfergraph group`; the proxy method's evidence is dropped)"
                   if beside else f" ({name} evidence: proxy only)")
                + ". decisions.md has a row for every curriculum objective and grouping variant it trained, this "
                  "method's included when it was among them; `transfergraph validate CONFIG --decisions` again "
                  "records it here."]
    entry = copy.deepcopy(entry)
    if own_then != own_now:
        entry = _own_rank_stale(entry, name, "The proxy's" if beside else "This plan's own")
    evidence = plan.setdefault("evidence", {})
    if name == "groups" and (evidence.get("groups") or {}).get("level") == "measured":
        evidence["groups"]["proxy_method"] = entry
    else:
        evidence[name] = entry
    return kept


def carry_measured(plan_path: str | Path, measured: Measured, graph: nx.DiGraph | None = None) -> list[str]:
    """Write the measured results of ``measured`` (its folder's, read before the re-plan) into the re-plan's
    plan.json at ``plan_path`` and its run.json beside it, as the module doc lists; returns what it holds now,
    in words (:meth:`Measured.held`; ``[]``: nothing was kept). An evidence entry the re-plan's options no
    longer match is not kept: a warning in the plan says so. With ``graph`` (the re-plan's), a ``groups.png``
    beside ``plan_path`` is drawn again when the measured groups replace the re-plan's.

    The plan's ``sources`` evidence is computed again for the re-plan (its recommendations may differ) from
    the folder's ``correlations.csv``, ``regret.csv`` and ``validation.csv``.
    """
    import pandas as pd

    from transfergraph.jobs.source_evidence import record_source_evidence

    plan_path = Path(plan_path)
    plan, old = json.loads(plan_path.read_text()), measured.plan
    warnings: list[str] = []
    for key in MEASURED_KEYS:
        if key in old:
            plan[key] = copy.deepcopy(old[key])
    old_ev = old.get("evidence") or {}
    if "cotrain_groups" in old_ev:
        plan.setdefault("evidence", {})["cotrain_groups"] = copy.deepcopy(old_ev["cotrain_groups"])
    proxy_now = plan.get("groups")
    if measured.grouped:
        if _tasks(old.get("groups")) == _tasks(plan.get("groups")):
            plan["proxy_groups"], plan["groups"] = plan.get("groups"), copy.deepcopy(old["groups"])
            plan.setdefault("evidence", {})["groups"] = {k: v for k, v in copy.deepcopy(old_ev["groups"]).items()
                                                         if k != "proxy_method"}
            if "groups" in (old.get("objectives") or {}):
                plan.setdefault("objectives", {})["groups"] = copy.deepcopy(old["objectives"]["groups"])
            warnings += [w for w in old.get("warnings") or [] if str(w).startswith(GROUP_WARNINGS)]
            k_then = (old.get("objectives") or {}).get("groups", {}).get("n_groups")
            k_now = (plan.get("settings") or {}).get("n_groups")
            if k_then is not None and k_now is not None and k_then != k_now:
                warnings.append(
                    f"{REPLAN_WARNINGS['budget']} (at most {k_then} groups); this re-plan's {k_now} groups apply to the proxy's `proxy_groups` only; run "
                    f"`transfergraph group CONFIG --out {measured.folder} --groups {k_now}` to group the measured "
                    "pairs into that many (networks already in its cache are not trained again).")
        elif "cotrain_groups" not in plan:  # other tasks: offered beside the plan's groups, as `group` does
            plan["cotrain_groups"] = copy.deepcopy(old["groups"])
            plan.setdefault("evidence", {})["cotrain_groups"] = copy.deepcopy(old_ev["groups"])
    if any(old.get(k) for k in ("measured_groups", "measured_partition", "measured_curriculum")):
        # the caveat of `validate --decisions` (its networks at chance) goes with the measurements it qualifies
        warnings += [w for w in old.get("warnings") or [] if str(w).startswith(VALIDATION_WARNINGS["decisions"])]
    proxy_then = old.get("proxy_groups") if measured.grouped else old.get("groups")
    warnings += _carry_validated(plan, old, "groups", proxy_then, proxy_now, measured.folder)
    warnings += _carry_validated(plan, old, "curriculum", old.get("curriculum"), plan.get("curriculum"),
                                 measured.folder)
    plan["warnings"] = list(plan.get("warnings") or []) + [w for w in warnings if w not in (plan.get("warnings") or [])]
    files = [measured.folder / f for f in ("correlations.csv", "regret.csv", "validation.csv")]
    if measured_level(old_ev.get("sources")) and old.get("metric") == plan.get("metric") and not all(
            f.is_file() for f in files):  # the tables it came from are gone: the entry as it was
        plan.setdefault("evidence", {})["sources"] = copy.deepcopy(old_ev["sources"])
    atomic_write_json(plan_path, plan)
    if all(f.is_file() for f in files):
        corr, regret, validation = (pd.read_csv(f) for f in files)
        record_source_evidence(plan_path, corr, regret, str(plan.get("metric")), validation=validation)
    run_path = plan_path.parent / "run.json"
    if measured.run_records and run_path.is_file():
        atomic_write_json(run_path, {**read_json_object(run_path), **measured.run_records})
    if graph is not None and plan.get("groups") != proxy_now and run_path.is_file():
        redraw_groups_figure(plan_path.parent)  # the figure shows the groups the plan keeps (`group`'s one helper)
    return Measured(measured.folder, read_json_object(plan_path), measured.cotrain).held()

