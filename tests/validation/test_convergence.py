"""Fine-tune convergence curves by LEEP level (the LEEP paper's §5.5) on tiny digits targets."""
from __future__ import annotations

import pytest

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation import finetune_convergence, plot_convergence
from transfergraph.planner.validation.convergence import leep_of


def test_curves_table_levels_and_plot(tmp_path, sources, tasks):
    src = sources[1]
    targets = tasks[1:]
    scores = {t.name: leep_of(src, t) for t in targets}
    assert all(v <= 0 for v in scores.values())
    curves = finetune_convergence(src, targets, n_levels=2, per_level=1, epochs=2, seed=0)
    assert list(curves.columns) == ["target", "score", "level", "run", "epoch", "accuracy"]
    # one target per level, two runs, two epochs
    assert curves["target"].nunique() == 2 and len(curves) == 2 * 2 * 2
    assert set(curves["level"]) == {1, 2}
    lowest = min(scores, key=scores.get)
    assert curves.loc[curves["target"] == lowest, "level"].eq(1).all()
    assert curves["accuracy"].between(0, 1).all()
    again = finetune_convergence(src, targets, scores=scores, n_levels=2, per_level=1, epochs=2, seed=0)
    assert again.equals(curves)
    path = plot_convergence(curves, tmp_path / "conv.png")
    assert path.stat().st_size > 1000


def test_bad_arguments(sources, tasks):
    with pytest.raises(InputError, match="epochs of finetune_convergence"):
        finetune_convergence(sources[1], tasks, epochs=0)
    with pytest.raises(InputError, match="other than the source's own"):
        finetune_convergence(sources[0], tasks[:1])
