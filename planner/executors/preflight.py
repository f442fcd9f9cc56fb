"""Pre-flight check of a Ray cluster address, done before any work is built or trained.

:func:`check_cluster` answers, within a time limit and with one clear message per cause, whether
this process can use the cluster at ``HOST:PORT``:

1. **token** -- a Ray authentication token is available here (``RAY_AUTH_TOKEN``,
   ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``); token mode is switched on for this process
   (:func:`ensure_token_auth`). No network traffic yet.
2. **listening** -- a TCP connection to ``HOST:PORT`` opens (refused = nothing listening; no answer
   within the limit = host down or packets dropped; unknown host name).
3. **accepted** -- the GCS answers one request with this token (``InvalidAuthToken`` = wrong token),
   within the limit (a server that accepts but never answers is not a Ray GCS).
4. **same versions** -- the cluster's Ray version and Python ``major.minor`` (the metadata every
   head node stores in its GCS) equal this process's; Ray refuses mixed versions later anyway.

The GCS request runs in a daemon thread that the caller waits for in 0.1 s steps, so Ctrl-C
interrupts the check at once. Every failure is an :class:`~transfergraph.planner.common.exceptions.ExecutorError`.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transfergraph.planner.common.exceptions import ExecutorError

__all__ = ["ClusterInfo", "check_cluster", "auth_token_available", "ensure_token_auth", "split_address"]

_NO_TOKEN = (
    "Cannot connect to the Ray cluster at {address!r}: no Ray authentication token was found "
    "(checked $RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH and ~/.ray/auth_token). transfergraph keeps "
    "Ray's token authentication on. On the head node run `ray get-auth-token` and, on this machine, "
    "either `export RAY_AUTH_TOKEN=<token>` or save it to ~/.ray/auth_token (or a file named by "
    "RAY_AUTH_TOKEN_PATH). If the cluster deliberately runs without authentication, set "
    "RAY_AUTH_MODE=disabled yourself."
)


@dataclass(frozen=True)
class ClusterInfo:
    """What the pre-flight check learned: address, the cluster's versions, alive nodes, seconds taken."""

    address: str
    ray_version: str
    python_version: str
    nodes: int
    seconds: float


def auth_token_available() -> bool:
    """True when a Ray auth token is set in the environment or present in a token file."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    candidate = Path(path).expanduser() if path else Path.home() / ".ray" / "auth_token"
    try:
        return candidate.is_file() and bool(candidate.read_text().strip())
    except OSError:
        return False


def _token_source() -> str:
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return "$RAY_AUTH_TOKEN"
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return f"the file $RAY_AUTH_TOKEN_PATH ({os.environ['RAY_AUTH_TOKEN_PATH']})"
    return "~/.ray/auth_token"


def ensure_token_auth(address: str) -> None:
    """Prepare this process to connect to a token-authenticated cluster at ``address``.

    Leaves an explicit ``RAY_AUTH_MODE`` other than "token" alone. Otherwise requires a token and
    switches token mode on (Ray reads its mode once, so its cached configuration is refreshed).

    Raises
    ------
    ExecutorError
        When no token is available (the message says how to get one).
    """
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None and mode.strip().lower() != "token":
        return  # the user chose a mode explicitly
    if not auth_token_available():
        raise ExecutorError(_NO_TOKEN.format(address=address))
    if mode is None:
        os.environ["RAY_AUTH_MODE"] = "token"
        try:  # refresh Ray's cached config so this process sees token mode (as ray.init does itself)
            from ray._raylet import AuthenticationTokenLoader, Config

            Config.initialize("")
            AuthenticationTokenLoader.instance().reset_cache()
        except Exception:  # noqa: BLE001 - older/newer Ray: the environment variable is enough
            pass


def split_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``HOST:PORT`` address; None for ``auto``, ``local`` and ``ray://`` forms.

    Raises
    ------
    ExecutorError
        When the port is not an integer in 1..65535.
    """
    if address in ("auto", "local") or "://" in address:
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ExecutorError(f"The Ray address must be HOST:PORT (the head's GCS port); got {address!r}.")
    return host.strip("[]"), int(port)


def _probe_tcp(host: str, port: int, address: str, timeout: float) -> None:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        raise ExecutorError(
            f"Nothing is listening at {address} (connection refused). Check the port: it is the one given "
            "to `ray start --head --port=PORT` (6379 by default), and that the head node is running."
        ) from None
    except socket.gaierror as exc:
        raise ExecutorError(f"Cannot resolve the host of the Ray address {address!r}: {exc}.") from None
    except (socket.timeout, TimeoutError):
        raise ExecutorError(
            f"No answer from {address} within {timeout:.0f} s: the host is down or a firewall drops the "
            "connection."
        ) from None
    except OSError as exc:
        raise ExecutorError(f"Cannot reach {address}: {exc.strerror or exc}.") from None


def _ask_gcs(address: str, timeout: float, box: dict) -> None:
    try:
        from ray._common.usage.usage_constants import CLUSTER_METADATA_KEY
        from ray._private.ray_constants import KV_NAMESPACE_CLUSTER
        from ray._raylet import GcsClient
        from ray.core.generated.gcs_pb2 import GcsNodeInfo

        client = GcsClient(address=address)
        raw = client.internal_kv_get(CLUSTER_METADATA_KEY, namespace=KV_NAMESPACE_CLUSTER, timeout=timeout)
        box["metadata"] = json.loads(raw.decode()) if raw else {}
        alive = client.get_all_node_info(timeout=timeout, state_filter=GcsNodeInfo.GcsNodeState.ALIVE)
        box["nodes"] = len(alive)
    except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
        box["error"] = exc


def _gcs_error(exc: BaseException, address: str) -> ExecutorError:
    text = " ".join(str(exc).split())
    if "InvalidAuthToken" in text or type(exc).__name__ == "AuthenticationError":
        return ExecutorError(
            f"The Ray cluster at {address} rejected this machine's authentication token (read from "
            f"{_token_source()}): it is not the cluster's token. Run `ray get-auth-token` on the head node "
            "and use that token here."
        )
    return ExecutorError(f"The Ray GCS at {address} did not answer correctly: {type(exc).__name__}: {text[:300]}")


def _check_versions(metadata: dict, address: str) -> tuple[str, str]:
    import ray

    here_py = ".".join(map(str, sys.version_info[:2]))
    theirs, their_py = metadata.get("ray_version", "?"), metadata.get("python_version", "?")
    if theirs != ray.__version__ or ".".join(str(their_py).split(".")[:2]) != here_py:
        raise ExecutorError(
            f"Version mismatch with the Ray cluster at {address}: it runs Ray {theirs} on Python {their_py}, "
            f"this machine has Ray {ray.__version__} on Python {sys.version.split()[0]}. The driver must use "
            "the same Ray version and the same Python major.minor as the cluster."
        )
    return theirs, str(their_py)


def check_cluster(address: str, *, timeout: float = 10.0) -> ClusterInfo | None:
    """Check token, reachability, authentication and versions of the cluster at ``address``.

    Returns None (nothing checked beyond the token) for ``auto`` and ``ray://`` addresses.

    Raises
    ------
    ExecutorError
        With a message naming the cause: no token, nothing listening / unreachable, wrong token,
        no GCS answer within ``timeout`` seconds, or a Ray/Python version mismatch.
    """
    start = time.perf_counter()
    ensure_token_auth(address)
    parts = split_address(address)
    if parts is None:
        return None
    _probe_tcp(*parts, address, min(timeout, 5.0))
    box: dict[str, Any] = {}
    worker = threading.Thread(target=_ask_gcs, args=(address, timeout, box), daemon=True, name="tg-preflight")
    worker.start()
    limit = start + timeout
    while worker.is_alive() and time.perf_counter() < limit:
        worker.join(0.1)  # short waits: Ctrl-C is seen at once
    if worker.is_alive():
        raise ExecutorError(
            f"{address} accepts connections but did not answer as a Ray GCS within {timeout:.0f} s. Is it the "
            "GCS port of the head node (`ray start --head --port=PORT`), not a dashboard or client port?"
        )
    if "error" in box:
        raise _gcs_error(box["error"], address)
    version, python = _check_versions(box.get("metadata", {}), address)
    return ClusterInfo(address, version, python, int(box.get("nodes", 0)), time.perf_counter() - start)
