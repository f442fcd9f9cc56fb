"""Sources and tasks of the batched node-loss test: 8 slow tiny CNNs (any input size) on 3 pools of equal
size (inputs 6 x 6, 7 x 8 and 8 x 8), so that the Ray executor puts each source's 3 jobs in one task
(8 sources x 3 pools: the cost bound of 1/8 of the run is 3 jobs) and any task lost is a batch.

With ``mark_dir``, every forward pass on a Ray worker first leaves an empty file named
``<node id>-<pid>`` there, so the test driver can kill the worker node while it is computing."""
import sys

import cloudpickle
import numpy as np
import torch
import torch.nn as nn

from marking import marking_sleep
from transfergraph.planner import Source, Task

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import test modules
try:  # Ray vendors its own cloudpickle, with its own by-value registry
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    pass

N_SOURCES, SHAPES = 8, ((6, 6), (7, 8), (8, 8))


class PooledNet(nn.Module):
    """Conv, adaptive pooling to 2 x 2, two linear layers: takes any input size."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 4 + seed % 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.conv(x))))


def sources_and_tasks(sleep: float = 0.3, mark_dir=None):
    rng = np.random.default_rng(0)
    tasks = []
    for h, w in SHAPES:
        x, y = rng.random((40, 1, h, w), dtype=np.float32), rng.integers(0, 3, 40)
        tasks += [Task(f"t{h}x{w}a", x[:30].copy(), y[:30]), Task(f"t{h}x{w}b", x[10:].copy(), y[10:])]
    sources = [Source(f"s{i}", PooledNet(i), transform=marking_sleep(sleep, mark_dir)) for i in range(N_SOURCES)]
    return sources, tasks
