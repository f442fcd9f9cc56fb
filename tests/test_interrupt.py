"""Ctrl-C during a real `transfergraph run` keeps finished pairs; the re-run completes the same table (issue 8)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "transfergraph"
COLS = ["source", "source_task", "target", "metric", "score", "normalized", "status"]


def _config(tmp: Path) -> Path:
    tasks = [{"name": f"t{i}", "classes": [i, i + 1, i + 2], "n_per_class": 60, "shift": {"rotate": 15 * i}}
             for i in range(5)]
    cfg = {"name": "interrupt", "seed": 1, "data": {"dataset": "digits", "image_size": 8}, "tasks": tasks,
           "models": {"training": {"epochs": 1, "width": 4, "feature_dim": 8}, "model_dir": str(tmp / "models"),
                      "external": [{"name": "ext_a"}, {"name": "ext_b", "classes": [0, 1, 2, 3]}]},
           "scoring": {"metrics": ["leep", "nleep", "logme"], "executor": "local"},
           "plan": {"metric": "leep"}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _rows(cache: Path) -> int:
    files = list(cache.glob("scores.v*.jsonl"))
    return sum(f.read_bytes().count(b"\n") for f in files)


def _default_sigint() -> None:
    # As in a terminal. A shell starts background jobs with SIGINT ignored and children inherit that
    # (so does a Python started there: it leaves an inherited SIG_IGN alone), so `make test &` would
    # otherwise test nothing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(config, out, **kw):
    return subprocess.Popen([str(EXE), "run", str(config), "--out", str(out), "--quiet"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interrupt")
    config = _config(tmp)
    proc = _run(config, tmp / "ref")
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    return config, pd.read_csv(tmp / "ref/scores.csv", keep_default_na=False)[COLS]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_resumes_to_the_same_table(tmp_path, sig, reference):
    config, expected = reference  # trained models are shared through the config's model_dir

    out = tmp_path / "interrupted"
    proc = _run(config, out)
    deadline = time.time() + 300
    while _rows(out / "cache") == 0 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Finished pairs are kept in the cache" in err and "run the same command again" in err
    assert "Traceback" not in err
    kept = _rows(out / "cache")
    assert kept >= 1
    assert not (out / "scores.csv").exists() or pd.read_csv(out / "scores.csv").shape[0] > 0  # never half-written

    again = _run(config, out)
    assert again.wait(timeout=600) == 0, again.stderr.read()
    got = pd.read_csv(out / "scores.csv", keep_default_na=False)[COLS]
    pd.testing.assert_frame_equal(got, expected)
