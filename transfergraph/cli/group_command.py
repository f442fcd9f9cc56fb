"""The ``transfergraph group`` command: measured co-training and the grouping it implies.

Registered on :data:`transfergraph.cli.app` by :mod:`transfergraph.cli` (this module does not import it). Exit codes as for
``run``: 0 done; 1 some networks failed (outputs written from the others); 2 a bad option, config or
cluster address (the message names the option); 130 interrupted (finished networks stay in the cache).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from transfergraph.cli.guard import STATE as _STATE, echo as _echo, guard as _guard
from transfergraph.cli.options import number as _number, path_option as _path

__all__ = ["group", "EPILOG"]

EPILOG = "Example: transfergraph group configs/tiny.yaml --out runs/tiny --seeds 2 --executor ray"


def _usage_problem(executor: Optional[str], address: Optional[str], workers: Optional[int], counts: dict) -> Optional[str]:
    """The first usage error of the options (exit 2), naming the option; None when they are fine."""
    if executor is not None and executor not in ("local", "ray"):
        return f"--executor must be 'local' or 'ray'; got {executor!r}."
    if address and executor == "local":
        return "--address needs the ray executor; drop --address or use --executor ray."
    if workers is not None and executor == "local":
        return ("--workers needs the ray executor (the local executor runs one job at a time); drop --workers or "
                "use --executor ray.")
    for flag, value in counts.items():
        if value is not None and value < 1:
            return f"{flag} must be an integer >= 1; got {value}."
    return None


def _task_list(text: Optional[str]) -> Optional[list[str]]:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def group(
    config: Path = typer.Argument(..., callback=_path,
                                  help="YAML job config (its tasks; training budget: validate.decisions)."),
    out: Path = typer.Option(Path("runs/latest"), "--out", callback=_path, help="Output folder."),
    executor: Optional[str] = typer.Option(None, "--executor", help="local | ray (default: the config's)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (needs --executor ray)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, parser=_number("--workers", low=1),
                                          help="Ray worker CPUs / tasks in flight."),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, parser=_number("--seeds", low=1),
                                        help="Training seeds (default: validate.decisions.seeds, 3)."),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="Comma-separated task names (default: every task). "
                                        "A subset of the tasks of OUT's plan is measured on its own: the plan's "
                                        "groups stay as they are; its grouping goes to plan.json cotrain_groups "
                                        "and cotrain_subset.md."),
    groups: Optional[int] = typer.Option(None, "--groups", min=1, parser=_number("--groups", low=1),
                                         help="Most groups (default: plan.n_groups, else ceil(n/3))."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, parser=_number("--steps", low=1),
                                        help="Training steps per network (default: validate.decisions.steps)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say how many networks would be trained and how long it "
                                 "would take, from one network trained here to time it; train nothing else."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the network cache."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar, log or summary lines (errors and failed "
                                                      "networks are still reported)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Ray's own log lines (default: OUT/ray.log)."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors (also accepted before "
                               "the command: transfergraph --debug group ...)."),
) -> None:
    """Train every single task and every pair as a multitask network (random subsets past 10 tasks), write
    cotrain.csv, the gains on graph.graphml and a plan whose groups come from the measured gains (HOA on test
    loss), with report.md and groups.png redrawn. With --tasks naming only some of the plan's tasks, the plan's
    groups are left as they are and the subset's grouping goes to plan.json cotrain_groups and
    cotrain_subset.md / .csv. Networks at chance or a single seed make the groups provisional (plan.json warns)."""
    if debug:
        _STATE["debug"] = True
    problem = _usage_problem(executor, address, workers, {"--seeds": seeds, "--groups": groups, "--steps": steps})
    if problem:
        _echo(f"transfergraph: error: {problem}")
        raise typer.Exit(2)

    def body():
        from transfergraph.config import load_config
        from transfergraph.jobs.group import group_job

        cfg = load_config(config)
        log = (lambda m: None) if quiet else (lambda m: _echo(f"[transfergraph] {m}"))
        result = group_job(cfg, out, executor=executor, address=address, workers=workers, seeds=seeds,
                           tasks=_task_list(tasks), n_groups=groups, steps=steps, use_cache=not no_cache,
                           dry_run=dry_run, progress=not quiet, log=log, verbose=verbose)
        if dry_run:
            _echo(f"[transfergraph] dry run: {result.dry_run_text}")
            return
        if not quiet:
            trust = result.trust
            shaky = set(trust.provisional) if trust else set()
            firm = [t for t in result.alone if t not in shaky]
            _echo(f"[transfergraph] {result.trained} networks trained, {result.cached} read from the cache; groups: "
                  + (" | ".join("+".join(g) for g in result.groups) or "none (no pair could be measured)")
                  + (f"; train alone (sharing hurts): {', '.join(firm)}" if firm else "")
                  + (f"; kept alone provisionally (not resolved beyond noise): {', '.join(sorted(shaky))}" if shaky else "")
                  + (" (a subset of the plan's tasks: the plan's groups were left as they are; this grouping is "
                     "plan.json cotrain_groups)" if result.subset else "")
                  + f". Wrote {', '.join(result.files)} in {out} in {result.seconds:.1f} s")
            if trust and (trust.chance or trust.one_seed):
                _echo("[transfergraph] caution: "
                      + (f"single-task networks at chance for {', '.join(sorted(trust.chance))}; " if trust.chance else "")
                      + ("1 seed, no standard error; " if trust.one_seed else "")
                      + "the groups are provisional: rerun with more --steps / --seeds (see plan.json "
                      + ("evidence.cotrain_groups.warnings)." if result.subset else "warnings)."))
        if result.failed:
            _echo(f"[transfergraph] {len(result.failed)} networks failed (see "
                  f"{'cotrain_subset.md' if result.subset else 'cotrain.md'}); exit code 1.")
            raise typer.Exit(1)

    _guard(body, resume_hint="run the same command again to resume (finished networks are cached).", out=out)
