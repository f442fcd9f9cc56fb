"""``report.md``, rendered from the artifacts of an output folder (see :mod:`transfergraph.planner.report.artifacts`).

Sections: run summary, how to read the scores, figures (each skipped figure replaced by a sentence
saying why), failed pairs, decisions (:func:`transfergraph.planner.report.explain_plan`), the validation sections
when ``validation.md`` / ``decisions.md`` exist, and the file list. Re-rendering is how ``validate`` and
``validate --decisions`` add their sections: no text of an earlier report.md is edited.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from transfergraph.planner.common.io import atomic_write_text
from transfergraph.planner.report.artifacts import read_artifacts
from transfergraph.planner.report.explain import explain_plan
from transfergraph.planner.report.next_steps import next_steps_lines
from transfergraph.planner.report.flagged import flagged_section
from transfergraph.planner.report.predicted import predicted_lines
from transfergraph.planner.report.tables import frame_table as markdown_table  # re-exported under its old name
from transfergraph.planner.report.tta_terms import tta_section

__all__ = ["render_report", "markdown_table"]


def _summary_lines(scores: pd.DataFrame | None, graph: nx.DiGraph, metric: str, config_summary: dict,
                   seconds: float) -> list[str]:
    if scores is None:
        kinds = [k for _, k in graph.nodes(data="kind")]
        return [f"Re-planned from a transfer graph: {kinds.count('task')} tasks, {kinds.count('model')} external "
                f"models, {graph.number_of_edges()} edges; graph weight: normalized {metric}."]
    ok = scores[scores["status"] == "ok"]
    n_failed = int((scores["status"] == "failed").sum())
    n_pred = len(scores) - len(ok) - n_failed  # rows of predicted pairs (pairs_fraction runs)
    replan = str(config_summary.get("executor", "")).startswith("none")  # `transfergraph plan`: nothing scored
    return [
        f"{scores[['source', 'target']].drop_duplicates().shape[0]} (source, target) pairs x "
        f"{scores['metric'].nunique()} metrics = {len(scores)} scores "
        + (f"read from the table re-planned (nothing scored; planned in {seconds:.1f} s) " if replan
           else f"in {seconds:.1f} s ")
        + f"({len(ok)} ok, {n_failed} failed" + (f", {n_pred} predicted" if n_pred else "")
        + f"); executor: {config_summary.get('executor', '?')}.",
        f"Tasks: {config_summary.get('n_tasks')}; sources: {config_summary.get('n_sources')}; "
        f"metrics: {', '.join(sorted(scores['metric'].unique()))}; graph weight: normalized {metric}.",
    ]


def _failed_lines(scores: pd.DataFrame | None) -> list[str]:
    failed = scores[scores["status"] == "failed"] if scores is not None else scores
    if failed is None or not len(failed):
        return []
    lines = ["## Failed pairs", "",
             "These pairs could not be scored; every other pair completed. Fix the cause and re-run "
             "with the same `--cache`: only these pairs are recomputed.", ""]
    shown = failed[["source", "target", "metric", "error"]].head(30).copy()
    shown["error"] = shown["error"].astype(str).str.slice(0, 160)
    lines += [markdown_table(shown), ""]
    if len(failed) > 30:
        lines += [f"... and {len(failed) - 30} more (see scores.csv).", ""]
    return lines


def _run_lines(run: dict[str, Any]) -> list[str]:
    """Any further facts of the run summary (e.g. the executor's cluster), one bullet each."""
    known = {"name", "n_tasks", "n_sources", "executor"}
    extra = {k: v for k, v in run.get("summary", {}).items() if k not in known and v is not None}
    labels = {"config": "options inherited from the run of config",  # a re-plan's run.json summary
              "scored_by": "scores computed by the run re-planned from"}
    return [f"- {labels.get(k, k.replace('_', ' '))}: {v}" for k, v in extra.items()] + ([""] if extra else [])


def _figure_lines(run: dict[str, Any], keys: tuple[str, ...], metric: str) -> list[str]:
    captions = {"heatmap": f"normalized {metric} heatmap", "graph": "recommended sources", "groups": "task groups",
                "curriculum": "curriculum"}
    lines: list[str] = []
    for key in keys:
        if key in run.get("figures", {}):
            lines += [f"![{captions.get(key, key)}]({run['figures'][key]})", ""]
        elif key in run.get("skipped", {}):
            lines += [f"*{run['skipped'][key]}*", ""]
    return lines


def render_report(out: str | Path) -> Path:
    """Write ``out/report.md`` from the artifacts in ``out`` (figures linked by relative path).

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        ``plan.json`` or ``graph.graphml`` is missing from ``out``.
    """
    art = read_artifacts(out)
    plan, run, metric = art.plan, art.run, art.plan.get("metric", "leep")
    summary = run.get("summary", {})
    lines = [f"# transfergraph report: {summary.get('name', '')}", "",
             *_summary_lines(art.scores, art.graph, metric, summary, float(run.get("seconds", 0.0))), "",
             *_run_lines(run),  # facts of the run itself, beside its summary, before the advice
             *next_steps_lines(plan),
             *predicted_lines(art.scores),
             "## How to read the scores", "",
             "LEEP (Nguyen et al., ICML 2020) is the average log-likelihood of the target labels under the "
             "source model's outputs re-mapped to the target classes by their empirical co-occurrence; higher "
             "means the source should transfer better. Raw LEEP lies in [-H(Y), 0], H(Y) the entropy of the "
             "target's labels, so it is comparable between sources for the *same* target only. The `normalized` "
             "column, (LEEP + H(Y)) / H(Y), is in [0, 1] and comparable across targets: **0 = no better than "
             "guessing the label prior (no signal for a retrained head; full fine-tuning may still transfer), 1 = perfect**. Other metrics document their "
             "normalization in `transfergraph.planner.metrics`.", "",
             *_figure_lines(run, ("heatmap", "graph"), metric),
             *_failed_lines(art.scores),
             *flagged_section(art.scores),
             explain_plan(plan).strip(), "",
             *tta_section(art.scores, plan),
             *_figure_lines(run, ("groups", "curriculum"), metric)]
    for section in (art.validation_md, art.decisions_md):
        if section:
            lines += [section.strip(), ""]
    lines += ["## Files", "",
              "- `scores.csv`: one row per (source, target, metric) with raw and normalized scores.",
              "- `graph.graphml`: the transfer graph (`networkx.read_graphml`).",
              "- `plan.json`: every decision with its objective value and optimality.",
              "- `topk.csv`: every target's recommended sources (rank, source, model, weight, gap to the next).", ""]
    return atomic_write_text(art.out / "report.md", "\n".join(lines))
