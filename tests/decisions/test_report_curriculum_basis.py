"""The report says what each forgetting objective's order is computed from (similarity both ways or directed edges)."""
from __future__ import annotations

import pytest

from decisions_helpers import random_graph
from transfergraph.planner.decisions import build_plan
from transfergraph.planner.report.explain import explain_plan


@pytest.mark.parametrize("objective, both_ways", [("periphery_core", True), ("max_dissimilar_path", True),
                                                  ("final_serves_all", False), ("dissimilar_chain", False)])
def test_curriculum_section_names_the_basis_of_its_order(objective, both_ways):
    md = explain_plan(build_plan(random_graph(4, 1), curriculum_objective=objective).to_json())
    assert ("similarity of normalized leep in both directions" in md) is both_ways
    assert ("task->task edges of normalized leep, each in its own direction" in md) is (not both_ways)
    assert "a proxy of forgetting, not a measurement" in md and "transfergraph validate --decisions" in md
