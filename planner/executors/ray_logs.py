"""Where Ray's own log lines go on the driver: a log file (quiet, the default) or the console.

Ray writes to the driver's console through four channels; in quiet mode each is sent to one file:

- the ``ray`` Python logger ("Connecting to existing Ray cluster", "Pushing file package", token
  notices): its handlers are replaced by one ``FileHandler`` (standard :mod:`logging`);
- worker processes' stdout/stderr: ``ray.init(log_to_driver=False)`` (they stay in the session's
  log directory on each node);
- Ray's C++ core writes warnings straight to file descriptor 2 before the driver's own log files
  exist ("Failed to determine local IP ...", GCS connection retries): fd 2 is pointed at the log
  file for the duration of the connection only (:meth:`RayLogs.capture`), never while the
  progress bar runs;
- cluster error events ("(raylet) Raylet is terminated ...") that Ray's error listener prints to
  stdout: redirected to the file through ``ray._private.worker.print_to_stdstream``, the single
  function that listener calls (Ray has no option for it; the redirect is skipped when that
  private name is absent).

Verbose mode leaves everything on the console (``log_to_driver=True``, ``logging_level="info"``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any, Iterator

__all__ = ["RayLogs"]


class RayLogs:
    """Route Ray's driver-side output to ``log_file`` (quiet) or leave it on the console (verbose).

    Parameters
    ----------
    log_file : path, optional
        File that receives Ray's lines in quiet mode (appended; its folder is created). None with
        ``verbose=False``: Ray's Python logger at WARNING on the console, worker output dropped.
    verbose : bool
        Show everything on the console instead.
    """

    def __init__(self, log_file: str | os.PathLike | None = None, *, verbose: bool = False) -> None:
        self.log_file = Path(log_file) if log_file is not None else None
        self.verbose = bool(verbose)
        self._routed = False

    def init_kwargs(self) -> dict[str, Any]:
        """Logging keyword arguments for ``ray.init``."""
        if self.verbose:
            return {"log_to_driver": True, "logging_level": "info"}
        return {"log_to_driver": False, "logging_level": "info" if self.log_file else "warning"}

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """While connecting: route Ray's loggers and point fd 2 at the log file (quiet mode only)."""
        if self.verbose or self.log_file is None:
            yield
            return
        self.route()
        sys.stderr.flush()
        saved = os.dup(2)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.dup2(fd, 2)
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            os.close(fd)
            self.route()  # ray.init(configure_logging=True) may have added a console handler again

    def route(self) -> None:
        """Send the ``ray`` Python logger and Ray's error-event printer to the log file."""
        if self.verbose or self.log_file is None:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        logger = logging.getLogger("ray")
        for handler in list(logger.handlers):
            if not getattr(handler, "_transfergraph", False):
                logger.removeHandler(handler)
        if not any(getattr(h, "_transfergraph", False) for h in logger.handlers):
            handler = logging.FileHandler(self.log_file, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            handler._transfergraph = True  # type: ignore[attr-defined]
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        if not self._routed:
            self._route_error_events()
            self._routed = True

    def _route_error_events(self) -> None:
        try:
            import ray._private.worker as ray_worker
        except ImportError:  # pragma: no cover - Ray layout changed: the events stay on the console
            return
        if not callable(getattr(ray_worker, "print_to_stdstream", None)):
            return
        path = self.log_file

        def to_log_file(data: dict, ignore_prefix: bool = False) -> None:
            with open(path, "a", encoding="utf-8") as fh:
                for line in data.get("lines", []):
                    fh.write(f"({data.get('pid', 'ray')}) {line}\n")

        ray_worker.print_to_stdstream = to_log_file
