"""Which recommended (source node, target) edges a plan's leakage warnings name.

``plan.json`` carries its warnings as sentences (``planner.decisions.overlap``): a sample-overlap warning
names a source as ``source 'NAME'`` or ``source 'NAME' (node 'NODE')`` and each target it overlaps as
``target 'T'``, with names written by ``repr``. This reads those sentences back so the report can flag a
recommended edge where it is shown and avoid a leaky edge as its example. Pure; reads the plan mapping only.
"""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["leaky_edge", "LEAK_NOTE"]

#: what the report adds to a recommendation whose edge a leakage warning names
LEAK_NOTE = "Leakage: this source was trained on samples of this target (see Warnings); its score is inflated"


def leaky_edge(plan: Mapping[str, Any], node: Any, target: Any) -> bool:
    """True when a ``sample overlap`` warning of the plan names source node ``node`` and target ``target``.

    A warning names the node as the source itself (``source 'node'``), as the node behind a model
    (``(node 'node')``), and the target as ``target 'target'``; a warning that names no such pair is
    ignored. Returns False for a plan without warnings.
    """
    node_keys = (f"source {str(node)!r}", f"(node {str(node)!r})")
    target_key = f"target {str(target)!r}"
    for warning in plan.get("warnings") or []:
        text = str(warning)
        if text.startswith("sample overlap") and target_key in text and any(k in text for k in node_keys):
            return True
    return False
