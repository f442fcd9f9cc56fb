"""Whose run an output folder holds: the config name its ``run.json`` records."""
from __future__ import annotations

from pathlib import Path

from transfergraph.planner.common.io import read_json_object
from transfergraph.planner.report.artifacts import RUN_INFO

__all__ = ["other_run_in", "run_config_name", "scored_by"]


def run_config_name(out: str | Path) -> tuple[bool, str | None]:
    """(recorded, name) of the config whose run ``out`` holds, from its ``run.json`` summary: a run's
    ``name``, or for a re-plan (``transfergraph plan``) the ``config`` it inherited its options from (None
    when unknown, also for a re-plan written before ``config`` was recorded). (False, None) when the folder
    holds no readable ``run.json`` or it names nothing. Never raises."""
    summary = read_json_object(Path(out) / RUN_INFO).get("summary", {})
    if not isinstance(summary, dict):
        return False, None
    if "config" in summary:
        return True, None if summary["config"] is None else str(summary["config"])
    name = summary.get("name")
    if name is None:
        return False, None
    return True, None if str(name).startswith("re-plan of ") else str(name)


def scored_by(out: str | Path) -> str | None:
    """How the scores of the run in ``out`` were computed, from its ``run.json``: ``"<executor>, <seconds> s"`` of
    a run, or the ``scored_by`` a re-plan recorded (a re-plan of a re-plan keeps the first run's); None when the
    folder holds no readable run.json or only a re-plan without it. Never raises."""
    run = read_json_object(Path(out) / RUN_INFO)
    try:
        summary = run.get("summary", {})
        if summary.get("scored_by"):
            return str(summary["scored_by"])
        executor = str(summary.get("executor") or "")
        if not executor or executor.startswith("none"):
            return None
        return f"{executor}, {float(run.get('seconds', 0.0)):.1f} s"
    except (ValueError, AttributeError, TypeError):  # a summary or seconds of another shape
        return None


def other_run_in(config_name: str, out: str | Path) -> str | None:
    """The config name recorded in ``out/run.json`` (:func:`run_config_name`) when it is not ``config_name``;
    None when they agree, the name is unknown or the folder holds no readable ``run.json``. Never raises."""
    other = run_config_name(out)[1]
    return other if other is not None and other != config_name else None
