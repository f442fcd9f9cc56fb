"""Co-training affinity variants of the grouping decision."""
from __future__ import annotations

import networkx as nx
import pytest

from transfergraph.planner.decisions import solve_grouping
from transfergraph.planner.decisions.affinity import affinity_graph
from transfergraph.planner.common.exceptions import InputError


def _g():
    g = nx.DiGraph()
    g.add_nodes_from("abcd", kind="task")
    # a->b strong one way only; c<->d moderately both ways
    for u, v, w in [("a", "b", 0.9), ("b", "a", 0.0), ("c", "d", 0.5), ("d", "c", 0.5), ("a", "c", 0.1),
                    ("c", "a", 0.1), ("b", "d", 0.1), ("d", "b", 0.1)]:
        g.add_edge(u, v, weight=w)
    return g


def test_mutual_and_symmetric_weights():
    m = affinity_graph(_g(), "mutual")
    assert m.edges["a", "b"]["weight"] == m.edges["b", "a"]["weight"] == 0.0
    s = affinity_graph(_g(), "symmetric")
    assert s.edges["a", "b"]["weight"] == pytest.approx(0.45)
    assert affinity_graph(_g(), "transfer").edges["a", "b"]["weight"] == 0.9


def test_mutual_affinity_does_not_group_a_one_way_pair():
    mutual = solve_grouping(_g(), n_groups=3, centered=False, affinity="mutual")
    assert ["c", "d"] in mutual.solution and ["a", "b"] not in mutual.solution
    assert mutual.details["affinity"] == "mutual"


def test_unknown_affinity_is_an_input_error_naming_it():
    with pytest.raises(InputError, match="affinity"):
        solve_grouping(_g(), n_groups=2, affinity="co-training")
