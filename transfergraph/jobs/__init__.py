"""Jobs: the application layer that wires the core (:mod:`transfergraph.planner`) to the adapters.

:mod:`.run` is ``transfergraph run`` (config -> tasks and sources -> score table -> graph -> plan ->
report), :mod:`.validate` is ``transfergraph validate`` and :mod:`.decisions` its ``--decisions``
mode; :mod:`.suite` builds the tasks, sources and meta-trained model a config describes
(:mod:`.suite_provenance`: their provenance; :mod:`.seeds`: the suite's child seeds);
:mod:`.planning` builds plan options and reads what ``transfergraph plan`` re-plans from;
:mod:`.group` is ``transfergraph group`` (measured co-training and its grouping) and
:mod:`.decision_workers` trains the ``--decisions`` tables on every worker of the executor.
"""
