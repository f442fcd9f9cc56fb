"""``transfergraph validate CONFIG --decisions``: train the groupings and curricula for real on the config's tasks.

Wiring only: tasks from the config, a trunk of the config's architecture (``models.training``), the
tables and arms from :func:`transfergraph.planner.validation.decision_run.validate_decisions`, outputs from
:mod:`transfergraph.planner.validation.decision_outputs`. When ``OUT/plan.json`` exists, its ``evidence`` for the
groups and the curriculum is replaced by what was measured (the level carries the verdict), with a
warning when a decision fails the minimum bar, and ``measured_groups`` holds the grouping from the
measured pair gains (HOA) for each group budget where it was not significantly worse than random
(the others, with the reason, in ``measured_groups_withheld``), ``measured_partition`` the partition with the
best validation accuracy among every partition trained, per group budget, and ``measured_curriculum`` the
order with the best validation accuracy among every order trained, per learner. The tasks judged are the plan's own
groups (:func:`choose_tasks`), the curriculum tasks the first n of the plan's curriculum among them
(:func:`curriculum_first`), and decisions.md says which and why.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.planner.common.io import atomic_write_json, atomic_write_text, prepare_out_dir, read_json_object

from transfergraph.planner.validation.decision_outputs import (measured_orders, measured_partitions, partition_verdicts,
                                                               rank_plan, regret_text)
from transfergraph.planner.validation.decision_verdicts import (cannot_tell, ci_text, offered_groupings, provisional_note,
                                                                seeds_text, separate_line)

from transfergraph.config import JobConfig, DecisionsConfig
from transfergraph.jobs.measured_files import REPLAN_WARNINGS

__all__ = ["validate_decisions_job", "choose_tasks", "curriculum_first", "DEFAULT_MAX_TASKS"]

#: most tasks judged by default (all 2^n - 1 subsets are trained: 63 networks per seed at 6)
DEFAULT_MAX_TASKS = 6


def choose_tasks(names: list[str], explicit: list[str] | None, plan_groups: list[list[str]] | None,
                 cap: int = DEFAULT_MAX_TASKS) -> tuple[list[str], str]:
    """(tasks to judge, why those): ``validate.decisions.tasks`` when given; else the plan's own groups,
    whole groups in the plan's order while the total stays <= ``cap`` (a first group larger than ``cap``
    contributes its first ``cap`` tasks), so that every judged group of the plan is trained in full;
    else (no plan) the first five config tasks."""
    if explicit is not None:
        unknown = [n for n in explicit if n not in names]
        if unknown:
            raise ConfigError(f"validate.decisions.tasks: {unknown} are not tasks of the config; tasks: {names}.")
        chosen, why = list(explicit), "the tasks of validate.decisions.tasks"
    elif plan_groups:
        groups = [[str(t) for t in g if str(t) in names] for g in plan_groups]
        groups = [g for g in groups if g]
        chosen, kept, cut = [], [], []
        for g in groups:
            if len(chosen) + len(g) <= cap:
                chosen += g
                kept.append(g)
            elif not chosen:
                chosen, kept = g[:cap], [g[:cap]]
                cut.append(f"only the first {cap} tasks of the group {'+'.join(g)}")
            else:
                cut.append("+".join(g))
        why = (f"the plan's own groups {' | '.join('+'.join(g) for g in kept)} (whole groups in the plan's order, at "
               f"most {cap} tasks because every subset is trained; set validate.decisions.tasks to choose others)")
        if cut:
            why += "; not judged: " + ", ".join(cut)
    else:
        chosen = names[:5]
        which = "the first five config tasks" if len(names) > 5 else f"all {len(names)} config tasks"
        why = f"{which} (no plan.json with groups in the output folder; set validate.decisions.tasks to choose others)"
    if not 2 <= len(chosen) <= 8:
        raise ConfigError(f"validate.decisions.tasks: need 2 to 8 tasks (all subsets are trained); got {len(chosen)} "
                          f"({why}).")
    return chosen, why


def curriculum_first(chosen: list[str], plan_order: list[str] | None, n: int) -> tuple[list[str], str]:
    """(the judged tasks with the curriculum tasks first, a sentence naming the curriculum tasks).

    The curriculum is trained on the first ``n`` tasks of the list, so these are the first ``n`` of the plan's
    curriculum ``plan_order`` among ``chosen`` (in the plan's order), the other judged tasks after them in their
    order; without a plan curriculum holding at least 2 judged tasks, ``chosen`` as it is (its first ``n``)."""
    mine = [str(t) for t in (plan_order or []) if str(t) in chosen]
    mine = list(dict.fromkeys(mine))[:n]
    if len(mine) >= 2:
        return mine + [t for t in chosen if t not in mine], (
            f"the first {len(mine)} of the plan's curriculum among the judged tasks, {' > '.join(mine)}")
    return list(chosen), f"the first {min(n, len(chosen))} judged tasks, {', '.join(chosen[:n])} (no plan curriculum)"


def _plan_value(path: Path, key: str) -> list | None:
    value = read_json_object(path).get(key)
    return value if isinstance(value, list) else None


def _plan_groups(path: Path) -> list[list[str]] | None:
    groups = _plan_value(path, "groups")
    return groups if groups is not None and all(isinstance(g, list) for g in groups) else None


def plan_methods(config: JobConfig, path: Path) -> tuple[str, bool, str]:
    """(grouping affinity, centred, curriculum objective) that made the groups and the order of the plan.json
    at ``path``: its ``settings`` (a plan.json written before ``grouping_affinity`` existed used
    ``"transfer"``), else the config's ``plan`` section when there is no readable plan.json or a setting is
    not one the plan options accept. The plan's decisions are what is judged, so a config edited after the
    run does not relabel them."""
    from transfergraph.jobs.planning import option_rejected, recorded_settings

    p = config.plan
    settings = recorded_settings(path) if path.is_file() else None
    if settings is None:
        return p.grouping_affinity, p.centered, p.curriculum_objective

    def recorded(key: str, missing):
        value = settings.get(key, missing)
        return getattr(p, key) if option_rejected(key, value) else value

    return (recorded("grouping_affinity", "transfer"), recorded("centered", p.centered),
            recorded("curriculum_objective", p.curriculum_objective))


def _select(config: JobConfig, tasks, dcfg: DecisionsConfig, plan_path: Path | None = None):
    """(judged tasks, the curriculum tasks first; why these; which are the curriculum tasks: the first
    ``validate.decisions.n_curriculum`` (default 4) of the plan's curriculum among the judged tasks)."""
    names = [t.name for t in tasks]
    chosen, why = choose_tasks(names, dcfg.tasks, _plan_groups(plan_path) if plan_path else None)
    n_curr = min(dcfg.n_curriculum or 4, len(chosen))
    chosen, curr_why = curriculum_first(chosen, _plan_value(plan_path, "curriculum") if plan_path else None, n_curr)
    return [next(t for t in tasks if t.name == n) for n in chosen], why, curr_why


#: how the warnings :func:`_update_plan` adds begin, per decision (a rerun drops them before adding the new ones;
#: a re-plan keeps them)
VALIDATION_WARNINGS = {name: f"{name}: trained for real on this data" for name in ("groups", "curriculum", "decisions")}


def _evidence_note(name: str, method: str, scope: list[str], seeds: int, why: str, curr_why: str, rows,
                   mine: dict | None) -> str:
    """One statement of what was measured: the planner's method re-run per seed and judged against every
    alternative trained, where this plan's own decision (restricted to the judged tasks) ranked among those
    alternatives, and which tasks were judged and why."""
    what = {"groups": ("partition", "groups", "were"), "curriculum": ("order", "order", "was")}[name]
    note = (f"the planner's method ({method}) was re-run on each seed's graph of per-task networks trained on "
            f"{scope} ({seeds_text(seeds)}) and judged against every alternative {what[0]} trained for real on "
            f"these tasks: " + "; ".join(
                f"{r.decision}: percentile {r.percentile_seed_mean_truth:.0f} and regret "
                f"{regret_text(r.regret_seed_mean_truth)} (seed-mean truth), gain {r.gain:+.3f} "
                f"{ci_text(r.gain_low, r.gain_high, r.n_seeds)}: {r.verdict}" for r in rows.itertuples()) + ". ")
    if mine:
        shown = " | ".join("+".join(g) for g in mine["groups"]) if name == "groups" else " > ".join(mine["order"])
        note += (f"This plan's own {what[1]}, restricted to the judged tasks ({shown}), {what[2]} among the alternatives "
                 f"trained: percentile {mine['percentile']:.0f}, gain {mine['gain_over_random']:+.3f} over the random "
                 f"mean (seed-mean test, {seeds_text(seeds)}). ")
    else:
        note += f"This plan's own {what[1]} could not be ranked among them (not every judged task is in it). "
    note += f"Tasks judged: {why or 'as configured'}"
    if name == "curriculum" and curr_why:
        note += f"; curriculum tasks: {curr_why}"
    return note + "."


def _update_plan(path: Path, summary, curriculum_objective: str, measured_groups: dict, *, tasks: list[str],
                 seeds: int, n_curr: int, res, why: str = "", withheld: dict | None = None,
                 grouping_arm: str = "planner", grouping_method: str = "grouping",
                 partitions: dict | None = None, curriculum_why: str = "", at_chance: dict | None = None) -> None:
    """Evidence of the plan's method as measured here. What was trained is the planner *method* re-run on
    each seed's graph of per-task networks over ``tasks`` (and orders of the first ``n_curr``, which
    ``curriculum_why`` names), judged against every alternative trained; the plan's own decisions, restricted
    to the judged tasks, are among those alternatives, and the note says where they rank (``this_plan``,
    :func:`_evidence_note`). The level carries the verdict
    (:func:`~transfergraph.planner.validation.decision_verdicts.evidence_level`); ``measured_groups`` holds
    only the measured groupings that may be offered, ``measured_groups_withheld`` the others with the reason.
    ``at_chance`` (:func:`~transfergraph.planner.validation.cotrain.chance_tasks` of the single-task networks)
    adds a warning naming the tasks whose networks learned nothing, so their measurements are noise."""
    from transfergraph.planner.validation.decision_verdicts import evidence_level

    if not path.is_file():
        return
    plan = json.loads(path.read_text())
    evidence = plan.setdefault("evidence", {})
    if plan.get("warnings"):  # a rerun replaces (never repeats) the warnings an earlier validation added
        answered = tuple(VALIDATION_WARNINGS.values()) + (REPLAN_WARNINGS["groups"], REPLAN_WARNINGS["curriculum"])
        plan["warnings"] = [w for w in plan["warnings"] if not str(w).startswith(answered)]  # this run answers them
    plan["measured_groups"] = measured_groups
    if withheld:
        plan["measured_groups_withheld"] = withheld
    else:
        plan.pop("measured_groups_withheld", None)
    orders = measured_orders(res)
    for entries, decision in ((partitions or {}, "grouping_{}"), (orders or {}, "curriculum_{}_acc")):
        for key, m in entries.items():  # what says whether the measurement can tell the alternatives apart
            _can_tell(m, summary, decision.format(key), at_chance)
    if partitions:
        plan["measured_partition"] = partitions
    else:
        plan.pop("measured_partition", None)
    if orders:
        plan["measured_curriculum"] = orders
    else:
        plan.pop("measured_curriculum", None)
    own = rank_plan(res, plan.get("groups"), plan.get("curriculum"),
                    plan.get("objectives", {}).get("groups", {}).get("n_groups"))
    picks = {"groups": summary[(summary.arm == grouping_arm) & summary.decision.str.startswith("grouping")],
             "curriculum": summary[(summary.arm == f"planner_{curriculum_objective}")
                                   & summary.decision.str.endswith("_acc")]}
    scope = {"groups": tasks, "curriculum": tasks[:n_curr]}
    for name, rows in picks.items():
        if not len(rows):
            continue
        mine = own.get(name)
        if name == "curriculum" and mine:
            mine = mine.get("naive") or next(iter(mine.values()))
        entry = {"level": evidence_level(rows),
                 "note": _evidence_note(name, grouping_method if name == "groups" else curriculum_objective,
                                        scope[name], seeds, why, curriculum_why, rows, mine)}
        if mine:
            entry["this_plan"] = mine
        if name == "groups" and (evidence.get("groups") or {}).get("level") == "measured":
            # groups measured by `transfergraph group` stay the plan's; the proxy method's verdict goes beside them
            entry["note"] = "the proxy grouping method (not this plan's measured groups): " + entry["note"]
            evidence["groups"]["proxy_method"] = entry
        else:
            evidence[name] = entry
        if any(str(v).startswith("fails") for v in rows.verdict):
            if name == "groups":
                alone = separate_line(summary, rows.decision)
                verdicts = partition_verdicts(partitions, plan.get("objectives", {}).get("groups", {}).get("n_groups"))
                said = {"prefer": "", "other_budget": " (another group budget than the plan's)",
                        "separate": " (every task alone did better still: separate models if you can afford them)"}
                won = [f"{key}: {' | '.join('+'.join(g) for g in m['groups'])}, test accuracy "
                       f"{m['gain_over_random']:+.3f} over the random partition mean{said[verdict]}"
                       for key, m, verdict in verdicts if verdict not in ("no_gain", "noise")]  # plan's budget first
                best = ("prefer plan.json's measured_partition (the partition with the best validation accuracy "
                        "among every one trained here: " + "; ".join(won) + ")." if won else "")
                noise = next((cannot_tell(m) for _, m, verdict in verdicts if verdict == "noise"), None)
                noise = noise or (_at_chance_clause(at_chance) if at_chance else None)
                if noise:  # the same networks give measured_groups and all_separate: no advice from them
                    advice = (f"the measurement cannot tell groupings apart here ({noise}): neither measured_partition, "
                              "measured_groups nor every task alone is a reason to change the groups yet; raise "
                              "validate.decisions.steps and seeds and run it again.")
                else:
                    advice = " ".join(x for x in (best, alone) if x) or (
                        "prefer plan.json's measured_groups (grouping from the measured pairs, HOA)." if measured_groups
                        else "the grouping from the measured pairs did no better (plan.json "
                             "measured_groups_withheld); train the tasks separately or measure pairs with "
                             "`transfergraph group`.")
            else:
                won = {learner: m for learner, m in orders.items() if m["gain_over_random"] > 0 and not cannot_tell(m)}
                noisy = {learner: m for learner, m in orders.items() if m["gain_over_random"] > 0 and cannot_tell(m)}
                if won:
                    advice = ("prefer plan.json's measured_curriculum (the order with the best validation accuracy "
                              "among every order trained here: " + "; ".join(
                                  f"{learner}: {' > '.join(m['order'])}, test ACC {m['gain_over_random']:+.3f} over "
                                  "the random-order mean" for learner, m in won.items()) + ").")
                elif noisy:
                    advice = ("the best order on validation beat the random-order mean on test ("
                              + "; ".join(f"{learner}: {m['gain_over_random']:+.3f} ACC" for learner, m in noisy.items())
                              + f") but {cannot_tell(next(iter(noisy.values())))}: no reason to prefer it (plan.json "
                              "measured_curriculum); raise validate.decisions.curriculum_steps and seeds.")
                else:
                    advice = ("no order chosen on validation here beat the random-order mean on test (plan.json "
                              "measured_curriculum); the order matters little on this data.")
            few = provisional_note(seeds)  # advice from few seeds says so
            plan.setdefault("warnings", []).append(
                f"{VALIDATION_WARNINGS[name]}, the planner's method for {name} did not meet the "
                "'beats random' bar (decisions.md); " + (f"{advice.rstrip('.')} ({few})." if few and few not in advice
                                                        else advice))
    if at_chance:
        plan.setdefault("warnings", []).append(f"{VALIDATION_WARNINGS['decisions']}, {chance_text(at_chance)}")
    atomic_write_json(path, plan)


def _can_tell(entry: dict, summary, decision: str, at_chance: dict | None) -> None:
    """Add to a measured partition / order ``entry`` (in place) ``at_chance`` (its tasks whose single-task
    networks are at chance), ``noise_ceiling`` (of ``decision`` in ``summary``, from 3 seeds up) and
    ``ceiling_undefined`` (3 seeds or more, but no split ranks the alternatives apart), which
    :func:`~transfergraph.planner.validation.decision_verdicts.cannot_tell` reads."""
    import math

    from transfergraph.planner.validation.decision_verdicts import MIN_CI_SEEDS

    tasks = ({str(t) for g in entry["groups"] for t in g} if "groups" in entry
             else {str(t) for t in entry.get("order", [])})
    entry["at_chance"] = sorted(tasks & set(at_chance or {}))
    rows = summary[summary.decision == decision] if len(summary) and "decision" in summary else summary.iloc[0:0]
    ceiling = float(rows.noise_ceiling.iloc[0]) if len(rows) else float("nan")
    enough = len(rows) and int(rows.n_seeds.min()) >= MIN_CI_SEEDS
    entry["noise_ceiling"] = ceiling if enough and math.isfinite(ceiling) else None
    entry["ceiling_undefined"] = bool(enough and not math.isfinite(ceiling))  # "inconclusive (ceiling undefined)"


def _at_chance_clause(at_chance: dict) -> str:
    """"the single-task networks of [...] are at chance (their facts)": what :func:`chance_text` opens with."""
    from transfergraph.planner.validation.cotrain import chance_facts

    return f"the single-task networks of {sorted(at_chance)} are at chance ({chance_facts(at_chance)})"


def chance_text(at_chance: dict) -> str:
    """The sentence on the single-task networks at chance of ``validate --decisions`` (for plan.json and decisions.md)."""
    return (f"{_at_chance_clause(at_chance)}: every grouping and order measured with these tasks is noise for them, "
            "whatever decisions.md says; raise validate.decisions.steps (and curriculum_steps) before trusting it.")


def validate_decisions_job(config: JobConfig, out: str | Path, *, use_cache: bool = True,
                           log: Callable[[str], None] | None = None, executor_options: dict | None = None) -> Path:
    """Write grouping_validation.csv, curriculum_validation.csv, decision_summary.csv, figures and
    decisions.md into ``out`` (and a section into report.md when it exists); returns ``out``.

    ``executor_options``: ``executor``, ``address``, ``workers``, ``progress``, ``verbose`` of the executor
    that trains the tables on all its workers (:func:`transfergraph.jobs.decision_workers.decision_cache`;
    default: the config's ``scoring`` executor)."""
    from transfergraph.adapters.models import ARCHITECTURES
    from transfergraph.planner.validation._training_core import TrainBudget, prepare_tasks
    from transfergraph.planner.validation.decision_outputs import decision_section, write_decision_outputs
    from transfergraph.planner.validation.decision_run import GROUPING_VARIANTS, grouping_arm, validate_decisions
    from transfergraph.planner.validation.grouping_eval import hoa_grouping

    from transfergraph.jobs.suite import build_tasks
    from transfergraph.jobs.validate import check_out_belongs_to

    log = log or (lambda _m: None)
    t0 = time.perf_counter()
    out = prepare_out_dir(out)
    check_out_belongs_to(config, out)
    dcfg = config.validate_.decisions or DecisionsConfig()
    tasks, why, curr_why = _select(config, build_tasks(config), dcfg, out / "plan.json")
    log(f"judging {[t.name for t in tasks]}: {why}; curriculum tasks: {curr_why}")
    data = prepare_tasks(tasks, train_per_class=dcfg.train_per_class, split_seed=config.seed)
    tcfg = config.models.training
    in_channels = int(data[0].train_x.shape[1])

    def trunk():
        net = ARCHITECTURES[tcfg.arch](n_classes=2, in_channels=in_channels, width=tcfg.width,
                                       feature_dim=tcfg.feature_dim)
        return net.features

    n_curr = dcfg.n_curriculum or min(4, len(data))
    affinity, centered, objective = plan_methods(config, out / "plan.json")
    arm = grouping_arm(affinity, centered)  # the plan's own grouping variant
    variants = {**GROUPING_VARIANTS, arm: (affinity, centered)}
    log(f"training every subset of {len(data)} tasks and every order of {min(n_curr, len(data))}, "
        f"{seeds_text(dcfg.seeds)}")
    from transfergraph.jobs.decision_workers import decision_cache  # the tables trained on every worker first

    with decision_cache(config, out, data, dcfg, n_curr=min(n_curr, len(data)), use_cache=use_cache, log=log,
                        **(executor_options or {})) as cache_dir:
        res = validate_decisions(
            data, seeds=range(config.seed, config.seed + dcfg.seeds), trunk=trunk,
            grouping_budget=TrainBudget(steps=dcfg.steps, batch=dcfg.batch),
            curriculum_budget=TrainBudget(steps=dcfg.curriculum_steps, batch=dcfg.batch),
            k_values=tuple(dcfg.groups), n_curr=min(n_curr, len(data)), learners=tuple(dcfg.learners),
            cache=cache_dir, log=log, grouping_variants=variants)
    summary, figures = write_decision_outputs(res, out)
    measured = {f"k{k}": hoa_grouping(res.subsets, k) for k in dcfg.groups if k < len(data)}
    partitions = measured_partitions(res, dcfg.groups)
    offered, withheld = offered_groupings(summary, measured)
    names = [t.name for t in data]
    section = decision_section(summary, figures, res.pairs)
    section = section.replace("\n\n", f"\n\nTasks judged: {names}; why these: {why}. Curriculum tasks (every order "
                              f"of them trained): {curr_why}.\n\n", 1)
    section += "\n" + "\n".join(
        f"Grouping from the measured pairs (HOA), at most {k[1:]} groups: " + " | ".join("+".join(g) for g in groups)
        + (" (plan.json `measured_groups`)." if k in offered else f": {withheld[k]}.") for k, groups in measured.items())
    section += "\n" + "\n".join(
        f"Best partition on validation among every one trained, at most {k[1:]} groups: "
        + " | ".join("+".join(g) for g in m["groups"]) + f" (plan.json `measured_partition`: test accuracy "
        f"{m['gain_over_random']:+.3f} over the random partition mean, percentile {m['percentile']:.0f}; "
        f"{provisional_note(m['seeds']) or seeds_text(m['seeds'])})." for k, m in partitions.items())
    alone = separate_line(summary)
    if alone:
        section += "\n\n" + alone
    from transfergraph.planner.validation.cotrain import chance_tasks

    singles = res.subsets[res.subsets["subset"] == res.subsets["task"]].rename(
        columns={"test_loss": "test_loss_alone", "test_acc": "test_acc_alone"})
    at_chance = chance_tasks(singles, {t.name: t.n_classes for t in data})
    if at_chance:
        section += "\n\n**Caveat**: " + chance_text(at_chance)
    atomic_write_text(out / "decisions.md", section.strip() + "\n")
    _update_plan(out / "plan.json", summary, objective, offered,
                 tasks=names, seeds=dcfg.seeds, n_curr=n_curr, res=res, why=why, withheld=withheld,
                 partitions=partitions, at_chance=at_chance, grouping_arm=arm, grouping_method=f"grouping, affinity {affinity}"
                 + ("" if centered else ", uncentred"), curriculum_why=curr_why)
    if (out / "plan.json").is_file() and (out / "graph.graphml").is_file():
        from transfergraph.planner.report import render_report

        render_report(out)  # report.md re-rendered with the decisions section and the new evidence
    log(f"decision validation finished in {time.perf_counter() - t0:.1f} s")
    return out
