"""When and how the Ray executor resubmits a job that failed for a system reason.

A job fails for a *system* reason when the machinery under it broke -- its worker process or node
died, its raylet died, its result object was lost -- and not because of its own code. Ray's own task
retries (``max_retries``) re-run such a task at once, but a node that crashed (rather than left
cleanly) is declared dead by the GCS only after several missed health checks, and in that window
Ray can place every retry on the dead node and spend them all within seconds. :class:`RetryPolicy`
is the second line: the executor resubmits the job after an exponential backoff,

    delay(k) = min(max_delay, base_delay * 2 ** (k - 1))      k = 1, 2, ... (the k-th resubmission)

until it succeeds or ``deadline`` seconds have passed since its first system failure (then the
error is reported for that job's pairs, as for any other failed job). The resubmission asks Ray to
prefer another node than the one that failed (``NodeAffinitySchedulingStrategy(soft=True)``, so it
still runs when no other node is left). A job whose own code raised (any ``RayTaskError``, e.g. a
model that raises) is never retried: its pairs fail at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from transfergraph.planner.common.arguments import check_scalar

__all__ = ["RetryPolicy", "is_system_failure", "failed_node_id", "SYSTEM_ERROR_NAMES"]

#: Ray exception classes (by name; matched along the MRO) that mean the system, not the job, failed.
SYSTEM_ERROR_NAMES = frozenset({
    "LocalRayletDiedError", "NodeDiedError", "WorkerCrashedError", "ObjectLostError",
    "ObjectFetchTimedOutError", "OwnerDiedError", "ObjectReconstructionFailedError", "OutOfMemoryError",
})  # not RaySystemError: Ray raises it for deterministic faults too (arguments that cannot be unpickled)

_NODE_ID = re.compile(r"node ID:? ([0-9a-f]{56})", re.IGNORECASE)


def is_system_failure(exc: BaseException) -> bool:
    """True when ``exc`` (as raised by ``ray.get``) says the system failed, not the job's code.

    A ``RayTaskError`` (the job's own exception, re-raised by Ray) is never a system failure, even
    when the user's exception happens to be named like a Ray error.
    """
    names = [cls.__name__ for cls in type(exc).__mro__]
    if "RayTaskError" in names:
        return False
    return any(n in SYSTEM_ERROR_NAMES for n in names)


def failed_node_id(exc: BaseException) -> str | None:
    """The hex ID of the node a system failure names (``NodeDiedError`` does), else None."""
    match = _NODE_ID.search(str(exc))
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff and deadline for resubmitting jobs after system failures (see the module doc).

    Parameters
    ----------
    base_delay : float
        Seconds before the first resubmission (> 0).
    max_delay : float
        Largest wait between two resubmissions of one job, seconds (>= base_delay).
    deadline : float
        Seconds after a job's first system failure during which it is still resubmitted (>= 0;
        0 = never resubmit). The default outlasts Ray's default node-death detection (about 15 s)
        many times over, and bounds a run against a cluster that keeps losing nodes.

    Raises
    ------
    InputError
        For a non-positive ``base_delay``, ``max_delay < base_delay`` or a negative ``deadline``.
    """

    base_delay: float = 0.5
    max_delay: float = 8.0
    deadline: float = 300.0

    def __post_init__(self) -> None:
        base = check_scalar(self.base_delay, "base_delay", float, caller="RetryPolicy", min_val=0,
                            include_boundaries="neither")
        check_scalar(self.max_delay, "max_delay", float, caller="RetryPolicy", min_val=base)
        check_scalar(self.deadline, "deadline", float, caller="RetryPolicy", min_val=0)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before resubmission number ``attempt`` (1-based)."""
        return min(self.max_delay, self.base_delay * 2.0 ** (max(attempt, 1) - 1))

    def should_retry(self, exc: BaseException, first_failure: float, now: float) -> bool:
        """True when ``exc`` is a system failure and the job's deadline has not passed at ``now``."""
        return is_system_failure(exc) and now - first_failure < self.deadline
