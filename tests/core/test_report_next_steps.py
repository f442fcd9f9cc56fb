"""The report's first screen says in three lines what to do next."""
from transfergraph.planner.report.next_steps import next_steps_lines

PLAN = {"sources": {"b": [["a", 0.9], ["ext", 0.5]], "a": [["ext", 0.7]], "c": []},
        "source_set": {"chosen": ["ext"], "budget": 1},
        "warnings": ["sample overlap (leakage): source 'x' ...", "source 'a.cnn' is near chance on its own task ...",
                     "sample overlap (leakage): source 'y' ..."],
        "evidence": {"groups": {"level": "proxy only"}, "curriculum": {"level": "proxy only"}}}


def test_three_lines_name_the_action_the_warnings_and_the_evidence():
    lines = next_steps_lines(PLAN)
    assert lines[0] == "## What to do next"
    steps = [line for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert len(steps) == 3
    assert "2 of 3 targets" in steps[0] and "`a` from `ext`" in steps[0] and "1 models" in steps[0]
    assert "3 warning(s)" in steps[1] and "2 leakage" in steps[1] and "1 weak source model" in steps[1]
    assert "proxy only" in steps[2] and "transfergraph group CONFIG" in steps[2]


def test_measured_evidence_is_named_instead_of_the_proxy_advice():
    plan = dict(PLAN, warnings=[], evidence={"groups": {"level": "measured"}, "curriculum": {"level": "proxy only"}})
    steps = next_steps_lines(plan)
    assert "No warnings" in steps[3] and "measured" in steps[4] and "transfergraph group" not in steps[4]


def test_a_plan_without_sources_has_no_next_steps():
    assert next_steps_lines({"sources": {}}) == []
