"""The in-process executor: jobs run one after another in the calling process (no Ray).

It is the reference for every other executor (same results), the fastest choice for small jobs,
and the one to debug with (pdb works inside ``fn``).
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Run ``fn(job, *shared...)`` for each job in order, in this process."""

    name = "local"
    remote = False
    threads_per_task: int | None = None

    def run(
        self, fn: Callable[..., Any], jobs: Iterable[Any], shared: Mapping[Hashable, Any]
    ) -> Iterator[tuple[Any, Any]]:
        """Yield ``(job, result)``, or ``(job, exception)`` when ``fn`` raised."""
        for job in jobs:
            args = [shared[k] for k in getattr(job, "shared_keys", ())]
            try:
                result = fn(job, *args)
            except Exception as exc:  # noqa: BLE001 - reported per job, as the interface promises
                result = exc
            yield job, result

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> str:
        """One line for reports: ``"local"``."""
        return self.name

    def __repr__(self) -> str:
        return "LocalExecutor()"
