"""Ground-truth validation: do transferability scores predict real transfer?.

- Transfer methods, each ``(source, task, *, seed, ...) -> dict(accuracy, f1, seconds, ...)`` on the
  task's test split: :func:`retrain_head` (batched: :func:`retrain_head_many`), :func:`fine_tune`,
  :func:`meta_transfer`.
- :func:`run_validation`: the methods over many (source, target) pairs on an executor, resumable.
- :func:`correlations` and :func:`selection_regret`: how well each metric's scores predict the
  measured accuracies.
- :func:`finetune_convergence`: the LEEP paper's accuracy-vs-epoch curves by transferability level.
"""
from transfergraph.planner.validation.convergence import finetune_convergence, plot_convergence
from transfergraph.planner.validation.correlations import correlations, selection_regret
from transfergraph.planner.validation.engine import COLUMNS, VALIDATION_VERSION, candidate_pairs, run_validation
from transfergraph.planner.validation.fine_tuning import FINE_TUNE_DEFAULTS, fine_tune, fine_tune_curve
from transfergraph.planner.validation.meta_adaptation import meta_transfer
from transfergraph.planner.validation.head_retraining import HEAD_DEFAULTS, fit_logistic_head, retrain_head, retrain_head_many

__all__ = [
    "retrain_head",
    "retrain_head_many",
    "fit_logistic_head",
    "fine_tune",
    "fine_tune_curve",
    "meta_transfer",
    "run_validation",
    "candidate_pairs",
    "correlations",
    "selection_regret",
    "finetune_convergence",
    "plot_convergence",
    "COLUMNS",
    "VALIDATION_VERSION",
    "HEAD_DEFAULTS",
    "FINE_TUNE_DEFAULTS",
]
