"""Float labels that look continuous are refused unless the caller says they are classes; LogME scores
regression targets under regression=True, as in the LogME paper."""
import numpy as np
import pytest

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics import REGISTRY, logme

RNG = np.random.default_rng(0)
F = RNG.standard_normal((120, 6))


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if REGISTRY[n].input == "features"))
def test_continuous_float_labels_are_refused_unless_declared_classes(name):
    y = RNG.random(120)  # 120 distinct floats: regression targets, not 120 classes
    with pytest.raises(InputError, match="look continuous"):
        REGISTRY[name](F, y)
    few = np.repeat([0.0, 1.0, 2.0], 40)  # float dtype but clearly classes: accepted as before
    assert np.isfinite(REGISTRY[name](F, few))


def test_classes_true_accepts_float_class_ids():
    y = np.arange(120, dtype=float) % 70
    with pytest.raises(InputError, match="regression=True"):
        logme(F, y)
    assert np.isfinite(logme(F, y, classes=True))


def test_logme_regression_on_one_hot_columns_equals_the_classification_score():
    labels = RNG.integers(0, 4, 120)
    one_hot = np.eye(4)[labels]
    assert logme(F, one_hot, regression=True) == pytest.approx(logme(F, labels), rel=1e-10)
    y = F @ RNG.standard_normal(6) + 0.1 * RNG.standard_normal(120)  # a linear target: high evidence
    assert logme(F, y, regression=True) > logme(F, RNG.standard_normal(120), regression=True)
    with pytest.raises(InputError, match=r"shape \(120,\) or \(120, k\)"):
        logme(F, np.ones((119, 2)), regression=True)
