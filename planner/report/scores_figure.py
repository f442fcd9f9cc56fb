"""The score heatmap: normalized score of every (source node, target), ordered by hierarchical clustering.

Rows are named like the graph's nodes (a source's task when it has one, else the model's name;
``node (model)`` when several models stand for one node), so the heatmap and ``graph.graphml``
speak of the same things. Rows are reordered by average-linkage clustering
(``scipy.cluster.hierarchy``) so that sources that behave alike sit together, and each target takes
the place of its own task's row (others follow, clustered), so families show as diagonal blocks; cells
carry their value when the matrix is small enough to read them. At zoo size (a hundred targets and
more sources) the figure stays within :data:`MAX_SIDE` inches and shows every k-th row and column
label (:func:`thinned_ticks`, at most :data:`MAX_LABELS` per axis, the clustered order kept): the
figure shows the block structure, ``topk.csv`` and ``scores.csv`` hold every name and value.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from transfergraph.planner.report._mpl import new_figure, save_png

__all__ = ["score_matrix", "plot_heatmap", "thinned_ticks", "ANNOTATE_MAX_CELLS", "MAX_LABELS", "MAX_SIDE"]

#: cells are annotated with their value up to this many cells (e.g. 15 x 15)
ANNOTATE_MAX_CELLS = 225
#: at most this many tick labels per axis; beyond, every k-th label is shown, k = ceil(n / MAX_LABELS)
MAX_LABELS = 50
#: longest side of the cell area in inches: cells shrink below 0.2 in beyond 80 rows or columns
MAX_SIDE = 16.0


def thinned_ticks(labels, max_labels: int = MAX_LABELS) -> tuple[list[int], list[str]]:
    """Positions and texts of the tick labels to draw: all of them up to ``max_labels``, else every
    k-th (k = ceil(n / max_labels)), starting with the first."""
    labels = [str(x) for x in labels]
    step = max(1, -(-len(labels) // max_labels))
    pos = list(range(0, len(labels), step))
    return pos, [labels[i] for i in pos]


def _row_labels(df: pd.DataFrame) -> dict[str, str]:
    node = np.where(df["source_task"].fillna("").astype(str) != "", df["source_task"].astype(str), df["source"])
    pairs = pd.DataFrame({"source": df["source"].astype(str), "node": node}).drop_duplicates()
    shared = pairs["node"].duplicated(keep=False)
    return {s: (f"{n} ({s})" if dup else n) for s, n, dup in zip(pairs["source"], pairs["node"], shared)}


def _leaf_order(M: np.ndarray) -> np.ndarray:
    """Row order of average-linkage clustering on the rows of ``M`` (missing values as 0)."""
    if M.shape[0] < 3:
        return np.arange(M.shape[0])
    from scipy.cluster.hierarchy import leaves_list, linkage

    X = np.nan_to_num(M, nan=0.0)
    return leaves_list(linkage(X, method="average", metric="euclidean", optimal_ordering=True))


def score_matrix(scores: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Normalized ``metric`` scores of ok pairs, rows = source nodes, columns = targets, clustered order.

    Returns an empty frame when no pair of ``metric`` is ok.
    """
    df = scores[(scores["metric"] == metric) & (scores["status"] == "ok")]
    if df.empty:
        return pd.DataFrame()
    labels = _row_labels(df)
    df = df.assign(row=df["source"].astype(str).map(labels), target=df["target"].astype(str))
    mat = df.pivot_table(index="row", columns="target", values="normalized", aggfunc="first", dropna=False)
    M = mat.to_numpy(dtype=float)
    mat = mat.iloc[_leaf_order(M)]
    # a target that is also a row (a task's own model) takes that row's place: blocks sit on the diagonal
    row_of = {}
    for i, label in enumerate(mat.index):
        row_of.setdefault(str(label).split(" (")[0], i)
    own = _leaf_order(M.T)
    rank = {c: (row_of.get(str(c), len(mat) + k), k) for k, c in enumerate(mat.columns[own])}
    return mat[sorted(mat.columns, key=rank.__getitem__)]


def _draw_cells(ax, M: np.ndarray, *, vmax: float):  # noqa: ANN001, ANN202 - matplotlib is imported lazily
    """Draw ``M`` (NaN: blank) in viridis over [0, ``vmax``], one cell per value; return the mappable of
    the colorbar.

    The picture is that of ``imshow(M, cmap="viridis", interpolation="nearest")`` (the PNG is byte for
    byte the same), drawn with less memory: matplotlib resamples a float image to the figure's pixels
    as float64 and colours every pixel (peak ~0.14 GB for the 100 x 100 heatmap, 1,816 x 1,712 image
    pixels; ~0.08 GB this way, and 0.13 -> 0.05 GB at 1,000 x 300). Here each cell's colour is
    taken once (the colormap's bytes), the image holds the index of its colour in the palette of the
    colours present (uint8, or uint16 past 256 colours), and a listed colormap of that palette with
    ``NoNorm`` colours the resampled indices: entry c of the palette is (c + 0.5) / 255 (1 for 255),
    which matplotlib's ``int(255 x)`` turns back into c. Blank cells stay masked, as before.
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, NoNorm, Normalize

    norm, cmap = Normalize(vmin=0.0, vmax=vmax), colormaps["viridis"]
    values = np.ma.masked_invalid(M)
    rgba = cmap(norm(values), bytes=True).reshape(-1, 4)
    palette, index = np.unique(rgba, axis=0, return_inverse=True)
    index = index.reshape(M.shape).astype(np.uint8 if len(palette) <= 256 else np.uint16)
    listed = ListedColormap(np.where(palette == 255, 1.0, (palette + 0.5) / 255.0)).with_extremes(bad=(0, 0, 0, 0))
    ax.imshow(np.ma.masked_array(index, np.ma.getmaskarray(values)), aspect="auto", cmap=listed, norm=NoNorm(),
              interpolation="nearest", interpolation_stage="data")
    return ScalarMappable(norm=norm, cmap=cmap)


def plot_heatmap(scores: pd.DataFrame, metric: str, path: str | os.PathLike) -> Path | None:
    """Draw :func:`score_matrix` to ``path``; returns None (and writes nothing) when it is empty."""
    mat = score_matrix(scores, metric)
    if mat.empty:
        return None
    h, w = mat.shape
    cell = 0.42 if h * w <= ANNOTATE_MAX_CELLS else min(0.2, MAX_SIDE / max(h, w))
    (xpos, xlab), (ypos, ylab) = thinned_ticks(mat.columns), thinned_ticks(mat.index)
    longest = max(len(x) for x in xlab + ylab)
    margin = 0.5 + 0.065 * longest
    fig = new_figure(cell * w + margin + 1.4, cell * h + margin + 0.8)
    ax = fig.add_subplot(1, 1, 1)
    M = mat.to_numpy(dtype=float)
    im = _draw_cells(ax, M, vmax=max(1.0, np.nanmax(M)))
    size = 7 if max(h, w) <= 40 else 5
    ax.set_xticks(xpos, xlab, rotation=90, fontsize=size)
    ax.set_yticks(ypos, ylab, fontsize=size)
    if h * w <= ANNOTATE_MAX_CELLS:
        for (i, j), v in np.ndenumerate(M):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="black" if v > 0.6 else "white")
    thinned = len(xpos) < w or len(ypos) < h
    ax.set_xlabel(f"target task ({w}" + (f"; 1 label in {xpos[1] - xpos[0]} shown)" if len(xpos) < w else ")"))
    ax.set_ylabel(f"source (graph node) ({h}" + (f"; 1 label in {ypos[1] - ypos[0]} shown)" if len(ypos) < h else ")"))
    ax.set_title(f"normalized {metric}: 0 = label prior, 1 = perfect\n(rows clustered, targets aligned with their own row; blank = not scored)"
                 + ("\nlabels thinned: every name and value in scores.csv, each target's best sources in topk.csv"
                    if thinned else ""), fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8 if h > 8 else 1.0, label=f"normalized {metric}")
    return save_png(fig, path)
