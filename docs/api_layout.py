"""mkdocs hook: lay out the package as it is installed, for the API reference.

The repository keeps ``transfergraph.planner`` in ``planner/`` and ``transfergraph.adapters`` in
``adapters/`` (a setuptools ``package_dir`` mapping); the documentation generator reads sources from
folders, so this hook links ``build/api-src/transfergraph`` to ``transfergraph/`` with ``planner`` and
``adapters`` inside before the build starts.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def on_startup(**_: object) -> None:
    package = ROOT / "build" / "api-src" / "transfergraph"
    package.mkdir(parents=True, exist_ok=True)
    links = {entry.name: entry for entry in (ROOT / "transfergraph").iterdir() if entry.name != "__pycache__"}
    links |= {"planner": ROOT / "planner", "adapters": ROOT / "adapters"}
    for name, target in links.items():
        link = package / name
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    for stale in package.iterdir():  # a file removed from transfergraph/ since the last build
        if stale.name not in links:
            stale.unlink()
