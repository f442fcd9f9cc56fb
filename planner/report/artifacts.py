"""Reading back what a run wrote: ``scores.csv``, ``graph.graphml``, ``plan.json``, ``run.json``.

The report is rendered from these files only, so ``transfergraph run``, ``plan`` and ``validate``
all produce the same ``report.md`` from the same folder, whichever ran last.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.names import bad_names

__all__ = ["read_scores", "Artifacts", "read_artifacts", "RUN_INFO", "TEXT_COLUMNS"]

#: score-table columns read back as text, whatever they look like (names, statuses, messages)
TEXT_COLUMNS = ("source", "source_task", "target", "metric", "status", "error", "flag", "metric_version")

#: run facts the report shows (summary, seconds, figures written and figures skipped with a reason)
RUN_INFO = "run.json"


def read_scores(path: str | Path) -> pd.DataFrame:
    """Read a ``scores.csv`` written by ``transfergraph run``.

    The text columns (:data:`TEXT_COLUMNS`) are read as written: a task named ``001``, ``0.50``,
    ``nan`` or ``" padded "`` comes back as that string, and an empty ``source_task`` as "".

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        Unreadable file, a column of :data:`transfergraph.planner.graph.SCORE_COLUMNS` missing, no data row, or a
        malformed row (empty source, target or metric; status not "ok"/"failed", as in a truncated file; a
        name with a control character; text in ``score``/``normalized``; a (source, target, metric) repeated).
    """
    from transfergraph.planner.graph import SCORE_COLUMNS

    path = Path(path)
    try:  # names as written: "001", "0.50", "nan", "None", "True" and " padded " stay strings
        df = pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False,
                         na_values={"score": ["", "nan", "NaN"], "normalized": ["", "nan", "NaN"],
                                    "predicted_sd": ["", "nan", "NaN"]})
    except Exception as exc:  # pandas raises many parser error types
        raise InputError(f"{path} is not a readable CSV: {(str(exc).splitlines() or [type(exc).__name__])[0]}.") from None
    missing = [c for c in SCORE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path} lacks columns {missing}; expected a scores.csv from `transfergraph run`.")
    for col in ("source", "source_task", "target", "metric", "status"):
        df[col] = df[col].astype(str)
        bad = bad_names(df[col].unique())
        if bad:  # a hand-edited file: such a name would make graph.graphml unreadable
            _, name, problem = bad[0]
            row = int((df[col] == name).to_numpy().argmax()) + 1
            raise InputError(f"{path}: column {col!r} of data row {row} {problem}: got {name!r}; names may "
                             "not contain control characters (they break graph.graphml); rename it.")
    bad = df.index[(df["source"] == "") | (df["target"] == "") | (df["metric"] == "")
                   | ~df["status"].isin(["ok", "failed", "predicted"])]
    if len(bad):  # e.g. a truncated file: its last row lacks fields
        raise InputError(f"{path} has {len(bad)} malformed row(s) (first: data row {int(bad[0]) + 1}): empty "
                         "source/target/metric or a status other than 'ok'/'failed'; is the file truncated? Or does a "
                         "field hold an unquoted line break?")
    if df.empty:
        raise InputError(f"{path} has no score rows (only a header); re-run `transfergraph run` to write one.")
    for col in ("score", "normalized", "predicted_sd"):  # predicted_sd: pairs_fraction runs only
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        wrong = df.index[values.isna() & df[col].notna()]
        if len(wrong):  # text where a number belongs: a hand-edited or corrupt file
            raise InputError(f"{path}: column {col!r} of data row {int(wrong[0]) + 1} is {df[col][wrong[0]]!r}; "
                             "expected a number (or empty).")
        infinite = df.index[np.isinf(values.to_numpy(dtype=float))]
        if len(infinite):  # no score transfergraph writes is infinite: a hand edit, and the plan cannot use it
            raise InputError(f"{path}: column {col!r} of data row {int(infinite[0]) + 1} is "
                             f"{values[infinite[0]]}; expected a finite number (or empty).")
        df[col] = values
    twice = df.index[df.duplicated(["source", "target", "metric"], keep="first")]
    if len(twice):  # e.g. two score tables concatenated: which score counts would be a silent choice
        row = df.loc[twice[0]]
        raise InputError(f"{path} has {len(twice)} repeated (source, target, metric) row(s) (first: data row "
                         f"{int(twice[0]) + 1}: {row['source']!r}, {row['target']!r}, {row['metric']!r}); keep one "
                         "row per pair and metric.")
    return df


@dataclass
class Artifacts:
    """The files of one output folder (``scores`` is None when the plan came from a graph)."""

    out: Path
    plan: dict[str, Any]
    graph: nx.DiGraph
    scores: pd.DataFrame | None = None
    run: dict[str, Any] = field(default_factory=dict)
    validation_md: str | None = None
    decisions_md: str | None = None


def read_artifacts(out: str | Path) -> Artifacts:
    """Read ``plan.json`` and ``graph.graphml`` (required) and ``scores.csv``, ``run.json``,
    ``validation.md`` and ``decisions.md`` (when present) from ``out``."""
    out = Path(out)
    missing = [n for n in ("plan.json", "graph.graphml") if not (out / n).is_file()]
    if missing:
        raise InputError(f"out={out} lacks {missing}; run `transfergraph run` or `transfergraph plan` into it first.")
    scores = read_scores(out / "scores.csv") if (out / "scores.csv").is_file() else None
    run = json.loads((out / RUN_INFO).read_text()) if (out / RUN_INFO).is_file() else {}
    validation, decisions = ((out / name).read_text() if (out / name).is_file() else None
                             for name in ("validation.md", "decisions.md"))
    return Artifacts(out, json.loads((out / "plan.json").read_text()), nx.read_graphml(out / "graph.graphml"),
                     scores, run, validation, decisions)
