"""Sample overlap (leakage) between what a recommended source was trained on and a target's samples.

For each (source node, target) pair a plan recommends, every model standing for that node is
checked. Its training data is known as base-pool rows (:class:`transfergraph.planner.inputs.provenance.Provenance`:
the suite's tasks, per-task models, external models trained by the suite and a meta-trained
backbone carry it), or, for a model without provenance that is a task's model, as that task's
samples. Two provenances in one pool overlap on shared base rows, so shifted copies (blurred,
noisy, rotated) of the same images count as "same base images, shifted"; without provenance on
either side the samples are matched by the bytes of each row (float32), which finds only identical
samples. Share = |target rows also in the training data| / |distinct target rows|.

When a pair cannot be checked (a target on disk without provenance, a model whose training data
is unknown, such as one loaded from a checkpoint) a "not checked" warning names it and says why.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.fingerprint import row_digests

__all__ = ["OVERLAP_MIN", "SAME", "SHIFTED", "task_share", "recommended_pairs", "leakage_warnings"]

#: share of a target's samples found in a source's training data from which overlap is reported
OVERLAP_MIN = 0.01
SAME, SHIFTED = "same samples", "same base images, shifted"


def _row_digests(x: Any) -> set[bytes] | None:
    try:
        a = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    except (TypeError, ValueError):
        return None  # a lazy dataset: not read into memory for this check
    if a.ndim == 0 or len(a) == 0:
        return None
    return set(row_digests(a))


class _Digests:
    """Row digests of each task, computed once; None for a task whose samples stay on disk."""

    def __init__(self) -> None:
        self._memo: dict[str, set | None] = {}

    def __call__(self, task: Any) -> set | None:
        name = str(task.name)
        if name not in self._memo:
            self._memo[name] = None if getattr(task, "lazy", False) else _row_digests(task.inputs)
        return self._memo[name]


def _parts_share(parts: Sequence[Any], target: Any) -> tuple[float, str, str]:
    """(share, kind, via) of the part of ``parts`` that holds most of ``target``'s base rows."""
    best = (0.0, SAME, "")
    n = max(target.n_distinct, 1)
    for p in parts:
        share = p.shared(target) / n
        if share > best[0]:
            best = (share, SAME if p.shift == target.shift == "" else SHIFTED, p.via)
    return best


def task_share(source: Any, target: Any, digests: _Digests | None = None) -> tuple[float, str] | None:
    """(share of ``target``'s samples that are ``source``'s training samples, kind); None: not checkable."""
    sp, tp = getattr(source, "provenance", None), getattr(target, "provenance", None)
    if sp is not None and tp is not None:
        share, kind, _ = _parts_share((sp,), tp)
        return share, kind
    digests = digests or _Digests()
    ds, dt = digests(source), digests(target)
    if ds is None or dt is None:
        return None
    return len(ds & dt) / len(dt), SAME


def recommended_pairs(plan: dict) -> set[tuple[str, str]]:
    """(source node, target) pairs the plan recommends: ranked sources, source-set assignment, curriculum parents."""
    pairs = {(str(s), str(t)) for t, top in plan.get("sources", {}).items() for s, _ in top}
    pairs |= {(str(s), str(t)) for t, s in plan.get("source_set", {}).get("assignment", {}).items()}
    parents = plan.get("objectives", {}).get("curriculum", {}).get("parents", {})
    pairs |= {(str(p), str(t)) for t, (p, _) in parents.items() if p is not None}
    return pairs


def _candidates(node: str, sources: Sequence[Any] | None, tasks: dict) -> list[tuple[str, Any]]:
    """(label, training data) of each model standing for ``node``: a tuple of provenances, a Task, or None."""
    if sources is None:
        return [(f"source task {node!r}", tasks[node])] if node in tasks else []
    out = []
    for s in sorted((s for s in sources if s.node == node), key=lambda s: s.name):
        label = f"source {s.name!r}" + (f" (node {node!r})" if s.name != node else "")
        if s.provenance:
            out.append((label, tuple(s.provenance)))
        else:
            out.append((label, tasks.get(s.task) if s.task is not None else None))
    return out


def _share(data: Any, target: Any, digests: _Digests) -> tuple[float, str, str] | None:
    if isinstance(data, tuple):
        if target.provenance is None:
            return None
        return _parts_share(data, target.provenance)
    got = task_share(data, target, digests)
    return None if got is None else (got[0], got[1], "")


def leakage_warnings(plan: dict, tasks: Sequence[Any], sources: Sequence[Any] | None = None) -> list[str]:
    """Overlap warnings (one per source model, listing its targets) then "not checked" warnings.

    ``sources`` None: each task node stands for a model trained on exactly that task's samples.
    """
    by_name = {str(t.name): t for t in tasks}
    digests, hits = _Digests(), defaultdict(list)
    no_task, no_model = set(), set()
    for u, t in sorted(recommended_pairs(plan), key=lambda p: (p[1], p[0])):
        if t not in by_name or u == t:
            continue
        for label, data in _candidates(u, sources, by_name):
            got = None if data is None else _share(data, by_name[t], digests)
            if got is None:
                if data is None:
                    no_model.add(label)
                else:
                    no_task.update(str(x.name) for x in (by_name[t], data) if not isinstance(x, tuple)
                                   and x.provenance is None and (isinstance(data, tuple) or digests(x) is None))
            elif got[0] >= OVERLAP_MIN:
                hits[label].append((t, *got))
    return _messages(hits) + _not_checked(no_task, no_model)


def _messages(hits: dict) -> list[str]:
    """One warning per source; sources whose every hit comes through one shared model (a meta-trained
    backbone) are merged into one warning naming that model, so one cause reads as one warning."""
    shared = defaultdict(list)
    for label, rows in hits.items():
        vias = {via for *_, via in rows}
        if len(vias) == 1 and "" not in vias:
            shared[vias.pop()].append(label)
    merged = {label for labels in shared.values() if len(labels) > 1 for label in labels}
    out = [_hit_message(label, rows) for label, rows in sorted(hits.items()) if label not in merged]
    for via, labels in sorted(shared.items()):
        if len(labels) > 1:
            each = [f"{label} on " + ", ".join(f"{100 * share:.0f}% of target {t!r} ({kind})"
                                               for t, share, kind, _ in sorted(hits[label])) for label in sorted(labels)]
            out.append(f"sample overlap (leakage) through {via.removeprefix('its ')}, shared by {len(labels)} sources: "
                       f"{'; '.join(each)}; their scores and any fine-tuning gain on these targets are inflated by "
                       "memorized samples; hold those samples out of that model's training data (or pick other "
                       "sources) before trusting these edges.")
    return out


def _hit_message(label: str, rows: list) -> str:
    parts = [f"{100 * share:.0f}% of target {t!r} ({kind}{', via ' + via if via else ''})"
             for t, share, kind, via in sorted(rows)]
    return (f"sample overlap (leakage): {label} was trained on {'; '.join(parts)}; its scores and any "
            f"fine-tuning gain on {'this target' if len(rows) == 1 else 'these targets'} are inflated by memorized "
            "samples; hold those samples out of its training data (or pick another source) before trusting "
            f"{'this edge' if len(rows) == 1 else 'these edges'}.")


def _not_checked(no_task: set, no_model: set) -> list[str]:
    out = []
    if no_task:
        out.append(f"sample-overlap check not run for task(s) {sorted(no_task)}: they carry no provenance and their "
                   "samples could not be compared by bytes (kept on disk, or the source's training data is known only "
                   "as base-pool rows); give the Task a provenance (transfergraph.planner.inputs.provenance.Provenance) to check them.")
    if no_model:
        out.append(f"sample-overlap check not run for {', '.join(sorted(no_model))}: its training data is unknown "
                   "(no provenance, e.g. a model loaded from a checkpoint); leakage into its targets cannot be ruled out.")
    return out
