r"""Task similarity for continual learning, from normalized LEEP in both directions.

Li & Hiratani (ICML 2025, "Optimal task order for continual learning of multiple tasks") measure the
"zero-shot" similarity of tasks A and B from the loss of the model trained on one, evaluated on the
other, relative to the same loss with shuffled labels:

.. math:: \rho(A, B) = 1 - \tfrac12\left[\sqrt{L_{A\to B} / L^{shuf}_{A\to B}}
          + \sqrt{L_{B\to A} / L^{shuf}_{B\to A}}\right].

LEEP is minus the cross-entropy of the source's re-mapped predictor on the target, and with shuffled
labels that predictor is no better than the label prior, whose cross-entropy is the entropy H(Y) of the
target's labels. Normalized LEEP n(u->t) = 1 - CE / H(Y) (0 = the label prior, 1 = perfect), the
weight of every edge of the transfer graph, therefore gives L / L^shuf ~ 1 - n(u->t), and

.. math:: \rho(u, t) = 1 - \tfrac12\left[\sqrt{1 - n(u\to t)} + \sqrt{1 - n(t\to u)}\right],

computed from two edges the graph already has. Rules, stated once:

- each n is clipped to [0, 1] first (a source worse than the label prior carries no similarity; a
  weight above 1 cannot come from a normalized score and is read as 1);
- a missing direction takes the value of the present one (rho = 1 - sqrt(1 - n(present)));
- both directions missing: rho = 0 (no evidence of similarity);
- rho is symmetric, rho(t, t) = 1, and rho lies in [0, 1].

Worked example: n(a->b) = 0.75, n(b->a) = 0.36 gives rho = 1 - (0.5 + 0.8) / 2 = 0.35.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from transfergraph.planner.decisions._graph import check_graph, task_nodes, weight_matrix

__all__ = ["forgetting_similarity", "task_similarity"]


def forgetting_similarity(W: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Similarity matrix rho (n, n) of the module docstring from task->task weights.

    Parameters
    ----------
    W : ndarray (n, n)
        Normalized weights n(u->t) (row = source task, column = target task).
    E : ndarray of bool (n, n)
        Which edges exist (``W`` is ignored where ``E`` is False).

    Returns
    -------
    ndarray (n, n)
        Symmetric, in [0, 1], ones on the diagonal.
    """
    W = np.asarray(W, dtype=float)
    E = np.asarray(E, dtype=bool)
    root = np.where(E, np.sqrt(1.0 - np.clip(W, 0.0, 1.0)), np.nan)
    fwd, back = root, root.T
    both = E & E.T
    q = np.where(both, (fwd + back) / 2.0, np.where(E, fwd, np.where(E.T, back, 1.0)))
    rho = 1.0 - q
    np.fill_diagonal(rho, 1.0)
    return rho


def task_similarity(graph: nx.DiGraph) -> tuple[list, np.ndarray]:
    """(task nodes sorted by name, rho) for the task nodes of a transfer graph (module docstring).

    Raises
    ------
    InputError, GraphError
        Not a transfer graph; an edge weight that is not a finite number (named).
    """
    check_graph(graph, caller="task_similarity")
    tasks = task_nodes(graph)
    W, E = weight_matrix(graph, tasks, tasks)
    return tasks, forgetting_similarity(W, E)
