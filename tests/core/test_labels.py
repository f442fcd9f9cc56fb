"""One order of classes everywhere: numbers by value, then other types by type name and value."""
import numpy as np
import pytest

from transfergraph.planner.common.checks import encode_labels
from transfergraph.planner.common.labels import sorted_labels
from transfergraph.planner.inputs.task import Task, distinct_labels

MIXED = [10, 2, "a", 2, "a", 10]
ORDER = [2, 10, "a"]


def test_sorted_labels_puts_numbers_first_by_value():
    assert sorted_labels(MIXED) == ORDER
    assert sorted_labels(["b", 3.5, "a", -1]) == [-1, 3.5, "a", "b"]


def test_every_encoder_orders_mixed_labels_the_same():
    codes, classes = encode_labels(MIXED, func="test")
    assert classes.tolist() == ORDER and codes.tolist() == [1, 0, 2, 0, 2, 1]
    arr = np.empty(len(MIXED), dtype=object)
    arr[:] = MIXED
    assert distinct_labels(arr).tolist() == ORDER
    task = Task("t", np.zeros((6, 2), dtype=np.float32), arr)
    assert task.classes.tolist() == ORDER


def test_cnaps_context_classes_follow_the_same_order():
    torch = pytest.importorskip("torch")
    from transfergraph.adapters.meta.pools import ClassPool

    pool = ClassPool(torch.zeros(6, 1, 4, 4), MIXED)
    assert list(pool.base_classes) == ORDER


def test_task_keeps_mixed_labels_distinct_and_refuses_nan():
    import numpy as np
    import pytest

    from transfergraph.planner.common.exceptions import InputError
    from transfergraph.planner.inputs.task import Task

    t = Task("mixed", np.zeros((4, 2), np.float32), [1, "1", 2, 2])
    assert t.classes.tolist() == [1, 2, "1"]  # NumPy alone would make 1 and "1" one class
    for labels in ([1.0, float("nan"), 2.0], np.array([0.0, np.nan, 1.0]), [1, float("nan"), "a"]):
        with pytest.raises(InputError, match=r"labels of Task 'nan' must not contain NaN"):
            Task("nan", np.zeros((3, 2), np.float32), labels)
