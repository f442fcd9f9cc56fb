"""The ``transfergraph`` command line (typer): run, plan, validate.

Exit codes: 0 every pair succeeded; 1 some pairs failed (all outputs still written); 2 bad config,
option or input (the message names the key, option or file; no traceback unless ``--debug``);
130 interrupted (finished pairs are kept in the cache; re-run the same command to resume).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from transfergraph.planner import __version__

from transfergraph.cli.guard import STATE as _STATE, echo as _echo, guard as _guard
from transfergraph.cli.options import number as _number, path_option as _path

EXAMPLES = """
Examples:

  transfergraph run configs/demo.yaml --out runs/demo

  transfergraph run configs/demo.yaml --executor local --no-cache

  transfergraph plan runs/demo/scores.csv --out runs/replan --budget 2 --groups 3

  transfergraph validate configs/demo.yaml --out runs/demo

  transfergraph group configs/tiny.yaml --out runs/tiny --seeds 2
"""

app = typer.Typer(
    name="transfergraph",
    help="Plan transfer, meta-transfer and multitask learning from measured transferability (LEEP)."
    + EXAMPLES,
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)


# options shared by `run` and `validate`
_Out = Annotated[Path, typer.Option("--out", callback=_path, help="Output folder.")]
_Executor = Annotated[Optional[str], typer.Option("--executor", help="local | ray (default: the config's).")]
_Address = Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (needs --executor ray).")]
_Workers = Annotated[Optional[int], typer.Option("--workers", min=1, parser=_number("--workers", low=1),
                                                  help="Ray worker CPUs / tasks in flight.")]
_NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write caches.")]
_Quiet = Annotated[bool, typer.Option("--quiet", help="No progress bar, log or summary lines (errors and failed "
                                                      "pairs are still reported).")]
_Debug = Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors (also accepted before "
                                                      "the command: transfergraph --debug run ...).")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"transfergraph {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    _STATE["debug"] = debug
    from transfergraph.planner.runtime.allocator import keep_large_buffers

    keep_large_buffers()  # this process is ours (see planner/runtime/allocator.py)


def _debug(flag: bool) -> None:
    """``--debug`` given after the command name (the group's own ``--debug`` was read first)."""
    if flag:
        _STATE["debug"] = True


def _logger(quiet: bool):
    """The log function of a command: silent with ``--quiet``, else ``[transfergraph] ...`` on stderr."""
    return (lambda m: None) if quiet else (lambda m: _echo(f"[transfergraph] {m}"))


def _load(config: Path):
    from transfergraph.config import load_config

    return load_config(config)


@app.command(epilog="Example: transfergraph run configs/demo.yaml --out runs/demo --workers 2")
def run(
    config: Path = typer.Argument(..., callback=_path, help="YAML job config (see configs/demo.yaml)."),
    out: _Out = Path("runs/latest"),
    executor: _Executor = None,
    address: _Address = None,
    workers: _Workers = None,
    cache: Optional[Path] = typer.Option(None, "--cache", callback=_path,
                                         help="Score cache folder (default: OUT/cache)."),
    no_cache: _NoCache = False,
    quiet: _Quiet = False,
    verbose: bool = typer.Option(False, "--verbose", help="Show Ray's own log lines (default: OUT/ray.log)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, parser=_number("--batch-size", low=1),
                                             help="Samples per forward batch."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu | cuda | cuda:N (default: the config's)."),
    gpus_per_task: Optional[float] = typer.Option(None, "--gpus-per-task", min=0.0,
                                                  parser=_number("--gpus-per-task", float, low=0.0),
                                                  help="Ray executor: GPUs reserved per task."),
    debug: _Debug = False,
    pairs_fraction: Optional[float] = typer.Option(
        None, "--pairs-fraction", parser=_number("--pairs-fraction", float, low=0.0, high=1.0, low_open=True),
        help="Score this share (0 < f <= 1) of the pairs, predict the rest and re-score each target's predicted "
             "top-k exactly (default: the config's, else all)."),
) -> None:
    """Score every (source, target) pair, build the graph, plan, and write the report."""
    _debug(debug)
    _check_job_options(executor, address, workers, cache, no_cache)
    _check_device_option(device)

    def body():
        from transfergraph.jobs.run import run_job

        cfg, log = _load(config), _logger(quiet)
        result = run_job(cfg, out, executor=executor, address=address, workers=workers,
                         cache=False if no_cache else (str(cache) if cache else None), progress=not quiet, log=log,
                         verbose=verbose,
                         batch_size=batch_size, device=device, gpus_per_task=gpus_per_task,
                         pairs_fraction=pairs_fraction)
        n_pairs = result.scores[["source", "target"]].drop_duplicates().shape[0]
        if not quiet:
            _echo(f"[transfergraph] wrote {out}/report.md ({n_pairs} pairs, {result.n_failed} failed rows) "
                  f"in {result.seconds:.1f} s")
        if result.n_failed:  # a problem report, so --quiet does not hide it
            _echo("[transfergraph] some pairs failed: see the 'Failed pairs' section of report.md; exit code 1.")
            raise typer.Exit(1)

    _guard(body, resume_hint="run the same command again to resume.", out=out)


@app.command(epilog="Example: transfergraph plan runs/demo/scores.csv --out runs/replan --budget 2 --groups 3")
def plan(
    source: Path = typer.Argument(..., metavar="SCORES_CSV|GRAPH_GRAPHML", callback=_path,
                                  help="scores.csv or graph.graphml written by `transfergraph run`."),
    out: Path = typer.Option(Path("runs/plan"), "--out", callback=_path, help="Output folder."),
    config: Optional[Path] = typer.Option(None, "--config", callback=_path,
                                          help="Take the plan options of this YAML config (its `plan` section and "
                                               "`seed`); flags override them."),
    metric: Optional[str] = typer.Option(None, "--metric", help="Metric weighting the graph (default: the config's, "
                                         "else leep if scored, else the first scored)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=1, parser=_number("--top-k", low=1),
                                        help="Sources listed per target (default 3 for a fresh plan; a re-plan "
                                             "keeps the value recorded in the plan.json beside its input)."),
    budget: Optional[int] = typer.Option(None, "--budget", min=1, parser=_number("--budget", low=1),
                                         help="Size of the source set."),
    groups: Optional[int] = typer.Option(None, "--groups", min=1, parser=_number("--groups", low=1),
                                         help="Number of multitask groups."),
    max_group_size: Optional[int] = typer.Option(None, "--max-group-size", min=1,
                                                 parser=_number("--max-group-size", low=1), help="Most tasks per group."),
    start: Optional[str] = typer.Option(None, "--start", help="Task the curriculum must start with."),
    curriculum_objective: Optional[str] = typer.Option(None, "--curriculum-objective",
                                                       help="tree (which model to start each task from) | chain | cumulative | "
                                                            "periphery_core | max_dissimilar_path | final_serves_all | dissimilar_chain "
                                                            "(one model, task after task: model forgetting); default dissimilar_chain."),
    centered: Optional[bool] = typer.Option(None, "--centered/--no-centered",
                                            help="Grouping affinity w - median (default) or raw w."),
    grouping_affinity: Optional[str] = typer.Option(None, "--grouping-affinity",
                                                    help="transfer (w(u->t) as scored, default) | mutual (min of both "
                                                         "directions) | symmetric (their mean)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, parser=_number("--seed", low=0),
                                       help="Seed of the grouping heuristic (default 0)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", parser=_number("--time-limit", float, low=0.0,
                                                                                   low_open=True),
                                               help="Seconds per exact solver, > 0 (default 60)."),
    sources_from: Optional[str] = typer.Option(
        None, "--sources-from", help="Sources the plan may recommend: all (default) | external (model nodes only) | "
                                     "tasks (the tasks' own models) | NAME,NAME,...; groups and curriculum still use "
                                     "every task->task edge."),
    quiet: bool = typer.Option(False, "--quiet", help="No summary line (errors are still reported)."),
    debug: _Debug = False,
) -> None:
    """Re-plan from an existing score table or transfer graph without computing any score.

    An option not given takes its value from --config when one is given (that config's defaults included:
    the plan.json beside the input is then not read), else from the plan.json beside the input (the run
    re-planned from), else the default shown. Nothing is written when the plan fails. Into the run's own
    folder, the results measured there since the run (`transfergraph group`, `validate`) are kept.
    """
    _debug(debug)
    flags = {"top_k": top_k, "budget": budget, "n_groups": groups, "max_group_size": max_group_size,
             "start": start, "curriculum_objective": curriculum_objective, "centered": centered,
             "grouping_affinity": grouping_affinity, "seed": seed,
             "time_limit": time_limit, "sources_from": sources_from}

    def body():
        from transfergraph.planner.common.io import prepare_out_dir
        from transfergraph.planner.graph import build_graph

        from transfergraph.jobs import replan_measured
        from transfergraph.jobs.run import plan_outputs
        from transfergraph.jobs.planning import plan_options, read_plan_input

        t0 = time.perf_counter()
        scores, graph = read_plan_input(source)
        previous = source.parent / "plan.json"  # the run's own options, unless --config gives others
        options = _with_flag_names(lambda: plan_options(_load(config) if config else None, previous=previous, **flags))
        inherited = config is not None or previous.is_file()
        chosen = _plan_metric(scores, graph, metric, options.metric if inherited else None, source)
        options = options.replace(metric=chosen)
        # results measured on the data in --out (`group`, `validate`): kept by a re-plan of that folder's own
        # run, never replaced by a plan of another table (checked before anything is written)
        own_folder = out.resolve() == source.parent.resolve()  # a symlinked scores.csv still lives here
        measured = replan_measured.read_measured(out)
        extra: list[str] = []
        if not own_folder:
            replan_measured.refuse_foreign(measured, source)
            extra = replan_measured.measured_elsewhere_warning(replan_measured.read_measured(source.parent), out)
        if graph is None:
            graph = build_graph(scores, metric=options.metric)
        if own_folder:
            replan_measured.annotate_graph(graph, measured)
        nodes = graph.nodes(data="kind")
        origin = str(config) if config else (str(previous) if previous.is_file() else "defaults")
        from transfergraph.jobs.out_owner import run_config_name, scored_by

        # the config whose options this re-plan inherited (a run's folder); None when none was
        of_config = _load(config).name if config else (run_config_name(source.parent)[1] if previous.is_file() else None)
        summary = {"name": f"re-plan of {source} (options: {origin}, then the flags given)", "config": of_config,
                   "executor": "none (plan only)", "scored_by": scored_by(source.parent),  # the run's own timing
                   "n_tasks": scores["target"].nunique() if scores is not None else sum(k == "task" for _, k in nodes),
                   "n_sources": scores["source"].nunique() if scores is not None else graph.number_of_nodes()}
        from transfergraph.jobs.carried_warnings import carried_input_warnings

        carried = carried_input_warnings(previous, without_table=scores is None) + extra  # the run's findings about its inputs: not re-checked here
        target = prepare_out_dir(out)

        def write(staging: Path) -> list[str]:
            _with_flag_names(lambda: plan_outputs(scores, staging, options=options, graph=graph, config_summary=summary,
                                                  seconds=time.perf_counter() - t0, warnings=carried))
            return replan_measured.carry_measured(staging / "plan.json", measured, graph) if own_folder else []

        kept = _written_whole(target, source, write)
        log = _logger(quiet)
        if kept:
            log(f"kept the results measured in {target}: {'; '.join(kept)}")
        log(f"wrote {target}/plan.json and {target}/report.md")

    _guard(body, resume_hint="nothing was computed; run it again.", unexpected=f"cannot re-plan from {source}",
           out=out)


def _written_whole(target: Path, source: Path, write):
    """Run ``write(staging)``, which writes a plan's files into a new hidden folder inside ``target``, then
    move them into ``target`` and render its report there (with any validation sections it holds): a
    failed plan leaves ``target`` as it was. ``scores.csv`` replaces the one in ``target`` unless that is
    ``source`` itself; a figure the new plan skipped is removed from ``target``. Returns what ``write``
    returned."""
    import json
    import shutil
    import tempfile

    from transfergraph.planner.common.io import commit_file
    from transfergraph.planner.report import render_report
    from transfergraph.planner.report.outputs import FILES

    staging = Path(tempfile.mkdtemp(prefix=".plan-", dir=target))
    try:
        result = write(staging)
        same_table = (target / "scores.csv").is_file() and (target / "scores.csv").samefile(source)
        for path in sorted(staging.iterdir()):
            if path.name == "scores.csv" and same_table:
                continue
            if path.is_dir():
                shutil.copytree(path, target / path.name, dirs_exist_ok=True)
            else:
                commit_file(path, target / path.name)  # the one atomic move (fsynced first)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    skipped = json.loads((target / "run.json").read_text()).get("skipped") or {}
    for key in skipped:
        if key in FILES:
            (target / FILES[key]).unlink(missing_ok=True)  # a stale figure of an earlier plan
    render_report(target)
    return result


def _plan_metric(scores, graph, flag: Optional[str], configured: Optional[str], source: Path) -> str:
    """The metric to plan with: --metric, else the config's, else leep if scored, else the first scored."""
    from transfergraph.planner.common.exceptions import InputError

    if graph is not None:
        weighted = str(graph.graph.get("metric", flag or configured or "leep"))
        if (flag or configured) not in (None, weighted):
            raise InputError(f"--metric {flag or configured!r} differs from the metric {weighted!r} that weights "
                             f"{source}; re-plan from scores.csv to weight the graph by another metric.")
        return weighted
    metrics = sorted(scores["metric"].unique())
    chosen = flag or configured or ("leep" if "leep" in metrics else metrics[0])
    if chosen not in metrics:
        raise InputError(f"--metric must be one of the metrics in {source}: {metrics}; got {chosen!r}.")
    return chosen


def _with_flag_names(build):
    """Run ``build``; a library error naming a plan option (``NAME of PlanOptions()``, ``NAME of PlanOptions``,
    ``NAME=VALUE passed to FUNCTION``) is re-raised, of the same type, naming its command-line flag."""
    import re

    from transfergraph.planner.common.exceptions import GraphError, InputError

    from transfergraph.jobs.planning import FLAGS

    try:
        return build()
    except (InputError, GraphError) as exc:
        text = str(exc)
        for name, flag in FLAGS.items():
            text = text.replace(f"{name} of PlanOptions()", flag).replace(f"{name} of PlanOptions", flag)
            text = re.sub(rf"\b{name}=(.+?) passed to \w+", rf"{flag} \1", text)
        if text == str(exc):
            raise
        raise type(exc)(text, key=exc.key) from None


@app.command(epilog="Example: transfergraph validate configs/demo.yaml --out runs/demo")
def validate(
    config: Path = typer.Argument(..., callback=_path,
                                  help="YAML job config (its `validate` section picks methods and pairs)."),
    out: _Out = Path("runs/latest"),
    cache: Optional[Path] = typer.Option(None, "--cache", callback=_path,
                                         help="Score cache folder to read back (default: OUT/cache; "
                                              "the --cache given to `run`)."),
    executor: _Executor = None,
    address: _Address = None,
    workers: _Workers = None,
    no_cache: _NoCache = False,
    quiet: _Quiet = False,
    decisions: bool = typer.Option(False, "--decisions", help="Train the groupings and curricula for real "
                                   "instead (settings: the config's validate.decisions block)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Ray's own log lines (default: OUT/ray.log)."),
    debug: _Debug = False,
) -> None:
    """Really transfer on the configured pairs and measure how well each metric predicted it."""
    _debug(debug)
    _check_job_options(executor, address, workers, cache, no_cache)

    def body():
        from transfergraph.jobs.validate import validate_job

        cfg, log = _load(config), _logger(quiet)
        if decisions:
            from transfergraph.jobs.decisions import validate_decisions_job

            validate_decisions_job(cfg, out, use_cache=not no_cache, log=log,
                                   executor_options={"executor": executor, "address": address, "workers": workers,
                                                     "progress": not quiet, "verbose": verbose})
            if not quiet:
                _echo(f"[transfergraph] wrote {out}/grouping_validation.csv, {out}/curriculum_validation.csv and "
                      f"{out}/decisions.md")
            return
        n_failed = validate_job(cfg, out, executor=executor, address=address, workers=workers,
                                use_cache=not no_cache, score_cache=str(cache) if cache else None,
                                progress=not quiet, log=log, verbose=verbose)
        if not quiet:
            _echo(f"[transfergraph] wrote {out}/validation.csv, {out}/correlations.csv and {out}/validation.md")
        if n_failed:
            raise typer.Exit(1)

    _guard(body, resume_hint="run the same command again to resume.", out=out)


def _check_device_option(device: Optional[str]) -> None:
    """``--device`` spelled as cpu | cuda | cuda:N (exit 2); CUDA's presence is checked by the job, before training."""
    from transfergraph.config.devices import device_spelling_problem

    if device is not None and device_spelling_problem(device):
        _echo(f"transfergraph: error: --device: {device_spelling_problem(device)}.")
        raise typer.Exit(2)


def _check_job_options(executor: Optional[str], address: Optional[str], workers: Optional[int],
                       cache: Optional[Path], no_cache: bool) -> None:
    """Usage errors of ``run`` and ``validate`` (exit 2). ``--address`` and ``--workers`` size Ray: with
    ``--executor local`` they would be silently ignored, so they are errors."""
    problems = []
    if executor is not None and executor not in ("local", "ray"):
        problems.append(f"--executor must be 'local' or 'ray'; got {executor!r}.")
    if cache is not None and no_cache:
        problems.append("--cache and --no-cache conflict; give one of them.")
    if address and executor == "local":
        problems.append("--address needs the ray executor; drop --address or use --executor ray.")
    if workers is not None and executor == "local":
        problems.append("--workers needs the ray executor (the local executor runs one job at a time); drop "
                        "--workers or use --executor ray.")
    if problems:
        _echo(f"transfergraph: error: {problems[0]}")
        raise typer.Exit(2)


from transfergraph.cli import group_command as _group_command  # noqa: E402

app.command(epilog=_group_command.EPILOG)(_group_command.group)  # `transfergraph group`


def _show_warning(message, category, filename, lineno, file=None, line=None, *, _default=None):  # noqa: ANN001
    """transfergraph's own warnings as one ``[transfergraph] warning: ...`` line (no source file or code line,
    which mean nothing to a CLI user); other libraries' warnings as Python prints them."""
    if getattr(category, "__module__", "").startswith("transfergraph"):
        _echo(f"[transfergraph] warning: {message}")
    else:
        (_default or warnings.showwarning)(message, category, filename, lineno, file, line)


def main() -> None:
    """Console-script entry point (an interruption ends the process at once, see :mod:`transfergraph.cli.guard`)."""
    import functools

    _STATE["exit_at_once"] = True
    warnings.showwarning = functools.partial(_show_warning, _default=warnings.showwarning)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
