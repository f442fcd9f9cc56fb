"""`transfergraph run` into a folder that holds another config's run says so before replacing it."""
import json

from transfergraph.jobs.out_owner import other_run_in


def test_another_configs_run_is_named_and_the_same_or_none_is_not(tmp_path):
    assert other_run_in("tiny", tmp_path) is None  # no run.json
    (tmp_path / "run.json").write_text(json.dumps({"summary": {"name": "demo"}}))
    assert other_run_in("tiny", tmp_path) == "demo"
    assert other_run_in("demo", tmp_path) is None
    (tmp_path / "run.json").write_text("{broken")
    assert other_run_in("tiny", tmp_path) is None


def test_run_logs_the_warning_before_replacing(tmp_path, monkeypatch):
    from transfergraph.config import parse_config
    from transfergraph.jobs import run as run_module

    (tmp_path / "run.json").write_text(json.dumps({"summary": {"name": "demo"}}))
    config = parse_config({"name": "tiny", "data": {"dataset": "digits"},
                           "tasks": [{"name": "a", "classes": [0, 1]}, {"name": "b", "classes": [2, 3]}]})
    logged = []

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(run_module, "prepare_out_dir", stop)  # nothing past the check runs
    try:
        run_module.run_job(config, tmp_path, log=logged.append)
    except Stop:
        pass
    assert logged and logged[0].startswith(f"warning: --out {tmp_path} holds a run of config 'demo'")


def test_a_replan_counts_as_a_run_of_the_config_it_inherited(tmp_path, scores_csv):
    """`plan` into a run's own folder records the run's config, so `validate CONFIG --out` there still works;
    a re-plan whose config is unknown is refused with a message that says so."""
    import shutil

    import pytest
    from typer.testing import CliRunner

    from transfergraph.cli import app
    from transfergraph.config import parse_config
    from transfergraph.jobs.out_owner import run_config_name
    from transfergraph.jobs.validate import check_out_belongs_to
    from transfergraph.planner.common.exceptions import ConfigError

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(scores_csv, run / "scores.csv")
    first = tmp_path / "first"  # a run folder holds the run's plan.json, whose options the re-plan inherits
    assert CliRunner().invoke(app, ["plan", str(scores_csv), "--out", str(first)]).exit_code == 0
    shutil.copy(first / "plan.json", run / "plan.json")
    (run / "run.json").write_text(json.dumps({"summary": {"name": "tiny"}}))
    result = CliRunner().invoke(app, ["plan", str(run / "scores.csv"), "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert run_config_name(run) == (True, "tiny")
    report = (run / "report.md").read_text()  # said beside the run's summary, not after the advice
    said = "- options inherited from the run of config: tiny"
    assert said in report and report.index(said) < report.index("## What to do next")
    assert "scores read from the table re-planned (nothing scored; planned in" in report  # no scoring time claimed
    from transfergraph.planner.report.document import _summary_lines

    scores = __import__("pandas").read_csv(run / "scores.csv")
    line = _summary_lines(scores, None, "leep", {"executor": "local"}, 3.0)[0]
    assert f"{len(scores)} scores in 3.0 s (" in line  # a run's own line: one space, its scoring time
    config = parse_config({"name": "tiny", "data": {"dataset": "digits"},
                           "tasks": [{"name": "a", "classes": [0, 1]}, {"name": "b", "classes": [2, 3]}]})
    check_out_belongs_to(config, run)  # the re-plan belongs to tiny's run: no error
    with pytest.raises(ConfigError, match="holds a run of config 'tiny'"):
        check_out_belongs_to(config.model_copy(update={"name": "other"}), run)
    elsewhere = tmp_path / "elsewhere"  # a score table outside any run folder: the config is unknown
    elsewhere.mkdir()
    shutil.copy(scores_csv, elsewhere / "scores.csv")
    assert CliRunner().invoke(app, ["plan", str(elsewhere / "scores.csv"), "--out", str(elsewhere)]).exit_code == 0
    assert run_config_name(elsewhere) == (True, None)
    with pytest.raises(ConfigError, match="re-plan whose config is unknown"):
        check_out_belongs_to(config, elsewhere)
    assert "config: None" not in (elsewhere / "report.md").read_text()
    legacy = tmp_path / "legacy"  # a re-plan written before 'config' was recorded: unknown too
    legacy.mkdir()
    (legacy / "run.json").write_text(json.dumps({"summary": {"name": "re-plan of x.csv (options: defaults)"}}))
    assert run_config_name(legacy) == (True, None)
    with pytest.raises(ConfigError, match="re-plan whose config is unknown"):
        check_out_belongs_to(config, legacy)
    (legacy / "run.json").write_text(json.dumps({"summary": {"executor": "local"}}))  # names nothing: no check
    check_out_belongs_to(config, legacy)


def test_a_re_plan_keeps_how_the_run_scored_in_its_report(tmp_path, scores_csv):
    """A re-plan of a run's folder says which executor computed the scores and in how long (the run's timing is
    not replaced by the re-plan's), and a re-plan of that re-plan keeps the first run's."""
    import shutil

    from typer.testing import CliRunner

    from transfergraph.cli import app
    from transfergraph.jobs.out_owner import scored_by

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(scores_csv, run / "scores.csv")
    (run / "run.json").write_text(json.dumps({"summary": {"name": "tiny", "executor": "local (2 workers)"},
                                              "seconds": 12.34}))
    assert scored_by(run) == "local (2 workers), 12.3 s"
    for _ in range(2):
        assert CliRunner().invoke(app, ["plan", str(run / "scores.csv"), "--out", str(run)]).exit_code == 0
        assert "- scores computed by the run re-planned from: local (2 workers), 12.3 s" in (run / "report.md").read_text()
    assert scored_by(tmp_path / "none") is None
