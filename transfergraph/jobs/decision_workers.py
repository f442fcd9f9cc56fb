"""``validate --decisions`` on every worker: train its tables on the executor, then let the judge read them.

:func:`decision_cache` connects the executor (``--executor``/``--address``/``--workers``, else the
config's ``scoring`` section), trains every subset network and every order subtree the judge needs as
executor jobs (:func:`transfergraph.planner.validation.decision_prefill.prefill_decision_tables`) and
yields the cache folder to pass to ``validate_decisions``: ``OUT/cache/decisions``, or with ``--no-cache``
a temporary folder removed afterwards. The numbers are the same with any executor and worker count.
The subset networks also go to ``OUT/cache/cotrain``, the network cache of ``transfergraph group``
(same trainer, budget, trunk and seeds: :func:`network_cache`), and are read from it: ``group`` after
``validate --decisions`` trains only the networks the decisions did not (and the other way round for
networks of two or more tasks).
"""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from transfergraph.config import DecisionsConfig, JobConfig

__all__ = ["decision_cache", "network_cache"]


def network_cache(out: Path, data, trunk):
    """``OUT/cache/cotrain``, the per-network cache that ``transfergraph group`` and ``validate --decisions``
    share (:func:`~transfergraph.planner.validation.cotrain_runner.shared_network_cache`)."""
    from transfergraph.planner.validation.cotrain_runner import shared_network_cache

    return shared_network_cache(out, data, trunk)


@contextmanager
def decision_cache(config: JobConfig, out: Path, data, dcfg: DecisionsConfig, *, n_curr: int, use_cache: bool = True,
                   executor: str | None = None, address: str | None = None, workers: int | None = None,
                   progress: bool = False, verbose: bool = False,
                   log: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Yield the filled cache folder of the decision tables (see the module doc).

    Raises InputError / ExecutorError naming ``--address`` for a malformed or unreachable cluster address.
    """
    from transfergraph.planner.validation._training_core import TrainBudget
    from transfergraph.planner.validation.decision_prefill import prefill_decision_tables

    from transfergraph.jobs.group import TrunkFactory, executor_for

    log = log or (lambda _m: None)
    runner = executor_for(config, out, executor=executor, address=address, workers=workers, verbose=verbose, log=log)
    folder = out / "cache" / "decisions" if use_cache else Path(tempfile.mkdtemp(prefix="tg-decisions-"))
    try:
        tcfg = config.models.training
        trunk = TrunkFactory(tcfg.arch, int(data[0].train_x.shape[1]), tcfg.width, tcfg.feature_dim)
        done = prefill_decision_tables(
            data, seeds=range(config.seed, config.seed + dcfg.seeds), trunk=trunk,
            grouping_budget=TrainBudget(steps=dcfg.steps, batch=dcfg.batch),
            curriculum_budget=TrainBudget(steps=dcfg.curriculum_steps, batch=dcfg.batch),
            n_curr=n_curr, learners=tuple(dcfg.learners), cache=folder, executor=runner, progress=progress, log=log,
            networks=network_cache(out, data, trunk) if use_cache else None)
        log(f"decision tables: {done.trained} training jobs run on {getattr(runner, 'name', runner)} executor, "
            f"{done.cached} from the cache" + (f", {len(done.failed)} failed (retried in process)" if done.failed else ""))
        yield folder
    finally:
        if not use_cache:
            shutil.rmtree(folder, ignore_errors=True)
