"""Sample pools: every distinct sample is stored (and forwarded) once.

In-memory tasks are grouped by per-sample shape and dtype; inside a group, samples are deduplicated
by their bytes (via 128-bit row digests), so a task given as a copy of a slice of another task's
data shares its samples and therefore its forward pass. Lazy tasks (:mod:`transfergraph.planner.inputs.lazy`) are grouped
by their dataset's identity and deduplicated by dataset row: the pool is the dataset's reader (a
small description; nothing is read here). Each task becomes an index array into its pool.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.dedupe import dedupe_rows
from transfergraph.planner.common.fingerprint import array_digest, combine, labels_digest
from transfergraph.planner.inputs.task import Task

__all__ = ["Pool", "TaskView", "build_pools"]


@dataclass
class Pool:
    """Distinct samples of one (per-sample shape, dtype) group.

    Attributes
    ----------
    id : int
        Position in the list returned by :func:`build_pools`.
    data : np.ndarray of shape (N, ...), or a Reader
        The distinct samples, in order of first appearance over the tasks; for lazy tasks the
        dataset's :class:`~transfergraph.planner.inputs.lazy.Reader` (rows = dataset rows).
    sample_ids : np.ndarray, optional
        A stable id per row: the 16-byte content digest (dtype ``S16``) for in-memory pools; None
        for lazy pools, whose row numbers are the ids.
    identity : str
        What the rows' ids are relative to: the per-sample shape and dtype (content pools) or
        the dataset's identity (lazy pools).
    """

    id: int
    data: Any
    sample_ids: np.ndarray | None = field(default=None, repr=False)
    identity: str = ""

    @property
    def lazy(self) -> bool:
        """True when ``data`` is a Reader (rows are dataset rows, read by the worker)."""
        return not isinstance(self.data, np.ndarray)

    @property
    def nbytes(self) -> int:
        return 0 if self.lazy else int(self.data.nbytes)


@dataclass
class TaskView:
    """A task as rows of a pool.

    Attributes
    ----------
    task : Task
    pool : int
        Id of the pool holding its samples.
    index : np.ndarray of int64, shape (n,)
        ``pool.data[index[i]]`` has the bytes of ``task.inputs[i]``.
    fingerprint : str
        Digest of the task's inputs (shape, dtype, every sample's bytes, in order) and labels.
    """

    task: Task
    pool: int
    index: np.ndarray = field(repr=False)
    fingerprint: str


def build_pools(tasks: Sequence[Task]) -> tuple[list[Pool], list[TaskView]]:
    """Group ``tasks`` into pools of distinct samples.

    Returns
    -------
    pools : list of Pool
        One per distinct (per-sample shape, dtype).
    views : list of TaskView
        One per task, in the order of ``tasks``.

    Notes
    -----
    Cost: one BLAKE2b digest per sample (O(total bytes)) plus one dict lookup per sample; memory:
    the pools themselves plus 16 bytes per distinct sample.
    """
    groups: dict[tuple, list[int]] = {}
    lazy: dict[str, list[int]] = {}
    for i, t in enumerate(tasks):
        if getattr(t, "lazy", False):
            lazy.setdefault(t.inputs.identity, []).append(i)
        else:
            groups.setdefault((t.inputs.shape[1:], t.inputs.dtype.str), []).append(i)
    pools: list[Pool] = []
    views: list[TaskView | None] = [None] * len(tasks)
    for identity, members in lazy.items():
        for i in members:
            x = tasks[i].inputs
            fp = combine("lazy-task", identity, array_digest(x.rows), labels_digest(tasks[i].labels))
            views[i] = TaskView(tasks[i], len(pools), x.rows, fp)
        pools.append(Pool(len(pools), tasks[members[0]].inputs.reader, None, identity))
    for (shape, dtype), members in groups.items():
        deduped = dedupe_rows([tasks[i].inputs for i in members], caller="build_pools")
        for i, index, digests in zip(members, deduped.index, deduped.digests):
            fp = combine("task", shape, dtype, b"".join(digests), labels_digest(tasks[i].labels))
            views[i] = TaskView(tasks[i], len(pools), index, fp)
        pools.append(Pool(len(pools), deduped.data, deduped.ids, combine("content", shape, dtype)))
    return pools, views  # type: ignore[return-value]
