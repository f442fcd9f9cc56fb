"""The sources and tasks of the node-loss test: three slow tiny CNNs and one that always raises
(a user error: its pairs must fail at once, never be resubmitted), on the scoring tests' tasks.

With ``mark_dir``, every forward pass on a Ray worker first leaves an empty file named
``<node id>-<pid>`` there, so the test driver can kill the worker node while it is computing."""
from marking import marking_sleep
from scoring_support import Boom, tiny_model, tiny_tasks

from transfergraph.planner import Source


def sources_and_tasks(sleep: float = 0.25, mark_dir: str | None = None):
    sources = [Source(f"s{i}", tiny_model(i), transform=marking_sleep(sleep, mark_dir)) for i in range(3)]
    return sources + [Source("boom", Boom())], tiny_tasks()
