"""Whose run an output folder holds: the config name its ``run.json`` records."""
from __future__ import annotations

import json
from pathlib import Path

from transfergraph.planner.report.artifacts import RUN_INFO

__all__ = ["other_run_in"]


def other_run_in(config_name: str, out: str | Path) -> str | None:
    """The config name recorded in ``out/run.json`` when it is not ``config_name``; None when they agree or
    the folder holds no readable ``run.json``. Never raises."""
    try:
        other = json.loads((Path(out) / RUN_INFO).read_text()).get("summary", {}).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return str(other) if other is not None and other != config_name else None
