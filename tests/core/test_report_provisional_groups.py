"""Groups measured by `transfergraph group` on networks at chance or on one seed read as provisional in the
report's first screen, its groups section and the warning counts."""
from transfergraph.planner.report.explain import _groups_section
from transfergraph.planner.report.next_steps import next_steps_lines

WARNINGS = [
    "co-training networks at chance for tasks ['a']: each single-task network's test loss ...",
    "co-training gains measured with 1 seed: no standard error, so no gain is resolved beyond noise ...",
    "sharing may hurt task 'c' (provisional): every measured partner raised its test loss ...",
]


def _plan(provisional: bool) -> dict:
    return {"sources": {"a": [["ext", 0.9]], "b": [["ext", 0.8]], "c": [["ext", 0.7]]},
            "groups": [["a", "b"], ["c"]], "train_alone": [], "train_alone_provisional": ["c"] if provisional else [],
            "warnings": WARNINGS if provisional else [],
            "evidence": {"groups": {"level": "measured", "provisional": provisional},
                         "curriculum": {"level": "proxy only"}},
            "objectives": {"groups": {"value": 0.1, "group_values": [0.1, 0.0], "n_groups": 2, "affinity": "cotrain_gain",
                                      "centering": "none", "objective": "o", "status": "optimal", "method": "dp",
                                      "seconds": 0.0, "optimal": True, "bound": 0.1, "gap": 0.0}}}


def test_provisional_measured_groups_say_so():
    steps = next_steps_lines(_plan(True))
    assert "**Groups**: measured (provisional: see its caveats)" in steps[4]
    assert "1 co-training at chance" in steps[3] and "1 co-training on one seed" in steps[3]
    assert "1 train alone (provisional)" in steps[3] and "other" not in steps[3]
    text = "\n".join(_groups_section(_plan(True)))
    assert "**c** alone: sharing may hurt it" in text and "provisional" in text


def test_resolved_measured_groups_are_not_called_provisional():
    steps = next_steps_lines(_plan(False))
    assert "**Groups**: measured;" in steps[4] and "provisional" not in steps[4]
    assert "sharing may hurt" not in "\n".join(_groups_section(_plan(False)))
