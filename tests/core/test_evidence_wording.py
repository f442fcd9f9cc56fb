"""report.md's evidence lines read as English: the level is not repeated and no stray punctuation is left
where it was cut from the note."""
from __future__ import annotations

from transfergraph.planner.decisions.trust import CURRICULUM_EVIDENCE, EVIDENCE
from transfergraph.planner.report.explain import _evidence_text


def test_level_cut_from_note_leaves_no_stray_comma():
    for note in (EVIDENCE["groups"], CURRICULUM_EVIDENCE["dissimilar_chain"], EVIDENCE["sources"]):
        text = _evidence_text({"level": "proxy only", "note": note})
        assert text.startswith("proxy only — ") and not text.startswith(("proxy only — ,", "proxy only — :")), text
        assert "proxy only — proxy only" not in text


def test_groups_section_names_a_non_default_affinity():
    from transfergraph.planner.report.explain import _groups_section

    obj = {"value": 0.2, "n_groups": 2, "centering": "a(u->t) = w(u->t) - median_{u' != t} w(u'->t)",
           "status": "optimal", "optimal": True, "method": "dp", "seconds": 0.0, "group_values": [0.0, 0.2]}
    plan = {"groups": [["a"], ["b", "c"]], "objectives": {"groups": {**obj, "affinity": "mutual"}}}
    line = next(x for x in _groups_section(plan) if x.startswith("Affinity:"))
    assert "`mutual`" in line and "smaller of the two" in line and line.endswith(").")
    plan["objectives"]["groups"]["affinity"] = "transfer"  # the default reads as before
    line = next(x for x in _groups_section(plan) if x.startswith("Affinity:"))
    assert line.startswith("Affinity: a(u->t) = w(u->t) - median")
