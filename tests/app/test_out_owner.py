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
