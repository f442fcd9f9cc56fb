"""The directed transferability graph: one node per task and per external model.

Edge ``s -> t`` carries the raw score of every metric scored (attribute named after the metric) and
``weight`` = the ``normalized`` score of the chosen metric. When several sources stand for the same
node (e.g. a task's own CNN and a model adapted to that task with ``adapted_as="task"``), the edge
keeps the source with the highest ``weight`` and names it in the ``source`` attribute.
"""
from __future__ import annotations

import math

import networkx as nx
import pandas as pd

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.graph.predicted import PREDICTED, measured_graph, predicted_edges

__all__ = ["build_graph", "SCORE_COLUMNS", "measured_graph", "predicted_edges"]

#: Columns of the score table that build_graph needs.
SCORE_COLUMNS = ("source", "source_task", "target", "metric", "score", "normalized", "status")


def _node_of(row) -> str:
    task = row["source_task"]
    if isinstance(task, str) and task:
        return task
    return str(row["source"])


def build_graph(scores: pd.DataFrame, *, metric: str = "leep") -> nx.DiGraph:
    """Build the transfer graph from a :func:`transfergraph.planner.score` table.

    Parameters
    ----------
    scores : pandas.DataFrame
        The score table (columns ``source, source_task, target, metric, score, normalized, status``).
    metric : str
        Metric whose ``normalized`` value becomes the edge ``weight``.

    Returns
    -------
    networkx.DiGraph
        ``graph.graph["metric"]`` names ``metric``. Nodes have ``kind`` = "task" (every target and every ``source_task``) or "model" (external
        sources), and ``sources``: the comma-separated source models that stand for the node. Edges run source node -> target for every ok pair of ``metric``, excluding
        self-edges; attributes: ``weight``, ``source``, the raw score of every metric scored
        for that source and target, and ``flag`` (only when the weight's score row has a non-empty
        ``flag``: the reason it is outside its metric's regime of validity). Rows with status
        "predicted" (``score(..., pairs_fraction=f)``) give an edge only where no measured row of
        that node and target exists; it carries ``predicted=True`` and ``predicted_sd``, and
        :func:`measured_graph` (what every decision reads) drops it.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"source": ["a.cnn", "ext"], "source_task": ["a", ""], "target": ["b", "b"],
    ...                    "metric": ["leep", "leep"], "score": [-0.5, -0.2], "normalized": [0.3, 0.7],
    ...                    "status": ["ok", "ok"]})
    >>> g = build_graph(df)
    >>> sorted(g.edges(data="weight"))
    [('a', 'b', 0.3), ('ext', 'b', 0.7)]
    >>> g.nodes["ext"]["kind"], g.nodes["a"]["kind"]
    ('model', 'task')
    """
    if not isinstance(scores, pd.DataFrame):
        raise InputError(f"scores of build_graph must be a pandas DataFrame from transfergraph.planner.score; got {type(scores).__name__}.")
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise InputError(f"scores of build_graph lacks columns {missing}; expected the table returned by transfergraph.planner.score.")
    metrics = sorted(scores["metric"].dropna().unique().tolist())
    if metric not in metrics:
        raise InputError(f"metric of build_graph must be one of the scored metrics {metrics}; got {metric!r}.")

    df = scores.copy()
    df["source_task"] = df["source_task"].fillna("").astype(str)
    df["node"] = df["source_task"].where(df["source_task"] != "", df["source"].astype(str))  # as _node_of, vectorized
    g = nx.DiGraph(metric=str(metric))  # graph attribute: kept by graphml, read back by `transfergraph plan`
    for t in sorted(set(df["target"].astype(str)) | {n for n in df["source_task"] if n}):
        g.add_node(t, kind="task")
    for name in sorted(set(df.loc[df["source_task"] == "", "source"].astype(str))):
        if name in g:
            raise InputError(f"scores of build_graph: external source {name!r} has the same name as a task.")
        g.add_node(name, kind="model")

    members = df.groupby("node")["source"].agg(lambda s: ",".join(sorted(set(map(str, s)))))
    for node, names in members.items():
        g.nodes[node]["sources"] = names  # which source models speak for this node (graphml: a string)
    usable = df[df["status"].isin(["ok", PREDICTED]) & (df["node"] != df["target"])]
    ok = usable[usable["status"] == "ok"]
    raw = ok.pivot_table(index=["source", "target"], columns="metric", values="score", aggfunc="first")
    # a measured row always beats a predicted one of the same node and target (pairs_fraction runs)
    chosen = usable[usable["metric"] == metric]
    chosen = chosen.assign(_predicted=chosen["status"] == PREDICTED).sort_values(
        ["node", "target", "_predicted", "normalized", "source"], ascending=[True, True, True, False, True])
    # the first row of each (node, target) group (sorted as groupby would), read column-wise: the
    # per-group loop over DataFrame rows took ~9 s at 100 targets x 120 sources
    best = chosen.drop_duplicates(["node", "target"], keep="first")
    n = len(best)
    flags = best["flag"].tolist() if "flag" in best.columns else [""] * n
    sds = best["predicted_sd"].tolist() if "predicted_sd" in best.columns else [None] * n
    keys = pd.MultiIndex.from_arrays([best["source"], best["target"]]) if n else None
    scored = raw.reindex(keys) if n else raw  # NaN where every raw score of the pair is missing
    metric_names = [str(m) for m in scored.columns]
    values = scored.to_numpy(dtype=float) if n else None
    for k, (node, target, source, weight, predicted) in enumerate(zip(
            best["node"], best["target"], best["source"], best["normalized"], best["_predicted"])):
        if weight is None or not math.isfinite(float(weight)):
            continue
        attrs = {"weight": float(weight), "source": str(source)}
        flag = flags[k]
        if isinstance(flag, str) and flag:
            attrs["flag"] = flag  # the weight's score is outside its metric's regime of validity
        if predicted:  # not scored: a prediction, never used by a decision (graph.predicted)
            attrs["predicted"] = True
            if sds[k] is not None and pd.notna(sds[k]):
                attrs["predicted_sd"] = float(sds[k])
        for m, value in zip(metric_names, values[k]):
            if not math.isnan(value):
                attrs[m] = float(value)
        g.add_edge(node, str(target), **attrs)
    return g
