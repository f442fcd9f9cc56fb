"""Session-wide tiny sources and targets for the validation tests (trained once, ~seconds)."""
from __future__ import annotations

import pytest
import torch

import _val_support as S


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def sources():
    """Three sources: digits 0-4 (also a task node), digits 5-9, all digits."""
    return [
        S.train_source("low", (0, 1, 2, 3, 4), seed=1, task="t_low"),
        S.train_source("high", (5, 6, 7, 8, 9), seed=2),
        S.train_source("all", tuple(range(10)), seed=3),
    ]


@pytest.fixture(scope="session")
def tasks():
    """Four small class-subset targets (one is the 'low' source's own task)."""
    return [
        S.class_task("t_low", (0, 1, 2, 3, 4)),
        S.class_task("t_a", (5, 6)),
        S.class_task("t_b", (1, 7, 9)),
        S.class_task("t_c", (0, 3, 8)),
    ]
