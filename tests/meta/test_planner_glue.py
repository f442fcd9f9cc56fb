"""tasks_from_taskset and build_meta_sources produce valid planner Tasks and Sources."""
import random

import numpy as np
import pytest
import torch

pytest.importorskip("learn2learn", reason="learn2learn not installed: pip install 'transfergraph[meta]'")

from transfergraph.adapters.meta import AdaptedClassifier, ClassPool, SourceClassifier, build_meta_sources, make_taskset, tasks_from_taskset
from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import InputError

from ._data import SIZE, labeled_pool


def _taskset(num_tasks=-1):
    x, y = labeled_pool()
    return make_taskset(ClassPool(x, y), 3, 6, num_tasks=num_tasks)


def test_tasks_from_taskset_is_seeded_and_splits_context_and_queries():
    a = tasks_from_taskset(_taskset(), n_tasks=3, shots=2, queries=4, seed=7, prefix="ep")
    b = tasks_from_taskset(_taskset(), n_tasks=3, shots=2, queries=4, seed=7, prefix="ep")
    c = tasks_from_taskset(_taskset(), n_tasks=3, shots=2, queries=4, seed=8, prefix="ep")
    assert [t.name for t in a] == ["ep-000", "ep-001", "ep-002"]
    for t, u in zip(a, b):
        assert isinstance(t, Task) and t.n_samples == 6 and t.n_classes == 3
        assert len(t.test_labels) == 12 and t.inputs.shape[1:] == (1, SIZE, SIZE)
        assert np.array_equal(t.inputs, u.inputs) and np.array_equal(t.test_labels, u.test_labels)
    assert any(not np.array_equal(t.inputs, u.inputs) for t, u in zip(a, c))
    fixed = _taskset(num_tasks=5)
    assert len(tasks_from_taskset(fixed, n_tasks=5, shots=1, queries=0, seed=0)) == 5
    assert not tasks_from_taskset(fixed, n_tasks=1, shots=1, queries=0, seed=0)[0].has_test


def test_tasks_from_episode_list_and_errors():
    x = torch.rand(8, 1, SIZE, SIZE)
    y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    tasks = tasks_from_taskset([(x, y), (x, 1 - y)], n_tasks=2, shots=3, queries=1, seed=0)
    assert [t.n_samples for t in tasks] == [6, 6]
    with pytest.raises(InputError, match="shots \\+ queries"):
        tasks_from_taskset([(x, y)], n_tasks=1, shots=4, queries=1, seed=0)
    with pytest.raises(InputError, match="only 1 episodes"):
        tasks_from_taskset([(x, y)], n_tasks=2, shots=1, queries=1, seed=0)
    with pytest.raises(InputError, match="num_tasks=2"):
        tasks_from_taskset(_taskset(num_tasks=2), n_tasks=3, shots=1, queries=1, seed=0)
    with pytest.raises(InputError, match="shots of tasks_from_taskset"):
        tasks_from_taskset([(x, y)], n_tasks=1, shots=0, queries=1, seed=0)


@pytest.mark.parametrize("adapted_as", ["model", "task"])
def test_build_meta_sources(tiny_model, adapted_as):
    model = tiny_model(n_source_classes=6)
    tasks = tasks_from_taskset(_taskset(), n_tasks=2, shots=4, queries=1, seed=0)
    sources = build_meta_sources(model, tasks, context_shots=2, seed=1, adapted_as=adapted_as)
    assert [s.name for s in sources] == ["cnaps_backbone", "cnaps@episode-000", "cnaps@episode-001"]
    assert all(isinstance(s, Source) for s in sources)
    assert isinstance(sources[0].model, SourceClassifier) and sources[0].task is None
    for src, task in zip(sources[1:], tasks):
        assert isinstance(src.model, AdaptedClassifier)
        assert src.task == (task.name if adapted_as == "task" else None)
        assert src.model.classes == task.classes.tolist()
        assert src.model(torch.from_numpy(task.inputs)).shape == (task.n_samples, task.n_classes)
    again = build_meta_sources(model, tasks[::-1], context_shots=2, seed=1)  # order-independent subsampling
    q = torch.from_numpy(tasks[0].inputs)
    assert torch.equal(again[2].model(q), sources[1].model(q))
    with pytest.raises(InputError, match="adapted_as"):
        build_meta_sources(model, tasks, adapted_as="node")
    with pytest.raises(InputError, match="context_shots"):
        build_meta_sources(model, tasks, context_shots=0)
