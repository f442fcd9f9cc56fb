"""A new `transfergraph run` into a folder that holds results measured on its previous run (by `group`,
`validate`, `validate --decisions`) moves them to OUT/previous_measurements and says so: its report never shows
them as this run's, and nothing is deleted."""
import json

from transfergraph.jobs.measured_files import SET_ASIDE, set_aside_measured


def _measured_folder(path):
    path.mkdir()
    plan = {"groups": [["a", "b"]], "measured_partition": {"k2": {"groups": [["a"], ["b"]]}}, "train_alone": [],
            "evidence": {"groups": {"level": "measured"}}}
    (path / "plan.json").write_text(json.dumps(plan))
    for name in ("decisions.md", "cotrain.md", "cotrain_gains.csv", "validation.md", "grouping_k2.png",
                 "curriculum_naive_acc.png"):
        (path / name).write_text(name)
    for name in ("scores.csv", "curriculum.png", "groups.png", "report.md"):  # the run's own outputs stay
        (path / name).write_text(name)
    return path


def test_measured_results_are_moved_aside_not_deleted(tmp_path):
    out = _measured_folder(tmp_path / "out")
    aside, moved = set_aside_measured(out)
    assert aside == out / SET_ASIDE
    assert sorted(p.name for p in aside.iterdir()) == sorted(
        ["plan.json", "decisions.md", "cotrain.md", "cotrain_gains.csv", "validation.md", "grouping_k2.png",
         "curriculum_naive_acc.png", "groups.png", "report.md"])  # the last two copied: the run rewrites them
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["curriculum.png", "groups.png", "report.md",
                                                                     "scores.csv"]
    assert "plan.json measured_partition" in moved and "decisions.md" in moved
    assert set_aside_measured(out) == (None, [])  # nothing left to move: the earlier set stays where it went


def test_a_plain_run_folder_moves_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text(json.dumps({"groups": [["a", "b"]], "evidence": {"groups": {"level": "proxy only"}}}))
    assert set_aside_measured(out) == (None, [])
    assert (out / "plan.json").is_file()


def test_run_into_a_measured_folder_says_where_its_results_went(tmp_path):
    from transfergraph.config import load_config
    from transfergraph.jobs.run import run_job

    out = _measured_folder(tmp_path / "out")
    (out / "run.json").write_text(json.dumps({"summary": {"name": "tiny"}}))
    config = load_config("configs/tiny.yaml")
    config = config.model_copy(update={"tasks": config.tasks[:2]})
    logged = []
    run_job(config, out, progress=False, log=logged.append)
    said = [m for m in logged if m.startswith("warning:") and SET_ASIDE in m]
    assert len(said) == 1 and "decisions.md" in said[0]
    report = (out / "report.md").read_text()
    plan = json.loads((out / "plan.json").read_text())
    # the moved files' text (each holds its own name) is no section of the new report
    assert "\ndecisions.md\n" not in report and "\nvalidation.md\n" not in report
    assert "measured_partition" not in plan and "train_alone" not in plan
    assert (out / SET_ASIDE / "decisions.md").is_file()
    assert (out / SET_ASIDE / "report.md").read_text() == "report.md"  # the earlier report, as it was
    assert any(SET_ASIDE in w for w in plan["warnings"])  # the new plan (and its report's count) says where they went


def test_every_file_group_and_validate_write_is_set_aside_and_earlier_sets_are_kept(tmp_path):
    from fnmatch import fnmatch

    from transfergraph.jobs.group import FULL_FILES, SUBSET_FILES
    from transfergraph.jobs.measured_files import MEASURED_FILES

    names = [*FULL_FILES.values(), *SUBSET_FILES.values(), "validation.csv", "correlations.csv", "regret.csv",
             "validation.md", "validation_scatter_retrain_head.png", "validation_levels_leep.png"]
    assert [n for n in names if not any(fnmatch(n, g) for g in MEASURED_FILES)] == []
    out = _measured_folder(tmp_path / "out")
    set_aside_measured(out)
    (out / "decisions.md").write_text("second")
    aside, _ = set_aside_measured(out)
    assert (out / f"{SET_ASIDE}.1" / "decisions.md").read_text() == "decisions.md"  # the first set, renamed
    assert (aside / "decisions.md").read_text() == "second"


def test_an_odd_plan_json_never_breaks_the_folder_checks(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text(json.dumps({"evidence": None, "groups": [["a"]]}))
    assert set_aside_measured(out) == (None, [])
    (out / "plan.json").write_text(json.dumps({"evidence": ["x"], "measured_partition": {"k2": {}}}))
    assert set_aside_measured(out)[1] == ["plan.json measured_partition"]
