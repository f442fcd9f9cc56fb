"""The slow, marking input transform of the node-loss tests' sources (shared by node_loss_sources.py and
batch_node_loss_sources.py).

Pickled *by value* for Ray workers (they cannot import test modules): the closure travels with the source."""
import os
import sys
import time

import cloudpickle

cloudpickle.register_pickle_by_value(sys.modules[__name__])
try:  # Ray vendors its own cloudpickle, with its own by-value registry
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    pass


def marking_sleep(seconds: float, mark_dir: str | None):
    """An input transform that sleeps ``seconds`` per batch; with ``mark_dir``, on a Ray worker it first leaves
    an empty file ``<node id>-<pid>`` there, so the test driver can kill the worker node while it computes."""
    def transform(batch):
        if mark_dir is not None:
            import ray

            if ray.is_initialized():
                node = ray.get_runtime_context().get_node_id()
                open(os.path.join(mark_dir, f"{node}-{os.getpid()}"), "w").close()
        time.sleep(seconds)
        return batch

    return transform
