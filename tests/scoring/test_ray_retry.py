"""The Ray executor's resubmission policy: system failures are retried with backoff until a deadline,
a job's own exceptions never are; and the pre-flight address checks that need no cluster."""
from __future__ import annotations

import os
import sys
import uuid

import cloudpickle
import pytest

from transfergraph.planner.common.exceptions import ExecutorError, InputError
from transfergraph.planner.executors.preflight import split_address
from transfergraph.planner.executors.retry import RetryPolicy, failed_node_id, is_system_failure

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import test modules
try:  # Ray vendors its own cloudpickle, with its own by-value registry
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    pass


def test_system_failures_are_told_apart_from_the_jobs_own_errors():
    from ray import exceptions as rex

    node = "ab" * 28
    died = rex.NodeDiedError(f"Task failed because the node it was running on is dead. Node IP: 127.0.0.2, "
                             f"node ID: {node}. This can happen if ...")
    assert is_system_failure(died) and failed_node_id(died) == node
    for exc in (rex.LocalRayletDiedError(), rex.WorkerCrashedError(), rex.ObjectLostError("ff" * 28, None, "")):
        assert is_system_failure(exc) and failed_node_id(exc) is None
    # a job's own exception, as Ray re-raises it, is never a system failure -- even one named like it
    user = rex.RayTaskError("run_job", "Traceback ...", ValueError("bad model")).as_instanceof_cause()
    assert not is_system_failure(user)
    lookalike = rex.RayTaskError("run_job", "", rex.WorkerCrashedError()).as_instanceof_cause()
    assert not is_system_failure(lookalike)
    assert not is_system_failure(ValueError("x")) and not is_system_failure(KeyboardInterrupt())


def test_backoff_doubles_up_to_its_cap_and_stops_at_the_deadline():
    from ray.exceptions import WorkerCrashedError

    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, deadline=10.0)
    assert [policy.delay(k) for k in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.should_retry(WorkerCrashedError(), first_failure=100.0, now=109.9)
    assert not policy.should_retry(WorkerCrashedError(), first_failure=100.0, now=110.0)
    assert not policy.should_retry(ValueError("user"), first_failure=100.0, now=100.0)
    assert not RetryPolicy(deadline=0).should_retry(WorkerCrashedError(), 0.0, 0.0)
    with pytest.raises(InputError, match=r"max_delay of RetryPolicy\(\) must be a float >= 2"):
        RetryPolicy(base_delay=2.0, max_delay=1.0)
    with pytest.raises(InputError, match=r"deadline of RetryPolicy\(\) must be a float >= 0; got True"):
        RetryPolicy(deadline=True)


def test_addresses_are_checked_before_any_connection():
    assert split_address("10.0.0.1:6379") == ("10.0.0.1", 6379)
    assert split_address("auto") is None and split_address("ray://h:10001") is None
    for bad in ("10.0.0.1", "h:port", "h:0", ":6379", "h:70000"):
        with pytest.raises(ExecutorError, match="must be HOST:PORT"):
            split_address(bad)


def _crash_once(job, flag_dir):
    """Kills its worker process the first time job ``"crash"`` runs; ``"user"`` always raises."""
    if job == "user":
        raise ValueError("a model that raises")
    flag = os.path.join(flag_dir, job)
    if job == "crash" and not os.path.exists(flag):
        open(flag, "w").close()
        os._exit(1)  # a dying worker: WorkerCrashedError on the driver
    return f"{job} done"


@pytest.mark.ray
def test_a_crashed_worker_is_resubmitted_and_a_user_error_is_not(ray_session, tmp_path):
    from transfergraph.planner.executors import RayExecutor

    class Job(str):
        shared_keys = ("flags",)

    exe = RayExecutor(retry=RetryPolicy(base_delay=0.1, max_delay=0.2, deadline=60))
    flags = str(tmp_path / uuid.uuid4().hex)
    os.makedirs(flags)
    got = dict(exe.run(_crash_once, [Job("crash"), Job("user"), Job("plain")], {"flags": flags}))
    assert got[Job("crash")] == "crash done" and got[Job("plain")] == "plain done"
    assert isinstance(got[Job("user")], ValueError) and "a model that raises" in str(got[Job("user")])
    assert exe.stats.retries == 1 and exe.stats.system_failures == ["WorkerCrashedError"]
    assert len(exe.stats.recovered_at) == 1
    assert "1 job resubmissions" in exe.describe()
