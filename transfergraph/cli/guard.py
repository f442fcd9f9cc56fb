"""The command line's error and interruption policy: :func:`guard` runs a command's body.

A :class:`transfergraph.planner.common.exceptions.TransfergraphError` becomes ``transfergraph: error: ...`` and exit 2
(the traceback only with ``--debug``, given before or after the command name); Ctrl-C or SIGTERM shuts down Ray (unless this process is a
driver of a cluster, which drops the driver's tasks itself), says how to resume and exits 130.
"""
from __future__ import annotations

import signal
import sys

import click
import typer

from transfergraph.planner.common.exceptions import TransfergraphError

__all__ = ["STATE", "echo", "guard"]

#: set by the CLI: ``debug`` (--debug), ``exit_at_once`` (the console script: end with os._exit)
STATE = {"debug": False, "exit_at_once": False}


def echo(msg: str) -> None:
    """Print ``msg`` on stderr (the CLI's log, summary and error lines)."""
    typer.echo(msg, err=True)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by the interruption test in a subprocess
    raise _Terminated()


def _shutdown_ray() -> None:
    ray = sys.modules.get("ray")
    try:
        if ray is not None and ray.is_initialized():
            ray.shutdown()
    except Exception:  # shutting down is best effort on the way out
        pass


def _on_a_cluster() -> bool:
    """True when this process is a driver connected to a Ray cluster (not an embedded Ray of its own)."""
    ray, executor = sys.modules.get("ray"), sys.modules.get("transfergraph.planner.executors.ray_executor")
    try:
        return bool(ray and executor and ray.is_initialized() and not executor.owns_embedded_ray())
    except Exception:  # noqa: BLE001 - when unsure, shut down as usual
        return False


def _exit_at_once(code: int) -> None:
    """End the process now: everything finished is already on disk (the cache is fsynced per job,
    outputs are written atomically) and Ray is shut down, while the interpreter's own teardown of
    torch, Ray and the loaded data takes seconds. Used by the console script only."""
    import logging
    import os

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def guard(fn, *, resume_hint: str, unexpected: str | None = None, out=None):
    """Run a command body with the CLI's error and interruption policy.

    ``unexpected``: for a command whose only input is a file (``transfergraph plan``), any other
    exception is reported the same way, after this sentence (``cannot re-plan from x.csv``), with its
    type and first line, and exit 2; ``--debug`` shows its traceback.
    ``out``: the command's ``--out`` folder; when the command fails (any exit but 0) the folders of that
    path that it created and left empty are removed again (:mod:`transfergraph.cli.out_folder`).
    """
    from transfergraph.cli.out_folder import new_folders, remove_if_empty

    created = new_folders(out)
    try:
        return _guarded(fn, resume_hint=resume_hint, unexpected=unexpected)
    except typer.Exit as exc:
        if exc.exit_code:
            remove_if_empty(created)
        raise
    except BaseException:
        remove_if_empty(created)
        raise


def _guarded(fn, *, resume_hint: str, unexpected: str | None):
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return fn()
    except KeyboardInterrupt as exc:
        if not (STATE["exit_at_once"] and _on_a_cluster()):
            _shutdown_ray()  # a cluster drops the tasks of a driver that exits: no need to wait for it
        what = "terminated (SIGTERM)" if isinstance(exc, _Terminated) else "interrupted (Ctrl-C)"
        echo(f"transfergraph: {what}. Finished pairs are kept in the cache; {resume_hint}")
        if STATE["exit_at_once"]:
            _exit_at_once(130)
        raise typer.Exit(130)
    except TransfergraphError as exc:
        if STATE["debug"]:
            raise
        echo(f"transfergraph: error: {exc}")
        raise typer.Exit(2)
    except Exception as exc:
        if unexpected is None or STATE["debug"] or isinstance(exc, (typer.Exit, click.ClickException)):
            raise
        first = (str(exc).splitlines() or [""])[0]
        echo(f"transfergraph: error: {unexpected}: {type(exc).__name__}: {first:.300} (run with --debug for "
             "the traceback).")
        raise typer.Exit(2)
    finally:
        signal.signal(signal.SIGTERM, old)
