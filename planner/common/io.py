"""Atomic file output: write to a temporary file in the same folder, fsync, then rename.

A crash or Ctrl-C therefore never leaves a half-written ``scores.csv``, ``plan.json`` or model.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from transfergraph.planner.common.exceptions import InputError

__all__ = ["atomic_write_text", "atomic_write_with", "atomic_write_json", "prepare_out_dir"]


def _file_mode_from_umask() -> int:
    """The mode ``open()`` would give a new file: 0o666 minus the process umask (mkstemp uses 0o600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None]) -> Path:
    """Call ``writer(tmp_path)`` to produce the file, then atomically move it to ``path``.

    The temporary file lives in the same folder (so the rename is atomic), is fsynced before the rename,
    and gets the permissions a plainly created file would have (``mkstemp``'s 0o600 would hide outputs
    from the user's group on shared machines).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, _file_mode_from_umask())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_with(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON (NaN rejected: plans must be valid JSON)."""
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def prepare_out_dir(out: str | os.PathLike, *, option: str = "--out") -> Path:
    """Create the output folder if needed and check that it is a writable folder."""
    out = Path(out)
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
