"""The report reads a plan's sample-overlap warnings back to flag the edges they name."""
from transfergraph.planner.report.leak_notes import leaky_edge

WARNINGS = [
    "sample overlap (leakage): source 'ext_all' was trained on 100% of target 'high' (same samples); 100% of target "
    "'low' (same samples); its scores ...",
    "sample overlap (leakage): source 'low.cnn' (node 'low') was trained on 12% of target 'mixed_rot' (same base "
    "images, shifted); its scores ...",
    "the source set, grouping and curriculum use 1 flagged leep score(s) of 9 edges (targets 'high')",
]
PLAN = {"warnings": WARNINGS}


def test_a_warning_names_the_source_or_its_node_and_the_target():
    assert leaky_edge(PLAN, "ext_all", "high") and leaky_edge(PLAN, "ext_all", "low")
    assert leaky_edge(PLAN, "low", "mixed_rot")


def test_other_pairs_and_other_warnings_are_not_leaky():
    assert not leaky_edge(PLAN, "ext_all", "mixed_rot")
    assert not leaky_edge(PLAN, "high", "low")
    assert not leaky_edge(PLAN, "low.cn", "mixed_rot")
    assert not leaky_edge({"warnings": []}, "ext_all", "high") and not leaky_edge({}, "ext_all", "high")


def test_the_decisions_section_flags_a_recommendation_whose_edge_a_warning_names():
    from transfergraph.planner.report.explain import _sources_section
    from transfergraph.planner.report.leak_notes import LEAK_NOTE

    plan = {"sources": {"high": [["ext_all", 0.97], ["low", 0.18]], "mixed_rot": [["ext_all", 0.65]],
                        "other": [["low", 0.6]]}, "warnings": WARNINGS}
    lines = {line.split("**")[1]: line for line in _sources_section(plan) if line.startswith("- **")}
    assert LEAK_NOTE in lines["high"]
    assert LEAK_NOTE not in lines["mixed_rot"] and LEAK_NOTE not in lines["other"]


