"""build_graph: nodes, edges, attributes, self-edges and failed pairs (SPEC §2)."""
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.graph import build_graph


def _table():
    rows = []
    for source, source_task in [("a.cnn", "a"), ("b.cnn", "b"), ("ext", "")]:
        for target in ["a", "b", "c"]:
            for metric, base in [("leep", -1.0), ("nce", -0.8)]:
                raw = base + 0.1 * len(source) + 0.01 * ord(target[0])
                rows.append(dict(source=source, source_task=source_task, target=target, metric=metric,
                                 score=raw, normalized=0.5 + raw / 10, status="ok", error=""))
    df = pd.DataFrame(rows)
    # one failed pair: ext -> c on leep
    mask = (df.source == "ext") & (df.target == "c") & (df.metric == "leep")
    df.loc[mask, ["score", "normalized", "status", "error"]] = [np.nan, np.nan, "failed", "boom"]
    return df


def test_nodes_kinds_and_edges():
    g = build_graph(_table(), metric="leep")
    assert {n: d["kind"] for n, d in g.nodes(data=True)} == {"a": "task", "b": "task", "c": "task", "ext": "model"}
    # self-edges a->a, b->b excluded; failed ext->c absent
    assert sorted(g.edges) == [("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("ext", "a"), ("ext", "b")]


def test_edge_attributes_hold_every_metric_and_weight_is_normalized():
    df = _table()
    g = build_graph(df, metric="nce")
    row = df[(df.source == "a.cnn") & (df.target == "b")].set_index("metric")
    e = g.edges["a", "b"]
    assert e["weight"] == pytest.approx(row.loc["nce", "normalized"])
    assert e["leep"] == pytest.approx(row.loc["leep", "score"])
    assert e["nce"] == pytest.approx(row.loc["nce", "score"])
    assert e["source"] == "a.cnn"
    # with metric=nce the failed leep pair still yields an nce edge, with no leep attribute
    assert "leep" not in g.edges["ext", "c"] and "nce" in g.edges["ext", "c"]


def test_graphml_round_trip(tmp_path):
    g = build_graph(_table())
    nx.write_graphml(g, tmp_path / "g.graphml")
    h = nx.read_graphml(tmp_path / "g.graphml")
    assert sorted(h.edges) == sorted(g.edges)
    assert h.edges["a", "b"]["weight"] == pytest.approx(g.edges["a", "b"]["weight"])
    assert h.nodes["ext"]["kind"] == "model"


def test_two_sources_for_one_node_keep_the_best():
    df = _table()
    extra = df[df.source == "a.cnn"].copy()
    extra["source"] = "cnaps@a"
    extra["normalized"] = extra["normalized"] + 0.2
    g = build_graph(pd.concat([df, extra]), metric="leep")
    assert g.edges["a", "b"]["source"] == "cnaps@a"


@pytest.mark.parametrize("bad, match", [
    ("not a frame", "pandas DataFrame"),
    (pd.DataFrame({"source": ["x"]}), "lacks columns"),
])
def test_bad_input(bad, match):
    with pytest.raises(InputError, match=match):
        build_graph(bad)


def test_unknown_metric_names_scored_metrics():
    with pytest.raises(InputError, match=r"one of the scored metrics \['leep', 'nce'\]; got 'logme'"):
        build_graph(_table(), metric="logme")
