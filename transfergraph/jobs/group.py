"""``transfergraph group CONFIG``: measure co-training on the config's tasks and group them from the measurements.

Wiring only. The networks (every single task and every pair, or random subsets past 10 tasks:
:mod:`transfergraph.planner.validation.cotrain_design`) are trained one per executor job with the
multitask trainer of ``validate --decisions`` (budget: the config's ``validate.decisions`` steps, batch
and ``train_per_class``), resumable from ``OUT/cache/cotrain``
(:mod:`~transfergraph.planner.validation.cotrain_runner`), a per-network cache that ``validate --decisions``
also fills: after it, only the networks it did not train are trained
(:func:`transfergraph.planner.validation.cotrain_runner.shared_network_cache`).
Outputs, all in ``OUT``:

- ``cotrain.csv``: one row per (task, partner, seed): test loss and accuracy alone and with the partner,
  ``gain`` = loss alone - loss with the partner (nats; > 0: the partner helps), see
  :mod:`transfergraph.planner.validation.cotrain`;
- ``cotrain_gains.csv``: per (task, partner) the mean gain over seeds and its standard error;
- ``graph.graphml``: the run's graph (if ``OUT`` holds one) with ``cotrain_gain`` and ``cotrain_se`` on
  its task -> task edges, else a graph of task nodes with those edges;
- ``plan.json``: ``groups`` from the measured pair gains (HOA + exact partition search, optimised on the test
  loss of the networks: :data:`OPTIMISED_ON`), evidence level "measured"; a run's plan keeps its other
  decisions, and its proxy groups under ``proxy_groups``; ``train_alone`` (kept alone: sharing hurts beyond
  noise), ``train_alone_provisional`` (kept alone, not resolved), the warnings on kept-alone tasks and the
  evidence note are rewritten with the groups, so they always agree;
- ``cotrain.md``: the design, the gains and the grouping in words; report.md and its ``groups.png`` are
  re-rendered when ``OUT`` holds a run.

Trust: when a task's single-task network is at chance, or with one seed (no standard error), plan.json
warns (naming the tasks and what to rerun) and the evidence note carries the caveat; "sharing hurts t,
train t alone" is said only when resolved beyond noise, otherwise the task is kept alone *provisionally*
(:class:`Trust`).

``--tasks`` naming a subset of the tasks of ``OUT``'s plan measures that subset only and leaves the plan's
groups, ``train_alone``, their warnings, ``evidence.groups``, graph.graphml, cotrain.csv / cotrain.md and
the report as they were (they describe every task); its grouping goes to plan.json ``cotrain_groups``
(evidence in ``evidence.cotrain_groups``) and its measurements to ``cotrain_subset.csv``,
``cotrain_subset_gains.csv`` and ``cotrain_subset.md``. A later run on every task replaces the groups and
drops that subset's outputs.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import networkx as nx

from transfergraph.planner.common.exceptions import ExecutorError, InputError
from transfergraph.planner.common.io import atomic_write_json, atomic_write_text, atomic_write_with, prepare_out_dir
from transfergraph.planner.common.wording import count

from transfergraph.jobs.measured_files import REPLAN_WARNINGS

from transfergraph.config import DecisionsConfig, JobConfig

__all__ = ["TrunkFactory", "GroupResult", "Trust", "group_job", "executor_for", "GAIN_DEFINITION", "OPTIMISED_ON"]

#: plan.json warnings that ``group`` writes (and replaces on its next full run)
OWN_WARNINGS = ("sharing hurts task", "sharing may hurt task", "more than 10 tasks: pair",
                "co-training networks at chance", "co-training gains measured with")

#: what the grouping is optimised on, and how it differs from the groupings of ``validate --decisions``
OPTIMISED_ON = ("optimised on the test loss (cross-entropy) of the single-task and pair networks; `validate "
                "--decisions` offers two others from networks of the same kind: plan.json `measured_groups` (HOA on "
                "validation-accuracy pair gains) and `measured_partition` (the trained partition with the best "
                "validation accuracy), so the three can differ")

#: output names of a run on a subset of the plan's tasks (the full run's cotrain.* files are left as they were)
SUBSET_FILES = {"csv": "cotrain_subset.csv", "gains": "cotrain_subset_gains.csv", "md": "cotrain_subset.md"}
FULL_FILES = {"csv": "cotrain.csv", "gains": "cotrain_gains.csv", "md": "cotrain.md"}

GAIN_DEFINITION = ("gain(u -> t) = test cross-entropy of t trained alone - test cross-entropy of t trained with u "
                   "(mean over the networks holding both), in nats, averaged over seeds; > 0: u helps t")


@dataclass(frozen=True)
class TrunkFactory:
    """A picklable trunk builder (Ray ships it to the workers): the config's architecture's feature extractor."""

    arch: str
    in_channels: int
    width: int
    feature_dim: int

    def __call__(self):
        from transfergraph.adapters.models import ARCHITECTURES

        return ARCHITECTURES[self.arch](n_classes=2, in_channels=self.in_channels, width=self.width,
                                        feature_dim=self.feature_dim).features


@dataclass
class GroupResult:
    """What one ``group`` run did (the CLI prints it)."""

    out: Path
    n_networks: int
    trained: int = 0
    cached: int = 0
    failed: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    alone: list = field(default_factory=list)
    design: str = ""
    dry_run_text: str = ""
    seconds: float = 0.0
    subset: bool = False  # measured a subset of the plan's tasks: the plan's groups were left as they were
    files: list = field(default_factory=list)  # the files written, in OUT
    trust: "Trust | None" = None


def _chosen_names(known: list[str], names: list[str] | None) -> list[str]:
    """The task names to measure (``--tasks``, default every task of the config)."""
    if names is None:
        chosen = known
    else:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(f"--tasks: {unknown} are not tasks of the config; its tasks are {known}.")
        if len(set(names)) != len(names):
            raise InputError(f"--tasks: task names must be distinct; got {names}.")
        chosen = list(names)
    if len(chosen) < 2:
        raise InputError(f"--tasks: grouping needs at least 2 tasks; got {chosen} "
                         "(give two or more task names, or a config with two or more tasks).")
    return chosen


def executor_for(config: JobConfig, out: Path, *, executor, address, workers, verbose, log):
    """The executor object; a bad address or cluster fails here, naming --address."""
    from transfergraph.planner.executors import get_executor

    from transfergraph.jobs.run import connect_executor, make_executor

    spec = make_executor(config, executor=executor, address=address, workers=workers, log_file=out / "ray.log",
                         verbose=verbose)
    if isinstance(spec, str) or not getattr(spec, "remote", False):  # the local executor (by name or object)
        return get_executor(spec)
    given = address or config.scoring.address
    if given:
        from transfergraph.planner.executors.preflight import split_address

        try:
            split_address(given)
        except ExecutorError as exc:
            raise InputError(f"--address: {exc}") from None
    try:
        connect_executor(spec, log)
    except ExecutorError as exc:
        raise ExecutorError(f"--address {given!r}: {exc}" if given else str(exc)) from None
    return get_executor(spec)


def _slots(executor: str | None, config: JobConfig, workers: int | None, address: str | None) -> tuple[int | None, str]:
    """(parallel workers or None when only the cluster knows, words for the dry run) without starting Ray."""
    if (executor or config.scoring.executor) == "local":
        return 1, "1 worker (local executor)"
    n = workers or config.scoring.workers
    if address or config.scoring.address:
        return (n, f"{n} workers") if n else (None, "the cluster's CPUs: divide the one-core estimate by their number")
    n = n or os.cpu_count() or 1
    return n, f"{n} workers (embedded Ray; starting it adds about 5-10 s)"


def _dry_run(jobs, cache, data, trunk, slots: tuple[int | None, str]) -> str:
    """Train the first missing network here to time it; the estimate scales by tasks per network."""
    from transfergraph.planner.validation.cotrain_runner import pack_arrays, train_network

    missing = [j for j in jobs if cache is None or cache.get(j) is None]
    if not missing:
        return f"would train 0 networks: {'it is' if len(jobs) == 1 else f'all {len(jobs)} are'} in the cache."
    timed = next((j for j in missing if len(j.members) == 2), missing[0])
    t0 = time.perf_counter()
    rows = train_network(timed, pack_arrays(data), trunk)
    took = time.perf_counter() - t0
    if cache is not None:
        cache.put(timed, rows)
    units = sum(len(j.members) for j in missing)
    total = took * units / len(timed.members)
    n, words = slots
    parallel = f", about {total / n:.0f} s of wall time on {words}" if n and n > 1 else f" ({words})"
    kept = "it is kept in the cache, so the real run trains one fewer" if cache is not None else "not cached (--no-cache)"
    return (f"would train {count(len(missing), 'network')} ({len(jobs) - len(missing)} already cached). Timed one "
            f"network of {count(len(timed.members), 'task')} by training it here: {took:.1f} s ({kept}). "
            f"Estimated compute for all "
            f"{len(missing)}: {total:.0f} s on one core (scaled by tasks per network){parallel}.")


def _write_graph(out: Path, names, gains) -> str:
    from transfergraph.planner.validation.cotrain import annotate_graph, gain_graph

    path = out / "graph.graphml"
    if path.is_file():
        graph = nx.read_graphml(path)
        done, skipped = annotate_graph(graph, gains, add_missing=False)
        what = (f"added cotrain_gain and cotrain_se to {done} task->task edges of {path}"
                + (f" ({skipped} measured pairs have no edge there and are only in cotrain_gains.csv)" if skipped else ""))
    else:
        graph = gain_graph(names, gains)
        what = f"wrote graph.graphml: {len(names)} task nodes and {graph.number_of_edges()} edges partner -> task"
    atomic_write_with(path, lambda tmp: nx.write_graphml(graph, tmp))
    return what


def _hurt_warning(t: str, gains, *, chance: dict | None = None) -> str:
    """The plan.json warning for a task kept alone because every measured partner raised its test loss.

    "sharing hurts task 't' ... train 't' alone" only when that is resolved beyond noise
    (:func:`~transfergraph.planner.validation.cotrain.hurt_resolved`) and ``t``'s single-task network is not at
    chance (``chance``: its facts from :func:`~transfergraph.planner.validation.cotrain.chance_tasks`); otherwise
    "sharing may hurt task 't' (provisional)", with the reason and what to rerun."""
    from transfergraph.planner.validation.cotrain import hurt_resolved

    rows = gains[gains.task == t].sort_values("gain", ascending=False)
    best = rows.iloc[0]
    n = int(best.n_seeds) if "n_seeds" in rows else 1
    se = f"se {best.se:.4f}" if math.isfinite(best.se) else "no se"
    facts = f"best partner {best.partner!r}: gain {best.gain:+.4f} nats, {se}, over {count(n, 'seed')}"
    if hurt_resolved(t, gains) and not chance:
        return (f"sharing hurts task {t!r}: every measured partner raised its test loss beyond noise ({facts}); "
                f"train {t!r} alone rather than in a group (plan.json keeps it as a group of its own).")
    reasons, todo = [], ["more --seeds (3 or more)"]
    if chance:
        reasons.append(f"its single-task network is at chance (test loss {chance['loss']:.4f} vs ln C "
                       f"{chance['chance_loss']:.4f}, accuracy {chance['acc']:.3f} vs 1/C {chance['chance_acc']:.3f}), "
                       "so its gains are noise")
        todo.insert(0, "more --steps")
    if not rows["se"].map(math.isfinite).all():
        reasons.append(f"with {count(n, 'seed')} there is no standard error, so it is not resolved beyond noise")
    elif not hurt_resolved(t, gains):  # some partner's gain + 2 se >= 0
        worst = rows[(rows.gain + 2 * rows.se) >= 0].iloc[0]
        reasons.append(f"that is within noise (gain + 2 se >= 0 for partner {worst.partner!r} over {n} seed(s))")
    return (f"sharing may hurt task {t!r} (provisional): every measured partner raised its test loss ({facts}), but "
            + "; and ".join(reasons) + f"; plan.json keeps {t!r} as a group of its own for now: rerun "
            f"`transfergraph group` with {' and '.join(todo)} before training it alone.")


def _caveats(trust: "Trust", gains, steps: int) -> list[str]:
    """plan.json warnings on how far the measured gains can be trusted: tasks whose single-task network is at
    chance (``trust.chance``: their gains are noise), and a single seed (``trust.one_seed``: no standard error);
    [] when neither applies."""
    from transfergraph.planner.validation.cotrain import CHANCE_TOLERANCE

    out = []
    chance = trust.chance
    if chance:
        from transfergraph.planner.validation.cotrain import chance_facts

        facts = chance_facts(chance)
        out.append(f"co-training networks at chance for tasks {sorted(chance)}: each single-task network's test loss "
                   f"is within {100 * CHANCE_TOLERANCE:.0f}% of ln C or its accuracy is not above 1/C ({facts}); "
                   f"their measured gains are noise, so the measured groups holding them are provisional: rerun "
                   f"`transfergraph group` with more --steps (this run: {steps}) and --seeds.")
    if trust.one_seed:
        n = int(gains["n_seeds"].max()) if "n_seeds" in gains else 1
        out.append(f"co-training gains measured with {count(n, 'seed')}: no standard error, so no gain is resolved beyond "
                   "noise and the measured groups are provisional (tasks kept alone are marked so): rerun "
                   "`transfergraph group` with --seeds 3 or more.")
    return out


def _objective(decision, groups, gains, n_groups: int) -> dict:
    """plan.json ``objectives.groups`` for the final partition (the solver's facts, the kept-alone tasks as
    singletons), with ``group_values`` aligned to ``groups``: V(G) = (1/(|G|-1)) sum_{u != t in G} gain(u -> t)."""
    from transfergraph.planner.decisions.grouping import GROUPING_OBJECTIVE

    gain = {(r.partner, r.task): float(r.gain) for r in gains.itertuples()}
    values = [sum(gain.get((u, t), 0.0) for u in g for t in g if u != t) / (len(g) - 1) if len(g) > 1 else 0.0
              for g in groups]
    obj = decision.to_json() if decision is not None else {
        "objective": GROUPING_OBJECTIVE, "optimal": True, "status": "optimal", "bound": 0.0, "gap": 0.0,
        "method": "none: every task is kept alone", "seconds": 0.0}
    obj.update(value=float(sum(values)), group_values=values, n_groups=n_groups, affinity="cotrain_gain",
               centered=False, centering="a(u->t) = measured co-training gain of t from u (test loss of t alone "
                                         "- with u, nats; HOA)")
    return obj


@dataclass(frozen=True)
class Trust:
    """How far one run's measured gains can be trusted.

    ``chance``: the tasks whose single-task network is at chance, with their facts
    (:func:`~transfergraph.planner.validation.cotrain.chance_tasks`); ``provisional``: the tasks kept alone whose
    "sharing hurts" is not resolved beyond noise (one seed, within 2 se, or at chance); ``one_seed``: no standard
    error anywhere (a single seed)."""

    chance: dict = field(default_factory=dict)
    provisional: list = field(default_factory=list)
    one_seed: bool = False

    @classmethod
    def of(cls, alone, gains, n_classes) -> "Trust":
        from transfergraph.planner.validation.cotrain import chance_tasks, hurt_resolved

        chance = chance_tasks(gains, n_classes)
        one_seed = bool(len(gains)) and not gains["se"].map(math.isfinite).any()
        return cls(chance, [t for t in alone if t in chance or not hurt_resolved(t, gains)], one_seed)

    def split(self, alone) -> tuple[list, list]:
        """``alone`` (the kept-alone tasks) as (resolved beyond noise, provisional), each in ``alone``'s order."""
        return [t for t in alone if t not in self.provisional], [t for t in alone if t in self.provisional]

    def sentences(self) -> list[str]:
        """The caveats in words (for the evidence note and cotrain.md)."""
        from transfergraph.planner.validation.cotrain import CHANCE_TOLERANCE

        out = []
        if self.chance:
            out.append(f"Caveat: the single-task networks of {sorted(self.chance)} are at chance (test loss within "
                       f"{100 * CHANCE_TOLERANCE:.0f}% of ln C or accuracy not above 1/C), so their gains are noise "
                       "and the groups holding them are provisional: rerun `transfergraph group` with more --steps and --seeds.")
        if self.one_seed:
            out.append("Caveat: 1 seed, so no gain has a standard error and none is resolved beyond noise: these "
                       "groups are provisional; rerun `transfergraph group` with --seeds 3 or more.")
        return out


def _planned_tasks(out: Path) -> set[str]:
    """The tasks of the groups of ``OUT/plan.json`` (empty when there is no plan)."""
    path = out / "plan.json"
    if not path.is_file():
        return set()
    return {str(t) for g in json.loads(path.read_text()).get("groups") or [] for t in g}


def _update_plan(out: Path, *, names, groups, decision, alone, gains, design, n_groups, budget, failed,
                 trust: Trust, subset: bool = False) -> None:
    """Write the measured grouping into ``OUT/plan.json``.

    Full run (``subset`` False): ``groups``, ``objectives.groups``, ``evidence.groups``, ``train_alone`` and
    ``group``'s own warnings are replaced together (a run's proxy groups kept as ``proxy_groups``; an earlier
    subset's ``cotrain_groups`` dropped). Subset run (the plan holds tasks that were not measured): only
    ``cotrain_groups`` and ``evidence.cotrain_groups`` (whose ``train_alone`` lists the subset's kept-alone
    tasks) are written; every other key stays as it was. ``train_alone`` holds the kept-alone tasks whose
    "sharing hurts" is resolved beyond noise, ``train_alone_provisional`` the others (both singleton groups)."""
    path = out / "plan.json"
    firm, shaky = trust.split(alone)
    evidence = {
        "level": "measured",
        "note": (f"measured on your data with `transfergraph group`: {design.describe()}; {GAIN_DEFINITION}; groups "
                 f"by the higher-order approximation (Standley et al., ICML 2020: a task's loss in a group = the mean "
                 f"of its pair losses there) and exact partition search into at most {n_groups} groups, {OPTIMISED_ON}"
                 + (f"; kept alone because sharing hurts them: {firm}" if firm else "")
                 + (f"; kept alone provisionally (every measured partner raised their test loss, but not resolved "
                    f"beyond noise): {shaky}" if shaky else "")
                 + (f" (so {len(groups)} groups, more than the budget of {n_groups})" if len(groups) > n_groups else "")
                 + (f"; {len(failed)} networks failed and are missing from the means" if failed else "")
                 + ". The gains are measured on the test split; confirm the chosen groups on fresh data before "
                   "reporting their accuracy." + "".join(" " + c for c in trust.sentences())),
        "design": design.kind, "networks": len(design.groups) * len(design.seeds), "seeds": list(design.seeds),
        "steps": budget.steps, "batch": budget.batch, "train_alone": firm, "tasks": list(names),
        "optimised_on": "test loss of the single-task and pair networks (HOA)",
        "at_chance": sorted(trust.chance), "provisional_alone": shaky,
        "provisional": bool(trust.chance or trust.one_seed or shaky),
    }
    warnings = [_hurt_warning(t, gains, chance=trust.chance.get(t)) for t in alone]
    warnings += _caveats(trust, gains, budget.steps)
    if design.kind == "subsets":
        warnings.append(f"more than 10 tasks: pair affinities estimated from random task subsets, not every pair "
                        f"({design.describe()}).")
    if subset:  # only the keys of this measurement: the plan's groups and everything that describes them stay
        plan = json.loads(path.read_text())
        evidence["note"] += (f" Measured on {sorted(names)} only, a subset of the plan's tasks: plan.json `groups`, "
                             f"`train_alone`, their warnings and `evidence.groups` were left as they were; this grouping "
                             f"is `cotrain_groups` ({SUBSET_FILES['md']}).")
        evidence["warnings"] = warnings
        plan["cotrain_groups"] = groups
        plan.setdefault("evidence", {})["cotrain_groups"] = evidence
        atomic_write_json(path, plan)
        return
    objective = _objective(decision, groups, gains, n_groups)
    if path.is_file():
        plan = json.loads(path.read_text())
        if plan.get("evidence", {}).get("groups", {}).get("level") != "measured":
            plan["proxy_groups"] = plan.get("groups")
        plan["groups"] = groups
        plan.setdefault("evidence", {})["groups"] = evidence
        plan.setdefault("objectives", {})["groups"] = objective
        plan.pop("cotrain_groups", None)  # an earlier subset's grouping: this run measured every task of the plan
        plan["evidence"].pop("cotrain_groups", None)
        plan["warnings"] = [w for w in plan.get("warnings", [])  # a re-plan's "kept at another budget" is answered now
                            if not str(w).startswith(OWN_WARNINGS + (REPLAN_WARNINGS["budget"],))] + warnings
    else:
        plan = {"metric": "cotrain_gain", "sources": {}, "source_models": {}, "source_set": {}, "groups": groups,
                "curriculum": [], "objectives": {"groups": objective},
                "warnings": warnings, "settings": {"n_groups": n_groups, "tasks": list(names)},
                "evidence": {"groups": evidence}}
    plan["train_alone"] = firm  # "train it alone" only where sharing hurts beyond noise
    plan["train_alone_provisional"] = shaky  # kept alone too, until more --seeds / --steps resolve it
    atomic_write_json(path, plan)


def _markdown(names, groups, alone, gains, design, n_groups, failed, *, trust: Trust | None = None,
              subset: bool = False) -> str:
    """cotrain.md (cotrain_subset.md for a ``subset`` run): the design, what the grouping is optimised on, the
    groups, the kept-alone tasks (resolved or provisional), the caveats of ``trust`` and the gains table."""
    trust = trust or Trust()
    firm, shaky = trust.split(alone)
    lines = ["## Measured grouping (`transfergraph group`)", "",
             f"Tasks: {', '.join(names)}. Design: {design.describe()}.", "",
             f"Gain: {GAIN_DEFINITION}.", "",
             (f"Groups (HOA + exact partition search, at most {n_groups} groups): "
              + " | ".join("+".join(g) for g in groups)
              + (f" ({len(groups)} groups: each task that sharing hurts keeps a group of its own, beyond the budget of "
                 f"{n_groups})." if len(groups) > n_groups else ".") if groups else
              "No pair could be measured (see the failures below): plan.json and graph.graphml were left as they were."),
             ""]
    if groups:
        lines += [f"The grouping is {OPTIMISED_ON}.", ""]
    if subset and groups:
        lines += [f"Measured on a subset of the plan's tasks: plan.json `groups`, `train_alone`, their warnings and "
                  f"`evidence.groups` were left as they were (they describe every task of the plan); this grouping "
                  f"is plan.json `cotrain_groups`, and this file, {SUBSET_FILES['csv']} and {SUBSET_FILES['gains']} "
                  f"hold its measurements (cotrain.md and graph.graphml keep those of the plan's groups).", ""]
    if firm:
        lines += [f"Sharing hurts {', '.join(firm)}: every measured partner raised the test loss beyond noise; train "
                  + ("it" if len(firm) == 1 else "each") + " alone.", ""]
    if shaky:
        lines += [f"Every measured partner raised the test loss of {', '.join(shaky)}, but not beyond noise (one seed, "
                  "within 2 se, or a single-task network at chance): "
                  + ("it keeps a group of its own" if len(shaky) == 1 else "each keeps a group of its own")
                  + " provisionally; rerun with more --seeds (and --steps) before training "
                  + ("it" if len(shaky) == 1 else "them") + " alone.", ""]
    lines += [c for sentence in trust.sentences() for c in (sentence, "")]
    if failed:
        lines += [f"{len(failed)} networks failed (left out of the means): "
                  + "; ".join(f"{k}: {e}" for k, e in failed[:5]), ""]
    lines += ["| task | partner | gain (nats) | se | loss alone | loss with |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.task} | {r.partner} | {r.gain:+.4f} | "
              + (f"{r.se:.4f}" if math.isfinite(r.se) else f"n/a ({count(int(getattr(r, 'n_seeds', 1)), 'seed')})")
              + f" | {r.test_loss_alone:.4f} | {r.test_loss_with:.4f} |" for r in gains.itertuples()]
    return "\n".join(lines) + "\n"


def redraw_groups_figure(out: Path) -> str:
    """Draw ``groups.png`` again for the plan's (now measured) groups and record it in run.json, so report.md's
    figure shows the groups it lists; returns what was done, in words."""
    from transfergraph.planner.report.artifacts import RUN_INFO, read_artifacts
    from transfergraph.planner.report.decision_figures import plot_groups
    from transfergraph.planner.report.outputs import FILES

    art = read_artifacts(out)
    run = dict(art.run)
    figures, skipped = dict(run.get("figures") or {}), dict(run.get("skipped") or {})
    if plot_groups(art.graph, art.plan, out / FILES["groups"]) is not None:
        figures["groups"], what = FILES["groups"], f"redrew {FILES['groups']} for the measured groups"
        skipped.pop("groups", None)
    else:
        (out / FILES["groups"]).unlink(missing_ok=True)
        figures.pop("groups", None)
        skipped["groups"] = ("No task-to-task edge of graph.graphml carries a measured co-training gain, so the groups "
                             "figure is omitted: the groups are listed above.")
        what = f"removed {FILES['groups']}: no edge carries a measured gain"
    atomic_write_json(out / RUN_INFO, {**run, "figures": figures, "skipped": skipped})
    return what


def group_job(config: JobConfig, out: str | Path, *, executor: str | None = None, address: str | None = None,
              workers: int | None = None, seeds: int | None = None, tasks: list[str] | None = None,
              n_groups: int | None = None, steps: int | None = None, use_cache: bool = True, dry_run: bool = False,
              progress: bool = True, log: Callable[[str], None] | None = None, verbose: bool = False) -> GroupResult:
    """Train the co-training networks and write the outputs listed in the module doc; returns a :class:`GroupResult`.

    ``seeds``: training seeds ``config.seed .. config.seed + seeds - 1`` (default: ``validate.decisions.seeds``);
    ``tasks``: task names (default all); ``n_groups``: most groups (default the config's ``plan.n_groups``, else
    ceil(n / 3)); ``steps``: steps per network (default ``validate.decisions.steps``). With ``dry_run``, one
    network is trained (and cached) to time it, and nothing else is written.

    Raises InputError naming the option: fewer than 2 tasks, an unknown task, ``seeds`` < 1, a malformed address;
    ExecutorError: the cluster cannot be reached.
    """
    from transfergraph.planner.decisions.grouping import default_n_groups
    from transfergraph.planner.validation._training_core import TrainBudget, prepare_tasks
    from transfergraph.planner.validation.cotrain import cotrain_table, measured_grouping, pair_gains
    from transfergraph.planner.validation.cotrain_design import design_networks
    from transfergraph.planner.validation.cotrain_runner import run_networks

    from transfergraph.planner.validation.cotrain_runner import shared_network_cache as network_cache
    from transfergraph.jobs.suite import build_tasks
    from transfergraph.jobs.validate import check_out_belongs_to

    log = log or (lambda _m: None)
    t0 = time.perf_counter()
    dcfg = config.validate_.decisions or DecisionsConfig()
    n_seeds = dcfg.seeds if seeds is None else seeds
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise InputError(f"--seeds must be an integer >= 1; got {n_seeds!r}.")
    if n_groups is not None and (isinstance(n_groups, bool) or not isinstance(n_groups, int) or n_groups < 1):
        raise InputError(f"--groups must be an integer >= 1; got {n_groups!r}.")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise InputError(f"--steps must be an integer >= 1; got {steps!r}.")
    wanted = set(_chosen_names([s.name for s in config.tasks], tasks))  # checked before any data is built
    out_dir = prepare_out_dir(out)
    check_out_belongs_to(config, out_dir)
    runner = None if dry_run else executor_for(config, out_dir, executor=executor, address=address, workers=workers,
                                            verbose=verbose, log=log)
    chosen = [t for t in build_tasks(config) if t.name in wanted]
    data = prepare_tasks(chosen, train_per_class=dcfg.train_per_class, split_seed=config.seed)
    names = sorted(t.name for t in data)
    budget = TrainBudget(steps=steps or dcfg.steps, batch=dcfg.batch)
    tcfg = config.models.training
    trunk = TrunkFactory(tcfg.arch, int(data[0].train_x.shape[1]), tcfg.width, tcfg.feature_dim)
    design = design_networks(names, seeds=range(config.seed, config.seed + n_seeds), sample_seed=config.seed)
    jobs = design.jobs(budget)
    cache = network_cache(out_dir, data, trunk) if use_cache else None
    result = GroupResult(out_dir, len(jobs), design=design.describe())
    log(f"{len(names)} tasks: {design.describe()}")
    if dry_run:
        result.dry_run_text = _dry_run(jobs, cache, data, trunk, _slots(executor, config, workers, address))
        result.seconds = time.perf_counter() - t0
        return result
    outcome = run_networks(jobs, data, trunk, executor=runner, cache=cache, progress=progress, log=log)
    result.trained, result.cached, result.failed = len(outcome.trained), len(outcome.cached), outcome.failed
    subset = bool(_planned_tasks(out_dir) - set(names))  # the plan holds tasks this run does not measure
    files = SUBSET_FILES if subset else FULL_FILES
    result.subset, result.files = subset, [files["csv"], files["gains"], files["md"]]
    cotrain = cotrain_table(outcome.rows, design)
    atomic_write_with(out_dir / files["csv"], lambda tmp: cotrain.to_csv(tmp, index=False))
    gains = pair_gains(cotrain)
    atomic_write_with(out_dir / files["gains"], lambda tmp: gains.to_csv(tmp, index=False))
    if not len(gains):  # every network of every pair failed: nothing measured, the plan and graph stay as they are
        atomic_write_text(out_dir / files["md"], _markdown(names, [], [], gains, design, 0, outcome.failed))
        result.seconds = time.perf_counter() - t0
        return result
    if not subset:  # graph.graphml's gains are those of the plan's groups: a subset run leaves them as they are
        log(_write_graph(out_dir, names, gains))
        result.files.insert(2, "graph.graphml")
    k = n_groups or config.plan.n_groups or default_n_groups(len(names))
    groups, decision, alone = measured_grouping(names, gains, n_groups=k, max_group_size=config.plan.max_group_size)
    trust = Trust.of(alone, gains, {t.name: t.n_classes for t in data})
    result.groups, result.alone, result.trust = groups, alone, trust
    _update_plan(out_dir, names=names, groups=groups, decision=decision, alone=alone, gains=gains, design=design,
                 n_groups=k, budget=budget, failed=outcome.failed, trust=trust, subset=subset)
    result.files.insert(-1, "plan.json")
    atomic_write_text(out_dir / files["md"], _markdown(names, groups, alone, gains, design, k, outcome.failed,
                                                       trust=trust, subset=subset))
    if not subset:
        for name in SUBSET_FILES.values():  # an earlier subset's outputs: plan.json no longer points at them
            (out_dir / name).unlink(missing_ok=True)
        if (out_dir / "report.md").is_file() and (out_dir / "graph.graphml").is_file():
            from transfergraph.planner.report import render_report

            log(redraw_groups_figure(out_dir))
            render_report(out_dir)  # the run's report, with the measured groups, their figure and their evidence
    result.seconds = time.perf_counter() - t0
    return result
