"""A checkpoint moved away during a run fails only its source's pairs, with an error that says what happened;
put back, the same cache scores them and keeps the others."""
import os

from test_checkpoint_sources_lazy import _checkpoints, _sources, _tasks
from transfergraph.planner import score
from transfergraph.planner.inputs.model_ref import clear_loaded


def test_a_checkpoint_moved_away_fails_its_pairs_only_and_resumes(tmp_path):
    tasks = _tasks()
    paths = _checkpoints(tmp_path, n=2)
    sources = _sources(paths, tasks)
    os.replace(paths[1], tmp_path / "elsewhere.pt")
    clear_loaded()  # as in a worker process that has not rebuilt m1 yet
    table = score(sources, tasks, metrics=("leep",), cache=tmp_path / "cache", progress=False)
    bad = table[table["source"] == "m1"]
    assert (bad["status"] == "failed").all() and (table[table["source"] == "m0"]["status"] == "ok").all()
    assert bad["error"].str.startswith("source 'm1' could not be loaded: ").all()  # not called a forward failure
    assert bad["error"].str.contains("m1.pt").all() and bad["error"].str.contains("leave a running job.s checkpoints in place").all()
    os.replace(tmp_path / "elsewhere.pt", paths[1])
    again = score(sources, tasks, metrics=("leep",), cache=tmp_path / "cache", progress=False)
    assert (again["status"] == "ok").all()
    assert again[again["source"] == "m0"]["cached"].all() and not again[again["source"] == "m1"]["cached"].any()
