"""``transfergraph validate CONFIG --decisions``: train the groupings and curricula for real on the config's tasks.

Wiring only: tasks from the config, a trunk of the config's architecture (``models.training``), the
tables and arms from :func:`transfergraph.planner.validation.decision_run.validate_decisions`, outputs from
:mod:`transfergraph.planner.validation.decision_outputs`. When ``OUT/plan.json`` exists, its ``evidence`` for the
groups and the curriculum is replaced by what was measured, with a warning when a decision fails the
minimum bar, and ``measured_groups`` holds the grouping from the measured pair gains (HOA) for each
group budget: the grouping to use when the transfer-graph grouping does not beat random.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.planner.common.io import atomic_write_json, atomic_write_text, prepare_out_dir

from transfergraph.planner.validation.decision_outputs import rank_plan

from transfergraph.config import JobConfig, DecisionsConfig

__all__ = ["validate_decisions_job"]

def _select(config: JobConfig, tasks, dcfg: DecisionsConfig):
    names = [t.name for t in tasks]
    if dcfg.tasks is None:
        chosen = names[:5]
    else:
        unknown = [n for n in dcfg.tasks if n not in names]
        if unknown:
            raise ConfigError(f"validate.decisions.tasks: {unknown} are not tasks of the config; tasks: {names}.")
        chosen = list(dcfg.tasks)
    if not 2 <= len(chosen) <= 8:
        raise ConfigError(f"validate.decisions.tasks: need 2 to 8 tasks (all subsets are trained); got {len(chosen)}.")
    return [next(t for t in tasks if t.name == n) for n in chosen]


def _update_plan(path: Path, summary, curriculum_objective: str, measured_groups: dict, *, tasks: list[str],
                 seeds: int, n_curr: int, res) -> None:
    """Evidence of the plan's method as measured here. What was trained is the planner *method* re-run on
    each seed's graph of per-task networks over ``tasks`` (and orders of the first ``n_curr``), not this
    plan's exact groups and order: the level and the note say so, and add where the plan's own
    decisions, restricted to the validated tasks, rank among everything trained (``this_plan``)."""
    if not path.is_file():
        return
    plan = json.loads(path.read_text())
    evidence = plan.setdefault("evidence", {})
    plan["measured_groups"] = measured_groups
    own = rank_plan(res, plan.get("groups"), plan.get("curriculum"),
                    plan.get("objectives", {}).get("groups", {}).get("n_groups"))
    picks = {"groups": summary[(summary.arm == "planner") & summary.decision.str.startswith("grouping")],
             "curriculum": summary[(summary.arm == f"planner_{curriculum_objective}")
                                   & summary.decision.str.endswith("_acc")]}
    scope = {"groups": tasks, "curriculum": tasks[:n_curr]}
    for name, rows in picks.items():
        if not len(rows):
            continue
        evidence[name] = {
            "level": "method validated on this data",
            "note": (f"the planner's method, re-run on graphs of per-task networks trained on {scope[name]} "
                     f"({seeds} seeds), every alternative trained for comparison; this plan's own {name} were "
                     "not trained as such. "
                     + "; ".join(f"{r.decision}: percentile {r.percentile_seed_mean_truth:.0f} and regret "
                                 f"{r.regret_seed_mean_truth:.2f} (seed-mean truth), gain {r.gain:+.3f} "
                                 f"[{r.gain_low:+.3f}, {r.gain_high:+.3f}]: {r.verdict}" for r in rows.itertuples())),
        }
        mine = own.get(name)
        if name == "curriculum" and mine:
            mine = mine.get("naive") or next(iter(mine.values()))
        if mine:
            what = (" | ".join("+".join(g) for g in mine["groups"]) if name == "groups" else " > ".join(mine["order"]))
            evidence[name]["this_plan"] = mine
            evidence[name]["note"] += (f". This plan's own {name} restricted to the validated tasks ({what}) were "
                                       f"trained among the alternatives: percentile {mine['percentile']:.0f}, gain "
                                       f"{mine['gain_over_random']:+.3f} over the random mean (seed-mean test).")
        if any(str(v).startswith("fails") for v in rows.verdict):
            plan.setdefault("warnings", []).append(
                f"{name}: trained for real on this data, the planner's method for {name} did not meet the "
                "'beats random' bar (decisions.md); "
                + ("prefer plan.json's measured_groups (grouping from the measured pairs, HOA)." if name == "groups"
                   else "prefer the oracle order of curriculum_validation.csv."))
    atomic_write_json(path, plan)


def validate_decisions_job(config: JobConfig, out: str | Path, *, use_cache: bool = True,
                           log: Callable[[str], None] | None = None) -> Path:
    """Write grouping_validation.csv, curriculum_validation.csv, decision_summary.csv, figures and
    decisions.md into ``out`` (and a section into report.md when it exists); returns ``out``."""
    from transfergraph.adapters.models import ARCHITECTURES
    from transfergraph.planner.validation._training_core import TrainBudget, prepare_tasks
    from transfergraph.planner.validation.decision_outputs import decision_section, write_decision_outputs
    from transfergraph.planner.validation.decision_run import validate_decisions
    from transfergraph.planner.validation.grouping_eval import hoa_grouping

    from transfergraph.jobs.suite import build_tasks
    from transfergraph.jobs.validate import check_out_belongs_to

    log = log or (lambda _m: None)
    t0 = time.perf_counter()
    out = prepare_out_dir(out)
    check_out_belongs_to(config, out)
    dcfg = config.validate_.decisions or DecisionsConfig()
    tasks = _select(config, build_tasks(config), dcfg)
    data = prepare_tasks(tasks, train_per_class=dcfg.train_per_class, split_seed=config.seed)
    tcfg = config.models.training
    in_channels = int(data[0].train_x.shape[1])

    def trunk():
        net = ARCHITECTURES[tcfg.arch](n_classes=2, in_channels=in_channels, width=tcfg.width,
                                       feature_dim=tcfg.feature_dim)
        return net.features

    n_curr = dcfg.n_curriculum or min(4, len(data))
    log(f"training every subset of {len(data)} tasks and every order of {n_curr}, {dcfg.seeds} seeds")
    res = validate_decisions(
        data, seeds=range(config.seed, config.seed + dcfg.seeds), trunk=trunk,
        grouping_budget=TrainBudget(steps=dcfg.steps, batch=dcfg.batch),
        curriculum_budget=TrainBudget(steps=dcfg.curriculum_steps, batch=dcfg.batch),
        k_values=tuple(dcfg.groups), n_curr=min(n_curr, len(data)), learners=tuple(dcfg.learners),
        cache=out / "cache" / "decisions" if use_cache else None, log=log)
    summary, figures = write_decision_outputs(res, out)
    measured = {f"k{k}": hoa_grouping(res.subsets, k) for k in dcfg.groups if k < len(data)}
    section = decision_section(summary, figures, res.pairs)
    section += "\n" + "\n".join(
        f"Grouping from the measured pairs (HOA), at most {k[1:]} groups: "
        + " | ".join("+".join(g) for g in groups) + " (plan.json `measured_groups`)." for k, groups in measured.items())
    atomic_write_text(out / "decisions.md", section.strip() + "\n")
    _update_plan(out / "plan.json", summary, config.plan.curriculum_objective, measured,
                 tasks=[t.name for t in data], seeds=dcfg.seeds, n_curr=n_curr, res=res)
    if (out / "plan.json").is_file() and (out / "graph.graphml").is_file():
        from transfergraph.planner.report import render_report

        render_report(out)  # report.md re-rendered with the decisions section and the new evidence
    log(f"decision validation finished in {time.perf_counter() - t0:.1f} s")
    return out
