"""The score heatmap is drawn from a palette index image (less memory than matplotlib's float resampling
at zoo size) and its PNG is byte for byte the one ``imshow`` of the float matrix draws."""
import numpy as np
import pandas as pd
import pytest

from transfergraph.planner.report import scores_figure


def _imshow_floats(ax, M, *, vmax):
    """The heatmap's cells as they were drawn before: imshow of the float matrix."""
    return ax.imshow(np.ma.masked_invalid(M), aspect="auto", cmap="viridis", vmin=0.0, vmax=vmax,
                     interpolation="nearest")


def _scores(n_sources, n_targets, values):
    rows = [{"source": f"m{i:03d}", "source_task": "", "target": f"t{j:03d}", "metric": "leep", "status": "ok",
             "normalized": float(values[i, j])} for i in range(n_sources) for j in range(n_targets)
            if not np.isnan(values[i, j])]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("shape", [(4, 5), (40, 30), (90, 6)])
def test_heatmap_png_is_byte_identical_to_imshow_of_the_floats(tmp_path, monkeypatch, shape):
    rng = np.random.default_rng(sum(shape))
    values = rng.random(shape) * 1.3 - 0.1  # below 0 (the colormap's "under"), above 1 (vmax grows)
    values[rng.random(shape) < 0.1] = np.nan  # pairs not scored: blank cells
    values[0, 0] = np.nan
    scores = _scores(*shape, values)
    ours = scores_figure.plot_heatmap(scores, "leep", tmp_path / "ours.png")
    monkeypatch.setattr(scores_figure, "_draw_cells", _imshow_floats)
    theirs = scores_figure.plot_heatmap(scores, "leep", tmp_path / "theirs.png")
    assert ours.read_bytes() == theirs.read_bytes()


def test_every_colour_of_the_map_draws_the_same(tmp_path, monkeypatch):
    values = np.linspace(0.0, 1.0, 50 * 40).reshape(50, 40)  # every viridis colour (254 distinct bytes) and a blank
    values[3, 4] = np.nan
    scores = _scores(50, 40, values)
    ours = scores_figure.plot_heatmap(scores, "leep", tmp_path / "ours.png")
    monkeypatch.setattr(scores_figure, "_draw_cells", _imshow_floats)
    assert ours.read_bytes() == scores_figure.plot_heatmap(scores, "leep", tmp_path / "theirs.png").read_bytes()
