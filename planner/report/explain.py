"""``explain_plan``: the decisions of a plan.json dict as a markdown section a user can act on."""
from __future__ import annotations

import re
from typing import Any

from transfergraph.planner.report.tables import md
from transfergraph.planner.decisions._result import Status
from transfergraph.planner.decisions.curriculum import CURRICULUM_USES, FORGETTING_OBJECTIVES
from transfergraph.planner.decisions.trust import NEAR_PRIOR
from transfergraph.planner.validation.decision_outputs import partition_verdicts
from transfergraph.planner.validation.grouping_eval import _canon
from transfergraph.planner.validation.decision_verdicts import cannot_tell, measured_seeds, provisional_note, seeds_text
from transfergraph.planner.report.leak_notes import LEAK_NOTE, leaky_edge

#: forgetting objectives computed from the symmetric task similarity (the others read the directed edges)
SIMILARITY_OBJECTIVES = ("periphery_core", "max_dissimilar_path")

__all__ = ["explain_plan"]

#: two sources whose weights differ by less than this are reported as a near tie
NEAR_TIE = 0.02
MAX_ROWS = 30


def _f(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _proof(obj: dict) -> str:
    status = Status(obj.get("status") or ("optimal" if obj.get("optimal") else "heuristic"))
    method = str(obj.get("method"))
    # a heuristic settled by an exact solver is named "ils (proven optimal by dp)" / "ils (dp stopped at time
    # limit)": said once, not "proven optimal (ils (proven optimal by dp), ...)"
    proved = re.fullmatch(r"(.+) \(proven optimal by (.+)\)", method)
    stopped = re.fullmatch(r"(.+) \((.+) stopped at time limit\)", method)
    if status is Status.OPTIMAL:
        how = f"{proved[1]}, proved by {proved[2]}" if proved else method
        return f"proven optimal ({how}, {_f(obj.get('seconds'), 2)} s)"
    gap = obj.get("gap")
    gap_txt = "unknown gap" if gap is None else f"at most {100 * gap:.2f}% below the optimum"
    how = "exact solver stopped at its time limit" if status is Status.TIME_LIMIT else "heuristic"
    if stopped and status is Status.TIME_LIMIT:
        how, method = f"exact solver {stopped[2]} stopped at its time limit", stopped[1]
    return f"{how} ({method}), not proven optimal: {gap_txt} (upper bound {_f(obj.get('bound'))})"


def _model_note(plan: dict, node: Any, target: Any) -> str:
    """``"model `m`, "`` naming the checkpoint behind edge node -> target when the node is a task
    standing for several models (``plan["source_models"]``), else ``""``."""
    model = plan.get("source_models", {}).get(str(target), {}).get(str(node))
    return f"model `{model}`, " if model else ""


def _sources_section(plan: dict) -> list[str]:
    lines = ["### Which model to fine-tune for each target", ""]
    rows = sorted(plan["sources"].items())
    for target, top in rows[:MAX_ROWS]:
        if not top:
            lines.append(f"- **{md(target)}**: no source was scored for it; train it from scratch.")
            continue
        best, w = top[0]
        text = f"- **{md(target)}**: fine-tune **{md(best)}** ({_model_note(plan, best, target)}weight {_f(w)})"
        if len(top) > 1:
            text += "; next: " + ", ".join(f"{md(s)} ({_f(v)})" for s, v in top[1:])
            if w is not None and top[1][1] is not None and w - top[1][1] < NEAR_TIE and w >= NEAR_PRIOR:
                text += f". The top two differ by less than {NEAR_TIE}: fine-tune both and keep the better"
        if leaky_edge(plan, best, target):
            text += f". {LEAK_NOTE}"
        if w is not None and w <= 0:
            text += ". Warning: no better than the label prior, so transfer may hurt"
        elif w is not None and w < NEAR_PRIOR:
            text += (f". Weak: normalized weight under {NEAR_PRIOR}, near the label prior; expect little gain over "
                     "training from scratch")
        lines.append(text + ".")
    if len(rows) > MAX_ROWS:
        lines.append(f"- ... and {len(rows) - MAX_ROWS} more targets (see topk.csv or plan.json `sources`).")
    return lines + [""]


def _source_set_section(plan: dict) -> list[str]:
    ss, obj = plan["source_set"], plan["objectives"]["source_set"]
    chosen, assignment = ss["chosen"], ss["assignment"]
    n_targets = len(plan["sources"])
    lines = [f"### Which sources to keep (budget {ss['budget']})", ""]
    if not chosen:
        return lines + ["No source improves any target; keep none and train every task from scratch.", ""]
    lines.append(
        f"Keep and fine-tune these {len(chosen)} source(s): {', '.join(f'**{md(c)}**' for c in chosen)}. "
        f"They serve {len(assignment)} of {n_targets} targets with total weight {_f(obj['value'])} "
        f"({_proof(obj)})."
    )
    if len(chosen) < int(ss["budget"]) and obj.get("optimal"):
        lines.append(f"Fewer than the budget of {ss['budget']}: no further source raises any target's weight.")
    unserved = sorted(set(plan["sources"]) - set(assignment))
    if unserved:
        lines.append(f"Targets with no edge from the kept sources (train from scratch): {', '.join(md(u) for u in unserved)}.")
    lines += ["", "| target | use source | model to fine-tune |", "|---|---|---|"]
    for t, s in sorted(assignment.items())[:MAX_ROWS]:
        model = plan.get("source_models", {}).get(str(t), {}).get(str(s), s)
        lines.append(f"| {md(t)} | {md(s)} | {md(model)} |")
    return lines + [""]


#: how the plan's grouping affinity (``--grouping-affinity``) rewrote w before the centring formula
_AFFINITY_WORDS = {
    "mutual": "`mutual` (each pair's w(u->t) and w(t->u) both replaced by the smaller of the two), then ",
    "symmetric": "`symmetric` (each pair's w(u->t) and w(t->u) both replaced by their mean), then ",
}


def _sizes(groups: list) -> str:
    """How many groups of how many tasks: "1 group of 3 tasks", "2 groups of 2 tasks each", "3 groups of 3, 1
    and 1 tasks"."""
    sizes = [len(g) for g in groups]
    if not sizes:
        return "no groups"
    if len(sizes) == 1:
        return f"1 group of {sizes[0]} task{'s' if sizes[0] != 1 else ''}"
    if len(set(sizes)) == 1:
        return f"{len(sizes)} groups of {sizes[0]} task{'s' if sizes[0] != 1 else ''} each"
    return f"{len(sizes)} groups of {', '.join(map(str, sizes[:-1]))} and {sizes[-1]} tasks"


def _restricted(groups, tasks) -> tuple:
    """``groups`` with only the tasks in ``tasks``, empty groups dropped, in the canonical order of
    :func:`~transfergraph.planner.validation.grouping_eval._canon`."""
    keep = {str(t) for t in tasks}
    return _canon(r for r in ([t for t in g if str(t) in keep] for g in groups or []) if r)


def _this_plan(plan: dict, name: str) -> dict | None:
    """evidence[name]["this_plan"] (where this plan's own decision ranked among the alternatives ``validate
    --decisions`` trained; for measured groups under ``proxy_method``), when it still is this plan's decision
    restricted to the judged tasks (a later re-plan makes it stale)."""
    ev = (plan.get("evidence") or {}).get(name) or {}
    mine = ev.get("this_plan") or (ev.get("proxy_method") or {}).get("this_plan")
    if not isinstance(mine, dict):
        return None
    if name == "groups" and mine.get("groups"):
        tasks = [t for g in mine["groups"] for t in g]
        return mine if _restricted(plan.get("groups"), tasks) == _canon(mine["groups"]) else None
    if name == "curriculum" and mine.get("order"):
        return mine if [t for t in plan.get("curriculum") or [] if t in mine["order"]] == list(mine["order"]) else None
    return None


def _with_caveat(text: str, seeds) -> str:
    """``text`` (ending with ".") with the caveat of few seeds before its final period."""
    few = provisional_note(seeds) if seeds else ""
    return f"{text[:-1]} ({few})." if few and text.endswith(".") else text


def _groups_section(plan: dict) -> list[str]:
    obj = plan["objectives"]["groups"]
    groups = plan["groups"]
    values = obj.get("group_values") or [None] * len(groups)
    lines = [
        f"### Which tasks to train together ({_sizes(groups)}; group budget {obj.get('n_groups')})", "",
        f"Affinity: {_AFFINITY_WORDS.get(str(obj.get('affinity')), '')}{obj.get('centering')}. Objective value "
        f"{_f(obj['value'])} ({_proof(obj)}).", "",
    ]
    measured = plan.get("evidence", {}).get("groups", {}).get("level") == "measured"  # `transfergraph group`
    alone = set(plan.get("train_alone") or [])
    shaky = set(plan.get("train_alone_provisional") or [])  # `group`: every partner hurt it, not beyond noise
    provisional = measured and bool(plan.get("evidence", {}).get("groups", {}).get("provisional"))
    shaky_note = " (provisional: the measured gains are not resolved beyond noise, see the warnings)" if provisional else ""
    for i, (g, v) in enumerate(zip(groups, values), 1):
        if len(g) == 1 and measured:
            lines.append(f"- Group {i}: **{md(g[0])}** alone: "
                         + ("sharing hurts it (every measured partner raised its test loss)" if g[0] in alone
                            else "sharing may hurt it (every measured partner raised its test loss, but not beyond "
                                 "noise: provisional, see the warnings)" if g[0] in shaky
                            else "no measured partner gains enough to share a network with it")
                         + "; train it separately.")
        elif len(g) == 1:
            lines.append(f"- Group {i}: **{md(g[0])}** alone: no partner raises it above its median source; train it separately.")
        elif v is not None and v <= 0:
            budget = obj.get("n_groups")
            why = (f"they share a group only because at most {budget} groups are allowed. Train them separately if "
                   "you can afford more models (raise n_groups)" if budget is not None and len(groups) <= budget
                   else "train them separately if you can afford one model each")
            lines.append(f"- Group {i}: {', '.join(f'**{md(t)}**' for t in g)}: group value {_f(v)} <= 0, so these "
                         f"tasks gain nothing from each other; {why}{shaky_note}.")
        else:
            lines.append(
                f"- Group {i}: {', '.join(f'**{md(t)}**' for t in g)}: train one multi-task model on them "
                f"(group value {_f(v)}, the summed mean affinity each member receives){shaky_note}."
            )
        if i >= MAX_ROWS:
            lines.append(f"- ... and {len(groups) - MAX_ROWS} more groups (see plan.json `groups`).")
            break
    lines.append(  # about the bullets just above, before what `validate --decisions` measured
        "These groups come from measured co-training gains (`transfergraph group`: cotrain.csv, cotrain.md)."
        if measured else
        "These groups use transfer scores as a proxy for co-training benefit; confirm with one "
        "multi-task training before committing (`transfergraph group` measures the pairs)."
    )
    said_own = False
    for key, m, verdict in partition_verdicts(plan.get("measured_partition"), obj.get("n_groups")):
        n = sum(map(len, m["groups"]))  # plan.json measured_partition, from `transfergraph validate --decisions`
        own = _restricted(groups, [t for g in m["groups"] for t in g]) == _canon(m["groups"])
        said_own = said_own or (own and key == f"k{obj.get('n_groups')}")
        text = (f"Measured on this data ({seeds_text(m['seeds'])}, at most {key[1:]} groups): among every partition of "
                f"{n} tasks trained, the best on validation accuracy is "
                + " | ".join(" + ".join(f"**{md(t)}**" for t in g) for g in m["groups"])
                + f" (seed-mean test accuracy {m['gain_over_random']:+.3f} over the random partition mean, percentile "
                  f"{m['percentile']:.0f})")
        if own:  # the measurement picked the plan's own grouping of these tasks
            text += {
                "no_gain": ", which is this plan's own grouping of these tasks; it did not beat random partitions on "
                           "test, so the measurement gives no reason to prefer it to other groupings.",
                "separate": f", which is this plan's own grouping of these tasks; training every task alone did better "
                            f"still ({m.get('separate_gain', 0.0):+.3f}): prefer {n} separate models if you can afford "
                            "them, else these groups.",
                "prefer": ", which is this plan's own grouping of these tasks: the measurement supports the groups "
                          "above.",
                "noise": f", which is this plan's own grouping of these tasks; but {cannot_tell(m)}: no reason to "
                         "prefer it (see decisions.md).",
                "other_budget": f", which is this plan's own grouping of these tasks (the plan's budget is "
                                f"{obj.get('n_groups')} groups).",
            }[verdict]
        else:
            text += {
                "no_gain": "; it did not beat random partitions on test, so it is no better a choice than the groups "
                           "above.",
                "separate": f"; training every task alone did better still ({m.get('separate_gain', 0.0):+.3f}): "
                            f"prefer {n} separate models if you can afford them, else this partition.",
                "prefer": "; prefer it to the groups above for these tasks.",
                "noise": f"; but {cannot_tell(m)}: no reason to prefer it to the groups above (see decisions.md).",
                "other_budget": f" (the plan's budget is {obj.get('n_groups')} groups).",
            }[verdict]
        lines += ["", text if verdict == "other_budget" else _with_caveat(text, m.get("seeds")), ""]
    mine = _this_plan(plan, "groups")
    if mine and not said_own:  # how the plan's own groups scored among the alternatives trained
        seeds = measured_seeds(plan)
        n = sum(map(len, mine["groups"]))
        lines += ([] if lines[-1] == "" else [""]) + [_with_caveat(
            f"The groups above, restricted to the {n} judged tasks ("
            + " | ".join(" + ".join(f"**{md(t)}**" for t in g) for g in mine["groups"])
            + f"), were trained among every partition into at most {mine.get('k')} groups by `transfergraph validate "
              f"--decisions`: percentile {mine['percentile']:.0f}, seed-mean test accuracy "
              f"{mine['gain_over_random']:+.3f} over the random partition mean.", seeds), ""]
    return lines + [""]


def _curriculum_section(plan: dict) -> list[str]:
    obj = plan["objectives"]["curriculum"]
    parents = obj.get("parents", {})
    kind = plan.get("settings", {}).get("curriculum_objective", "tree")
    tree = kind == "tree"
    formula = str(obj.get("objective") or "").removeprefix(f"{kind}:").strip()  # what the value measures
    lines = [
        "### In which order to learn the tasks" + (": which model to start each task from" if tree else ""), "",
        f"Objective `{kind}`: {CURRICULUM_USES.get(kind, kind)}. Value {_f(obj['value'])}"
        + (f" of {formula}" if formula else "") + f" ({_proof(obj)}). "
        + ("Fine-tune each task, in this order, from a copy of:" if tree else "Train in this order:"), "",
    ]
    for i, t in enumerate(plan["curriculum"][:MAX_ROWS], 1):
        p, w = parents.get(t, [None, None])
        src = "start from scratch"
        if p is not None and not tree and i > 1:  # one model trained task after task
            src = f"continue training the same model (after **{md(p)}**; weight {md(p)} -> {md(t)}: {_f(w)})"
        elif p is not None:
            src = f"start from **{md(p)}** ({_model_note(plan, p, t)}weight {_f(w)})"
        lines.append(f"{i}. **{md(t)}**: {src}.")
    if len(plan["curriculum"]) > MAX_ROWS:
        lines.append(f"... and {len(plan['curriculum']) - MAX_ROWS} more (see plan.json `curriculum`).")
    lines.append("")
    if kind in FORGETTING_OBJECTIVES:
        metric = str(plan.get("metric") or "leep")
        basis = (f"the task similarity of normalized {metric} in both directions" if kind in SIMILARITY_OBJECTIVES
                 else f"the task->task edges of normalized {metric}, each in its own direction")
        lines.append(
            f"The order is computed from {basis} (a proxy of forgetting, not a measurement); "
            "`transfergraph validate --decisions` measures it on this data.")
    else:
        lines.append(
            "The order maximizes forward transfer only; it does not model forgetting. To train one model on "
            "every task in turn, use a curriculum objective that models forgetting (`--curriculum-objective "
            f"{' | '.join(FORGETTING_OBJECTIVES)}`) and measure backward transfer when you validate it.")
    said_own = False
    for learner, m in (plan.get("measured_curriculum") or {}).items():  # from `transfergraph validate --decisions`
        own = [t for t in plan.get("curriculum") or [] if t in m["order"]] == list(m["order"])
        said_own = said_own or own
        won = m["gain_over_random"] > 0
        noise = cannot_tell(m) if won else None
        if noise:
            mine = "this plan's own order of these tasks; " if own else ""
            verdict = f"{mine}but {noise}: no reason to prefer it (see decisions.md)."
        elif own:  # the measurement picked the plan's own order of these tasks
            verdict = ("this plan's own order of these tasks: the measurement supports the order above." if won else
                       "this plan's own order of these tasks; it did not beat the random-order mean on test, so the "
                       "order matters little here.")
        else:
            verdict = ("prefer it to the proxy order for these tasks." if won else
                       "it did not beat the random-order mean on test, so it is no better a choice than the proxy "
                       "order.")
        lines += ["", _with_caveat(
            f"Measured on this data ({learner} learner, {seeds_text(m['seeds'])}): among every order of "
            f"{len(m['order'])} tasks trained, the best on validation accuracy is "
            f"{' > '.join(f'**{md(t)}**' for t in m['order'])} (test ACC {m['gain_over_random']:+.3f} over "
            f"the random-order mean, percentile {m['percentile']:.0f}); " + verdict, m.get("seeds"))]
    mine = _this_plan(plan, "curriculum")
    if mine and not said_own:  # how the plan's own order scored among the orders trained
        seeds = measured_seeds(plan)
        lines += ["", _with_caveat(
            f"The order above, restricted to the {len(mine['order'])} judged tasks "
            f"({' > '.join(f'**{md(t)}**' for t in mine['order'])}), was trained among every order of them by "
            f"`transfergraph validate --decisions`: percentile {mine['percentile']:.0f}, test ACC "
            f"{mine['gain_over_random']:+.3f} over the random-order mean.", seeds)]
    return lines + [""]


def _evidence_text(e: dict) -> str:
    """"level — note", without repeating the level when the note already starts with it; groups measured by
    `transfergraph group` carry the proxy method's measurement by `validate --decisions` as ``proxy_method``,
    shown as an indented item under theirs."""
    level, note = str(e.get("level", "")), str(e.get("note", ""))
    if note.startswith(level):
        note = note[len(level):].lstrip(" :,;")  # "proxy only, and it ..." -> "proxy only — and it ..."
    text = f"{level} — {note}" if note else level
    proxy = e.get("proxy_method")
    if isinstance(proxy, dict) and proxy.get("level"):
        text += "\n  - **proxy grouping method** (`validate --decisions`): " + _evidence_text(
            {k: v for k, v in proxy.items() if k != "proxy_method"})
    return text


def explain_plan(plan: dict) -> str:
    """Markdown for report.md: one subsection per decision, each with the action to take.

    Parameters
    ----------
    plan : dict
        ``build_plan(...).to_json()`` (:func:`transfergraph.planner.decisions.build_plan`), or read back from plan.json.
    """
    lines = [
        "## Decisions", "",
        f"Edge weight = normalized `{plan['metric']}` score (for LEEP: 0 = no better than the label "
        "prior, 1 = perfect).", "",
    ]
    lines += _sources_section(plan)
    lines += _source_set_section(plan)
    lines += _groups_section(plan)
    lines += _curriculum_section(plan)
    if plan.get("evidence"):  # how far each decision is backed by measurements on this data
        lines += ["### Evidence", ""] + [f"- **{md(name)}**: {_evidence_text(e)}" for name, e in plan["evidence"].items()] + [""]
    if plan.get("warnings"):
        shown = plan["warnings"][:MAX_ROWS]  # a 100-task plan can carry hundreds (one leakage line per source)
        lines += ["### Warnings", ""] + [f"- {w}" for w in shown]
        if len(plan["warnings"]) > MAX_ROWS:
            lines.append(f"- ... and {len(plan['warnings']) - MAX_ROWS} more warnings (see plan.json `warnings`).")
        lines.append("")
    return "\n".join(lines)
