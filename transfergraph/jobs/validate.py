"""``transfergraph validate``: really transfer on the configured pairs and correlate with the scores.

Wiring only: tasks and sources come from the config (trained models are reused from ``OUT/models``),
scores from :func:`transfergraph.planner.score` (read back from ``OUT/cache`` when ``run`` already computed them),
transfers from :func:`transfergraph.planner.validation.run_validation`.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.planner.common.io import atomic_write_text, atomic_write_with, prepare_out_dir
from transfergraph.planner.inputs.task import Source, Task

from transfergraph.config import JobConfig
from transfergraph.jobs.run import connect_executor, make_executor, resolve_cache

__all__ = ["validate_job"]



def _pairs(config: JobConfig, sources: list[Source], tasks: list[Task], *, with_backbone: bool) -> list[tuple[str, str]]:
    """The configured pairs, or a seeded sample of ``validate.n_pairs`` candidates (default: all).

    With meta-transfer, every (backbone classifier, target) pair is added: the LEEP paper's
    meta-transfer protocol correlates that classifier's score with CNAPs accuracy across targets.
    """
    import numpy as np

    from transfergraph.adapters.meta.sources import BACKBONE_SOURCE
    from transfergraph.planner.validation import candidate_pairs

    vcfg = config.validate_
    if vcfg.pairs:
        chosen = [tuple(p) for p in vcfg.pairs]
    else:
        candidates = [p for p in candidate_pairs(sources, tasks) if p[0] != BACKBONE_SOURCE]
        if vcfg.n_pairs is not None and vcfg.n_pairs < len(candidates):
            rng = np.random.default_rng(config.seed)
            keep = np.sort(rng.choice(len(candidates), size=vcfg.n_pairs, replace=False))
            candidates = [candidates[i] for i in keep]
        chosen = candidates
    if with_backbone:
        chosen += [(BACKBONE_SOURCE, t.name) for t in tasks if (BACKBONE_SOURCE, t.name) not in chosen]
    return chosen


def check_out_belongs_to(config: JobConfig, out: Path) -> None:
    """ConfigError when ``out`` holds a run of another config (its ``run.json`` names it): validating
    config A into B's folder would mix A's validation into B's report and plan. A re-plan counts as a run of
    the config it inherited its options from."""
    from transfergraph.planner.report.artifacts import RUN_INFO

    from transfergraph.jobs.out_owner import run_config_name

    recorded, other = run_config_name(out)
    if not recorded or other == config.name:
        return
    if other is None:
        raise ConfigError(f"--out {out} holds a re-plan whose config is unknown ({RUN_INFO}); validate "
                          f"{config.name!r} into the folder of its own run, or give another --out.")
    raise ConfigError(f"--out {out} holds a run of config {other!r} ({RUN_INFO}), not of {config.name!r}; "
                      "validate with that config, or give another --out.")


def validate_job(config: JobConfig, out: str | Path, *, executor: str | None = None, address: str | None = None,
                 workers: int | None = None, use_cache: bool = True, score_cache: str | None = None,
                 progress: bool = True, log: Callable[[str], None] | None = None, verbose: bool = False) -> int:
    """Write ``validation.csv``, ``correlations.csv``, ``regret.csv`` and ``validation.md`` into ``out``.

    A Ray executor connects first (a bad address, token or version fails before any model is trained)
    and sends Ray's own console output to ``OUT/ray.log`` unless ``verbose``.

    Returns the number of failed validation rows (the CLI exits 1 when it is not zero).
    """
    log = log or (lambda _m: None)
    t0 = time.perf_counter()
    out = prepare_out_dir(out)
    check_out_belongs_to(config, out)
    runner = make_executor(config, executor=executor, address=address, workers=workers, log_file=out / "ray.log",
                           verbose=verbose)
    connect_executor(runner, log)  # before the heavy imports below: a bad cluster fails in seconds

    from transfergraph.adapters.meta.sources import BACKBONE_SOURCE

    from transfergraph.jobs.suite import build_meta_model, build_sources, build_tasks

    from transfergraph.planner.scoring import score
    from transfergraph.planner.report import validation_report
    from transfergraph.planner.validation import correlations, run_validation, selection_regret

    score_cache = resolve_cache(config.scoring.cache, out, "cache", score_cache if use_cache else False)
    val_cache = resolve_cache(config.validate_.cache, out, "cache", None if use_cache else False)
    model_dir = Path(config.models.model_dir) if config.models.model_dir else out / "models"

    tasks = build_tasks(config)
    meta_model = build_meta_model(config, model_dir=model_dir, log=log)
    sources = build_sources(config, tasks, model_dir=model_dir, log=log, meta_model=meta_model)
    log(f"scoring {len(sources)} sources x {len(tasks)} targets (cached pairs are read back)")
    scores = score(sources, tasks, metrics=tuple(config.scoring.metrics), executor=runner, cache=score_cache,
                   progress=progress, seed=config.seed)
    vcfg = config.validate_
    methods = list(vcfg.methods)
    meta = {BACKBONE_SOURCE: meta_model} if meta_model is not None and "meta_transfer" in methods else None
    pairs = _pairs(config, sources, tasks, with_backbone=meta is not None)
    log(f"validating {len(pairs)} pairs with {', '.join(methods)}")
    validation = run_validation(
        sources, tasks, pairs=pairs,
        methods=methods, meta_model=meta, method_options={"fine_tune": {"epochs": vcfg.fine_tune_epochs}}
        if "fine_tune" in methods else None,
        executor=runner, cache=val_cache, seed=config.seed, progress=progress)
    corr = correlations(scores, validation)
    regret = selection_regret(scores, validation)
    atomic_write_with(out / "validation.csv", lambda tmp: validation.to_csv(tmp, index=False))
    atomic_write_with(out / "correlations.csv", lambda tmp: corr.to_csv(tmp, index=False))
    atomic_write_with(out / "regret.csv", lambda tmp: regret.to_csv(tmp, index=False))
    section = validation_report(validation, corr, scores, out, metric=config.plan_metric, regret_df=regret)
    atomic_write_text(out / "validation.md", section.strip() + "\n")
    if (out / "plan.json").is_file() and (out / "graph.graphml").is_file():
        from transfergraph.planner.report import render_report

        from transfergraph.jobs.source_evidence import record_source_evidence

        record_source_evidence(out / "plan.json", corr, regret, config.plan_metric,  # sources: no longer proxy only
                               validation=validation)
        render_report(out)  # report.md now links the validation section
    log(f"validation finished in {time.perf_counter() - t0:.1f} s")
    return int((validation["status"] != "ok").sum())
