"""The TTA bound's terms for the plan's recommended (source -> target) edges, as a report section."""
from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["tta_section"]

_TERMS = ["tta_source_loss", "tta_label_entropy", "tta_lipschitz", "tta_wasserstein", "tta_certified"]


def _row_for(tta: pd.DataFrame, plan: dict, node: Any, target: str) -> pd.Series | None:
    """The tta row of the model behind graph node ``node`` on ``target`` (the best-scored one if several)."""
    model = plan.get("source_models", {}).get(str(target), {}).get(str(node))
    rows = tta[tta["target"].astype(str) == str(target)]
    rows = rows[rows["source"].astype(str) == model] if model else rows[
        (rows["source"].astype(str) == str(node)) | (rows["source_task"].astype(str) == str(node))]
    return None if rows.empty else rows.sort_values("score", ascending=False, kind="mergesort").iloc[0]


def tta_section(scores: pd.DataFrame | None, plan: dict) -> list[str]:
    """Markdown lines: bound = source_loss + label_entropy + lipschitz x wasserstein per recommended edge.

    Empty when there is no score table (a plan re-made from a graph) or no ``tta`` row was scored ok. The edge is each target's first recommended source in
    ``plan["sources"]``.
    """
    if scores is None or "metric" not in scores or not set(_TERMS) <= set(scores.columns):
        return []
    tta = scores[(scores["metric"] == "tta") & (scores["status"] == "ok")]
    if tta.empty:
        return []
    lines = ["## TTA bound of the recommended sources", "",
             "Task Transfer Analysis (Mehra, Zhang, Hamm, arXiv:2307.00823): an upper bound, in nats, on the "
             "target cross-entropy of a retrained linear head, bound = source loss + label entropy + "
             "Lipschitz x Wasserstein. `certified` = 1 - bound / H(Y), 0 when the bound is vacuous (no better "
             "than the label prior, which does not mean negative transfer).", "",
             "| target | source | bound | source loss | label entropy | Lipschitz | Wasserstein | certified |",
             "|---|---|---|---|---|---|---|---|"]
    n = 0
    for target, top in sorted(plan.get("sources", {}).items()):
        if not top:
            continue
        r = _row_for(tta, plan, top[0][0], target)
        if r is None:
            continue
        lines.append(f"| {target} | {r['source']} | {-r['score']:.3f} | " +
                     " | ".join(f"{float(r[c]):.3f}" for c in _TERMS) + " |")
        n += 1
    return lines + [""] if n else []
