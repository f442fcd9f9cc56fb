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
    assert "2 of 3 targets" in steps[0] and "`a` from `ext`" in steps[0] and "keeps the 1 source(s) that" in steps[0]
    assert "3 warning(s)" in steps[1] and "2 leakage" in steps[1] and "1 weak source model" in steps[1]
    assert "proxy only" in steps[2] and "transfergraph group CONFIG" in steps[2]


def test_measured_evidence_is_named_instead_of_the_proxy_advice():
    plan = dict(PLAN, warnings=[], evidence={"groups": {"level": "measured"}, "curriculum": {"level": "proxy only"}})
    steps = next_steps_lines(plan)
    assert "No warnings" in steps[3] and "measured" in steps[4] and "transfergraph group" not in steps[4]


def test_a_plan_without_sources_has_no_next_steps():
    assert next_steps_lines({"sources": {}}) == []


def test_the_source_set_line_counts_the_chosen_models_not_the_budget():
    """A budget of 2 met by one source: the line says 1 model (of a budget of 2) and names it."""
    plan = dict(PLAN, source_set={"chosen": ["ext_all"], "budget": 2})
    first = next_steps_lines(plan)[2]
    assert "keeps the 1 source(s) of a budget of 2" in first and "`ext_all`" in first
    assert "the 2 models" not in first


LEAKY_PLAN = {
    "sources": {"a": [["ext_leaky", 0.99], ["backbone", 0.95]], "b": [["backbone", 0.9], ["a", 0.8]],
                "c": [["a", 0.7]]},
    "source_models": {"c": {"a": "cnaps@a"}},
    "source_set": {"chosen": ["backbone", "a"], "assignment": {"a": "backbone", "b": "backbone", "c": "a"},
                   "budget": 2},
    "warnings": ["sample overlap (leakage): source 'ext_leaky' was trained on 100% of target 'a' (same samples); "
                 "its scores ... before trusting this edge."],
}


def test_the_example_avoids_an_edge_a_leakage_warning_names_and_the_line_says_so():
    """The first target alphabetically ('a') has a leaky first source: the example is 'b' from 'backbone'."""
    first = next_steps_lines(LEAKY_PLAN)[2]
    assert "e.g. `b` from `backbone`" in first and "ext_leaky" not in first
    assert "a leakage warning names the first source of 1 target(s)" in first


def test_the_example_names_the_model_behind_a_task_node():
    plan = dict(LEAKY_PLAN, sources={"c": [["a", 0.7]]}, warnings=[])
    first = next_steps_lines(plan)[2]
    assert "e.g. `c` from `a` (model `cnaps@a`)" in first and "leakage" not in first


def test_a_measured_train_alone_warning_is_counted_by_its_kind():
    plan = dict(PLAN, warnings=["sharing hurts task 'high': every measured partner raised its test loss ..."])
    assert "(1 train alone)" in next_steps_lines(plan)[3]
    plan = dict(PLAN, warnings=["recommended sources restricted to external models only (sources_from); groups ..."])
    assert "(1 sources restricted)" in next_steps_lines(plan)[3]


def test_a_measured_source_ranking_is_named_instead_of_the_validate_advice():
    plan = dict(PLAN, evidence={**PLAN["evidence"], "sources": {"level": "measured on this data"}})
    third = next_steps_lines(plan)[4]
    assert "source ranking is measured on this data" in third and "checks the source ranking" not in third


def test_warning_kinds_are_not_guessed_from_a_common_word():
    """A degenerate-model warning mentions samples 'predicted as class 3': not a predicted-pairs warning."""
    plan = dict(PLAN, warnings=[
        "models.external[1] (m): the model loaded from m.pt gives predictions that carry no information about the "
        "labels on 30 samples of task 'all': LEEP ... (22 of 30 samples predicted as class 3). Its scores are "
        "meaningless: check its preprocess",
        "12 edges of the graph are predicted, not scored (pairs_fraction run); ..."])
    line = next_steps_lines(plan)[3]
    assert "1 degenerate model output" in line and "1 predicted pairs" in line


def test_without_task_edges_the_groups_line_says_they_carry_no_information():
    plan = dict(PLAN, warnings=["no task->task edges among tasks ['a', 'b']: the groups and the curriculum carry no "
                                "information (every order and grouping scores alike); ..."])
    third = next_steps_lines(plan)[4]
    assert "carry no information" in third and "models.per_task: true" in third
    assert "transfergraph group CONFIG" not in third
