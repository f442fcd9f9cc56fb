"""A failed command leaves no empty ``--out`` folder behind.

:func:`new_folders` lists, before a command runs, the folders of its ``--out`` path that do not exist yet;
:func:`remove_if_empty` removes them again after a failure when nothing was written in them (a config or
input error found after the job created its output folder). A folder that existed before the command, and
anything in it, is never touched; a new folder holding any file (a partly filled cache kept for resuming)
stays.
"""
from __future__ import annotations

import os
from pathlib import Path

from transfergraph.planner.common.io import expand_home

__all__ = ["new_folders", "remove_if_empty"]


def new_folders(out: str | os.PathLike | None) -> list[Path]:
    """The folders on the path ``out`` (``~`` expanded) that do not exist now, deepest first: ``out``
    itself, then its missing parents; ``[]`` when ``out`` is ``None`` or already exists."""
    if out is None:
        return []
    path = Path(expand_home(out)).absolute()
    missing: list[Path] = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def remove_if_empty(created: list[Path]) -> None:
    """Remove the folders ``created`` (as listed by :func:`new_folders`, deepest first) that hold no file:
    empty sub-folders of the deepest one go too (e.g. an empty ``cache/``), the walk up stops at the first
    folder that still holds something. Errors (a folder removed meanwhile, no permission) are ignored."""
    if not created or not created[0].is_dir():
        return
    if any(files for _root, _dirs, files in os.walk(created[0])):
        return  # something was written: keep it all
    for root, _dirs, _files in os.walk(created[0], topdown=False):
        try:
            os.rmdir(root)
        except OSError:
            return
    for parent in created[1:]:
        try:
            os.rmdir(parent)
        except OSError:
            return
