"""A real two-node Ray cluster on one machine, started with ``ray start`` (as docs/cluster.md does).

Head on 127.0.0.1, worker node on 127.0.0.2 (both on ``lo``: run inside the loopback-only network
namespace, ``scripts/loopback.sh``), token authentication on (a fresh random token), a private
``RAY_TMPDIR`` and ports of its own. :meth:`TwoNodeCluster.down` ends every process of the cluster
with ``scripts/ray_down.sh`` (the teardown docs/cluster.md documents) and removes the temp dir.
Used by the cluster tests and ``benchmarks/node_loss.py``; :func:`connect_driver` is the driver side
(connect, wait for both nodes) shared by the node-loss job scripts.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).parent / "ray")


def ray_pids(ray_tmpdir: str) -> list[int]:
    """PIDs of processes whose environment has ``RAY_TMPDIR=ray_tmpdir`` (not this process)."""
    want = f"RAY_TMPDIR={ray_tmpdir}".encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if want in fh.read().split(b"\0"):
                    out.append(int(entry))
        except OSError:
            continue
    return out


def connect_driver(address: str, log_file: str, *, nodes: int = 2, wait_s: float = 30.0,
                   worker_ip: str = "127.0.0.2"):
    """Connect a :class:`RayExecutor` (the node-loss jobs' retry policy) to ``address`` and wait until
    ``nodes`` nodes are alive (a fresh worker join can lag; ``wait_s`` seconds at most).

    Returns ``(executor, alive, worker_node)``: the connected executor, the number of nodes alive when the
    wait ended, and the Ray node id of the node at ``worker_ip``. Raises ``RuntimeError`` naming the
    address and the nodes seen when no alive node has that IP.
    """
    from transfergraph.planner.executors import RayExecutor
    from transfergraph.planner.executors.retry import RetryPolicy

    exe = RayExecutor(address=address, retry=RetryPolicy(base_delay=0.5, max_delay=4.0, deadline=120.0),
                      log_file=log_file)
    exe.connect()
    import ray

    deadline = time.time() + wait_s
    while sum(n["Alive"] for n in ray.nodes()) < nodes and time.time() < deadline:
        time.sleep(0.2)
    alive = [n for n in ray.nodes() if n["Alive"]]
    worker = [n["NodeID"] for n in alive if n["NodeManagerAddress"] == worker_ip]
    if not worker:
        raise RuntimeError(f"no alive node at {worker_ip} on the cluster at {address} after {wait_s:g} s; "
                           f"alive: {[n['NodeManagerAddress'] for n in alive]}")
    return exe, len(alive), worker[0]


class TwoNodeCluster:
    """Head (1 CPU, resource ``head``) + worker node (``cpus`` CPUs, resource ``worker``)."""

    def __init__(self, port: int = 6390, worker_cpus: int = 1, job_server: bool = False) -> None:
        self.port = port
        self.worker_cpus = worker_cpus
        self.job_server = job_server  # the head's dashboard, which serves `ray job submit` (ray[default])
        self.dashboard = f"http://127.0.0.1:{port + 2000}"
        self.address = f"127.0.0.1:{port}"
        self.token = uuid.uuid4().hex
        self.tmpdir = tempfile.mkdtemp(prefix="tgc-")  # short: socket paths must stay < 107 bytes
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        self.env.update(RAY_TMPDIR=self.tmpdir, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token,
                        RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))

    def _ray(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run([RAY, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode:
            raise RuntimeError(f"ray {args[0]} failed ({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")

    def start(self) -> "TwoNodeCluster":
        common = ["--disable-usage-stats"]
        dashboard = (["--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={self.port + 2000}"]
                     if self.job_server else ["--include-dashboard=false"])
        self._ray("start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                  "--resources={\"head\": 1}", *dashboard,
                  f"--dashboard-agent-listen-port={self.port + 46000}", *common, timeout=120)
        self.add_worker()
        return self

    def add_worker(self) -> None:
        self._ray("start", f"--address={self.address}", "--node-ip-address=127.0.0.2",
                  f"--num-cpus={self.worker_cpus}", "--resources={\"worker\": 1}",
                  f"--dashboard-agent-listen-port={self.port + 46001}",
                  "--disable-usage-stats")

    def worker_raylet_pid(self) -> int:
        """PID of the worker node's raylet (the one started on 127.0.0.2)."""
        for pid in ray_pids(self.tmpdir):
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"raylet") and b"--node_ip_address=127.0.0.2" in args:
                return pid
        raise RuntimeError("no raylet of the worker node found")

    def kill_worker_node(self) -> float:
        """SIGKILL the worker node's raylet (a crashed node); returns the time of the kill."""
        os.kill(self.worker_raylet_pid(), signal.SIGKILL)
        return time.time()

    def down(self) -> None:
        """End every process of this cluster (scripts/ray_down.sh) and remove its temp dir."""
        try:
            subprocess.run(["bash", str(ROOT / "scripts" / "ray_down.sh"), self.tmpdir, "3"], timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "RAY_TMPDIR"})
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def driver_env(self) -> dict:
        """Environment of a driver that should reach this cluster (token in the environment)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(RAY_AUTH_TOKEN=self.token, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT),
                   RAY_TMPDIR=tempfile.mkdtemp(prefix="tgd-"))
        return env

    def __enter__(self) -> "TwoNodeCluster":
        try:
            return self.start()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc) -> None:
        self.down()


def kill_raylet_when_busy(raylet_pid: int, worker_node: str, mark_dir: str, killed: dict, wait_s: float = 60.0) -> None:
    """SIGKILL the worker node's raylet once a forward pass has started there (a file ``<node id>-...`` in
    ``mark_dir``; ``wait_s`` at most); ``killed["at"]`` is when."""
    deadline = time.time() + wait_s
    while time.time() < deadline and not any(f.startswith(worker_node) for f in os.listdir(mark_dir)):
        time.sleep(0.05)
    time.sleep(0.1)
    os.kill(raylet_pid, signal.SIGKILL)
    killed["at"] = time.time()
