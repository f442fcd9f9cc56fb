"""The Ray executor's dispatch loop: bounded submission, completion-order results, resubmission.

:func:`dispatch` keeps at most ``cap`` tasks in flight, takes results with ``ray.wait`` in short
waits (so Ctrl-C and due resubmissions are seen within ``poll`` seconds), and hands every failed
task to the :class:`~.retry.RetryPolicy`: a system failure inside the job's deadline is resubmitted
after its backoff, with ``NodeAffinitySchedulingStrategy(soft=True)`` towards an alive node other
than the ones that failed, so the retry avoids a crashed node that the GCS still lists as alive.
Everything else is yielded as the job's result. Each job is resubmitted only while it has no
result: a job that finished is never run again, so nothing the cache already holds is recomputed.
With ``split``, a failed task that carried several jobs (a :class:`~.batching.Batch`) is not yielded:
its jobs are submitted again one per task -- after the backoff for a system failure the policy
retries, at once for any other failure of the task as a whole -- so each job's outcome is the one
it would have had alone.
"""
from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from transfergraph.planner.executors.retry import RetryPolicy, failed_node_id, is_system_failure

__all__ = ["DispatchStats", "dispatch"]


@dataclass
class DispatchStats:
    """Counters of one executor, kept across its runs (the report shows them)."""

    retries: int = 0
    failed_nodes: set[str] = field(default_factory=set)
    system_failures: list[str] = field(default_factory=list)
    recovered_at: list[float] = field(default_factory=list)  # time.time() when a resubmitted job succeeded


def _unwrap(exc: BaseException) -> BaseException:
    """The user's exception inside a ``RayTaskError``, else the Ray error itself."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _other_node(ray: Any, avoid: set[str], turn: int) -> str | None:
    """An alive node with CPUs that is not in ``avoid`` (round robin by ``turn``), else None."""
    try:
        nodes = sorted(n["NodeID"] for n in ray.nodes()
                       if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0 and n["NodeID"] not in avoid)
    except Exception:  # noqa: BLE001 - no node list: let Ray place the task
        return None
    return nodes[turn % len(nodes)] if nodes else None


def dispatch(
    ray: Any,
    submit: Callable[[Any, dict], Any],
    jobs: list[Any],
    *,
    cap: int,
    policy: RetryPolicy,
    stats: DispatchStats,
    poll: float = 0.2,
    split: Callable[[Any], list[Any] | None] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(job, result | exception)`` for every job, in completion order.

    ``submit(job, options)`` starts one task (``options`` are extra ``.options()`` for Ray, e.g. a
    scheduling strategy) and returns its ObjectRef. ``split(job)``: the jobs a failed task is rerun
    as, one per task (None or fewer than two: the task's failure is handled as a job's).
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    jobs = list(jobs)  # the pieces of split tasks are appended
    pending = list(range(len(jobs)))[::-1]  # pop() from the end keeps submission order
    due: list[tuple[float, int, int]] = []  # (ready time, seq, job index) of resubmissions
    first_failure: dict[int, float] = {}
    attempts: dict[int, int] = {}
    in_flight: dict[Any, int] = {}
    seq = itertools.count()

    def start(i: int, retry: bool) -> None:
        options: dict = {}
        if retry and stats.failed_nodes:
            node = _other_node(ray, stats.failed_nodes, stats.retries)
            if node is not None:
                options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=node, soft=True)
        in_flight[submit(jobs[i], options)] = i

    try:
        while pending or in_flight or due:
            now = time.monotonic()
            while due and due[0][0] <= now and len(in_flight) < cap:
                start(heapq.heappop(due)[2], retry=True)
            while pending and len(in_flight) < cap:
                start(pending.pop(), retry=False)
            if not in_flight:
                time.sleep(max(0.0, min(poll, due[0][0] - now)))
                continue
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=poll)
            if not done:
                continue
            i = in_flight.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - RayTaskError, NodeDiedError, WorkerCrashedError, ...
                now = time.monotonic()
                first = first_failure.setdefault(i, now)
                retry = policy.should_retry(exc, first, now)
                if retry:
                    attempts[i] = attempts.get(i, 0) + 1
                    stats.retries += 1
                    stats.system_failures.append(type(exc).__name__)
                    node = failed_node_id(exc)
                    if node:
                        stats.failed_nodes.add(node)
                parts = split(jobs[i]) if split is not None else None
                if parts is not None and len(parts) > 1 and (retry or not is_system_failure(exc)):
                    ready = now + policy.delay(attempts[i]) if retry else now
                    for part in parts:  # each job again, alone: its outcome is its own
                        j = len(jobs)
                        jobs.append(part)
                        if retry:
                            first_failure[j], attempts[j] = first, attempts[i]
                        heapq.heappush(due, (ready, next(seq), j))
                    continue
                if retry:
                    heapq.heappush(due, (now + policy.delay(attempts[i]), next(seq), i))
                    continue
                result = _unwrap(exc)
            else:
                if i in attempts:
                    stats.recovered_at.append(time.time())
            yield jobs[i], result
    finally:
        for ref in in_flight:
            try:
                ray.cancel(ref)
            except Exception:  # noqa: BLE001 - best effort on early exit
                pass
