"""``blas_threads`` bounds the BLAS pools and restores them, with threadpoolctl's controller made once per
process and made again only after new imports (a new module may have loaded a new native library)."""
import sys
import types

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from transfergraph.planner.runtime import threads


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_bounds_and_restores_the_blas_pools():
    np.ones((4, 4)) @ np.ones((4, 4))  # numpy's BLAS is loaded
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library visible to threadpoolctl")
    with threads.blas_threads(1):
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
    with threads.blas_threads(None):  # None: left as they are
        assert _blas_threads() == before


def test_controller_is_reused_until_a_module_is_imported(monkeypatch):
    with threads.blas_threads(1):
        pass
    first = threads._controller()
    with threads.blas_threads(1):
        pass
    assert threads._controller() is first
    monkeypatch.setitem(sys.modules, "tg_test_new_module", types.ModuleType("tg_test_new_module"))
    second = threads._controller()
    assert second is not first
    assert threads._controller() is second
