"""Atomic file output: write to a temporary file in the same folder, fsync, then rename.

A crash or Ctrl-C therefore never leaves a half-written ``scores.csv``, ``plan.json``, model, cache or
forward-output shard. Every such write in the project goes through :func:`atomic_write_with` (or its
text/JSON forms); a file that is streamed over many calls before it is complete is finished with
:func:`commit_file`.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

from transfergraph.planner.common.exceptions import InputError

__all__ = ["atomic_write_text", "atomic_write_with", "atomic_write_json", "atomic_write_bytes", "commit_file",
           "read_json_object", "prepare_out_dir", "expand_home"]


def _file_mode_from_umask() -> int:
    """The mode ``open()`` would give a new file: 0o666 minus the process umask (mkstemp uses 0o600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def commit_file(tmp: str | os.PathLike, path: str | os.PathLike, *, fh: IO[Any] | None = None,
                sync_dir: bool = False) -> Path:
    """Make the finished temporary file ``tmp`` durable and move it to ``path`` in one step.

    ``fh``, the still open handle of ``tmp``, is flushed, fsynced and closed; without it ``tmp`` is
    reopened to fsync it. Then ``os.replace(tmp, path)`` (atomic when both are in one folder) and, with
    ``sync_dir``, an fsync of the folder so that the rename itself survives a power cut.
    """
    if fh is not None:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
    else:
        with open(tmp, "rb") as done:
            os.fsync(done.fileno())
    os.replace(tmp, path)
    if sync_dir:
        dir_fd = os.open(Path(path).parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return Path(path)


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None], *, sync_dir: bool = False) -> Path:
    """Call ``writer(tmp_path)`` to produce the file, then atomically move it to ``path``.

    The temporary file lives in the same folder (so the rename is atomic), is fsynced before the rename
    (:func:`commit_file`; ``sync_dir`` also fsyncs the folder after it), and gets the permissions a
    plainly created file would have (``mkstemp``'s 0o600 would hide outputs from the user's group on
    shared machines). On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, _file_mode_from_umask())
        commit_file(tmp, path, sync_dir=sync_dir)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, sync_dir: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write_with(path, lambda tmp: Path(tmp).write_bytes(data), sync_dir=sync_dir)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_with(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON (NaN rejected: plans must be valid JSON)."""
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def read_json_object(path: str | os.PathLike) -> dict:
    """The JSON object in ``path`` (a plan.json or run.json this project wrote); {} when the file is missing,
    unreadable, not JSON or not an object. Never raises: callers treat such a file as holding nothing."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def expand_home(path: Any) -> Any:
    """``path`` with a leading ``~`` or ``~user`` replaced by that user's home folder
    (:func:`os.path.expanduser`: ``$HOME`` for ``~``), as a shell would do; the one place the command
    line, the config's path keys and :func:`prepare_out_dir` expand it. A ``str`` stays a ``str`` and a
    ``PathLike`` becomes a :class:`~pathlib.Path`; ``None`` and a path without a leading ``~`` come back
    unchanged (a ``~`` inside a path is an ordinary character)."""
    if path is None:
        return None
    if isinstance(path, str):
        return os.path.expanduser(path)
    return Path(os.path.expanduser(os.fspath(path)))


def prepare_out_dir(out: str | os.PathLike, *, option: str = "--out") -> Path:
    """Create the output folder (``~`` expanded, :func:`expand_home`) if needed and check that it is a
    writable folder; returns it as a :class:`~pathlib.Path`. Raises :class:`InputError` naming ``option``
    when it is a file, cannot be created or is not writable."""
    out = Path(expand_home(out))
    if out.exists() and not out.is_dir():
        raise InputError(f"{option} {out} is a file, not a folder; choose another path or remove the file.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{option} {out} cannot be created: {exc.strerror}; choose a writable path.") from None
    probe = out / f".write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"{option} {out} is not writable ({exc.strerror}); choose a writable folder.") from None
    return out
