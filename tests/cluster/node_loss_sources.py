"""The sources and tasks of the node-loss test: five slow tiny CNNs and one that always raises
(a user error: its pairs must fail at once, never be resubmitted), on the scoring tests' tasks."""
from scoring_support import Boom, sleepy, tiny_model, tiny_tasks

from planner import Source


def sources_and_tasks(sleep: float = 0.25):
    sources = [Source(f"s{i}", tiny_model(i), transform=sleepy(sleep)) for i in range(5)]
    return sources + [Source("boom", Boom())], tiny_tasks()
