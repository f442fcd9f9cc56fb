"""A real two-node Ray cluster (``ray start``, token auth on, head 127.0.0.1 + worker 127.0.0.2):
fail-fast connection errors, Ctrl-C, and a worker node whose raylet is SIGKILLed mid-run.

Runs inside the loopback-only network namespace (scripts/loopback.sh), like the rest of the suite.
One cluster serves the whole module (starting it is most of the cost); the node-loss test kills
its worker node, so it runs last.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cluster_support import TwoNodeCluster

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXE = Path(sys.executable).parent / "transfergraph"
pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("TG_IN_NETNS"), reason="starts a Ray cluster: run inside scripts/loopback.sh")]


def _config(tmp: Path, n_tasks: int = 3) -> Path:
    tasks = [{"name": f"t{i}", "classes": [i, i + 1, i + 2], "n_per_class": 40, "shift": {"rotate": 15 * i}}
             for i in range(n_tasks)]
    cfg = {"name": "cluster-test", "seed": 1, "data": {"dataset": "digits", "image_size": 8}, "tasks": tasks,
           "models": {"training": {"epochs": 1, "width": 4, "feature_dim": 8}, "model_dir": str(tmp / "models"),
                      "external": [{"name": "ext_a"}]},
           "scoring": {"metrics": ["leep", "nleep", "logme"], "executor": "ray"}, "plan": {"metric": "leep"}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _env(home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH") and k != "RAY_ADDRESS"}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), **extra)
    return env


def _cli(tmp: Path, address: str, env: dict, command: str = "run") -> subprocess.Popen:
    def default_sigint() -> None:  # as in a terminal, even when pytest runs in the background
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return subprocess.Popen([str(EXE), command, str(_config(tmp)), "--out", str(tmp / "out"), "--address", address],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)


def _fails_fast(tmp: Path, address: str, env: dict, *needles: str, command: str = "run") -> str:
    start = time.time()
    proc = _cli(tmp, address, env, command)
    _, err = proc.communicate(timeout=60)
    took = time.time() - start
    assert proc.returncode == 2, err
    assert took < 15, f"took {took:.1f} s"
    for needle in needles:
        assert needle in err, err
    assert "Traceback" not in err and "InvalidAuthToken" not in err and "gcs_client" not in err, err
    assert not (tmp / "models").exists(), "models were trained before the connection was checked"
    return err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _interrupt_within_2s(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    start = time.time()
    _, err = proc.communicate(timeout=30)
    took = time.time() - start
    assert proc.returncode == 130, err
    assert took < 2.0, f"Ctrl-C took {took:.2f} s to stop the run"
    assert "interrupted (Ctrl-C)" in err and "Traceback" not in err, err
    return err


def test_no_token_fails_fast(tmp_path):
    _fails_fast(tmp_path, "127.0.0.1:6390", _env(tmp_path), "no Ray authentication token", "ray get-auth-token")


def test_validate_without_a_token_fails_fast_before_training(tmp_path):
    _fails_fast(tmp_path, "127.0.0.1:6390", _env(tmp_path), "no Ray authentication token", command="validate")


def test_nothing_listening_fails_fast(tmp_path):
    port = _free_port()
    _fails_fast(tmp_path, f"127.0.0.1:{port}", _env(tmp_path, RAY_AUTH_TOKEN="x" * 32),
                f"Nothing is listening at 127.0.0.1:{port}")


def test_ctrl_c_while_connecting_stops_within_2s(tmp_path):
    silent = socket.socket()  # accepts connections, never answers: the pre-flight waits on it
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    accepted: list = []

    def accept() -> None:
        try:
            while True:
                accepted.append(silent.accept())
        except OSError:  # closed at the end of the test
            pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        proc = _cli(tmp_path, f"127.0.0.1:{silent.getsockname()[1]}", _env(tmp_path, RAY_AUTH_TOKEN="x" * 32))
        deadline = time.time() + 30
        while not accepted and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert accepted and proc.poll() is None, "the run never reached the connection step"
        time.sleep(0.5)  # well inside the GCS request
        _interrupt_within_2s(proc)
    finally:
        silent.close()


@pytest.fixture(scope="module")
def cluster():
    with TwoNodeCluster(port=6390) as c:
        yield c


def test_wrong_token_fails_fast(cluster, tmp_path):
    _fails_fast(tmp_path, cluster.address, _env(tmp_path, RAY_AUTH_TOKEN="0" * 32),
                "rejected this machine's authentication token", "$RAY_AUTH_TOKEN")


def test_version_mismatch_fails_fast(cluster, tmp_path):
    # What a head node running another Ray version stores in its GCS, written for the test and restored.
    code = ("import os, sys, json; os.environ['RAY_AUTH_MODE'] = 'token'\n"
            "from ray._raylet import GcsClient\n"
            "g = GcsClient(address=sys.argv[1]); k, ns = b'CLUSTER_METADATA', b'cluster'\n"
            "meta = json.loads(g.internal_kv_get(k, namespace=ns, timeout=5))\n"
            "meta['ray_version'] = sys.argv[2] or meta['ray_version']\n"
            "g.internal_kv_put(k, json.dumps(meta).encode(), True, namespace=ns, timeout=5)\n")
    env = cluster.driver_env()
    subprocess.run([sys.executable, "-c", code, cluster.address, "2.31.0"], env=env, check=True, timeout=60)
    try:
        err = _fails_fast(tmp_path, cluster.address, _env(tmp_path, RAY_AUTH_TOKEN=cluster.token),
                          "Version mismatch", "Ray 2.31.0")
        import ray

        assert f"this machine has Ray {ray.__version__}" in err
    finally:
        import ray

        subprocess.run([sys.executable, "-c", code, cluster.address, ray.__version__], env=env, check=True,
                       timeout=60)


def test_ctrl_c_while_scoring_stops_within_2s(cluster, tmp_path):
    proc = _cli(tmp_path, cluster.address, _env(tmp_path, RAY_AUTH_TOKEN=cluster.token))
    seen = bytearray()

    def read() -> None:  # the progress bar ends its updates with \r, not \n: read raw bytes
        while chunk := os.read(proc.stderr.fileno(), 4096):
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline and b"scoring:" not in seen:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before scoring started: " + seen.decode(errors="replace")
    time.sleep(1.0)  # tasks submitted, workers starting on both nodes
    proc.send_signal(signal.SIGINT)
    start = time.time()
    proc.wait(timeout=30)
    took = time.time() - start
    reader.join(5)
    err = seen.decode(errors="replace")
    assert proc.returncode == 130, err
    assert took < 2.0, f"Ctrl-C took {took:.2f} s to stop the run"
    assert "interrupted (Ctrl-C)" in err and "Traceback" not in err, err
    assert "Ray's own log lines go to" in err  # quiet: Ray's lines are in the log file, not here
    for noise in ("Token authentication", "Connecting to existing Ray cluster", "Pushing file package",
                  "Failed to determine local IP"):
        assert noise not in err, err
    assert "Pushing file package" in (tmp_path / "out" / "ray.log").read_text()


def test_sigkilled_worker_node_mid_run_every_pair_ok_and_table_equals_local(cluster, tmp_path):
    from transfergraph.planner.scoring import score

    sys.path.insert(0, str(HERE.parent / "scoring"))
    from node_loss_sources import sources_and_tasks

    out = tmp_path / "scores.csv"
    proc = subprocess.run([sys.executable, str(HERE / "node_loss_job.py"), cluster.address,
                           str(cluster.worker_raylet_pid()), str(out), str(tmp_path / "ray.log")],
                          env=cluster.driver_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["nodes_at_start"] == 2 and stats["killed"], stats
    assert stats["retries"] >= 1, stats  # the kill hit a computing job: it was resubmitted
    assert set(stats["errors"]) <= {"NodeDiedError", "LocalRayletDiedError", "WorkerCrashedError",
                                    "ObjectLostError", "ObjectFetchTimedOutError", "OwnerDiedError"}, stats
    got = pd.read_csv(out, keep_default_na=False, na_values={"score": [""], "normalized": [""]})
    sources, tasks = sources_and_tasks(sleep=0.0)  # the sleep changes the time taken, not the scores
    ref = score(sources, tasks, metrics=("leep", "h_score"), progress=False)
    boom = got.source == "boom"
    assert (got[~boom].status == "ok").all(), got[got.status != "ok"].error.tolist()
    assert (got[boom].status == "failed").all() and got[boom].error.str.contains("boom in forward").all()
    assert len(got) == len(ref)
    for col in ("source", "target", "metric", "status"):
        assert got[col].tolist() == ref[col].astype(str).tolist()
    assert np.array_equal(got.score.to_numpy(), ref.score.to_numpy(), equal_nan=True)  # bitwise
    assert np.array_equal(got.normalized.to_numpy(), ref.normalized.to_numpy(), equal_nan=True)
