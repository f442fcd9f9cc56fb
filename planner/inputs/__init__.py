"""Inputs: the user's data model, the stage after the config (tasks and sources).

A :class:`~transfergraph.planner.inputs.task.Task` is a labelled target (in-memory arrays, or rows of
an on-disk dataset read lazily: :mod:`.lazy`, :mod:`.readers`, :mod:`.batches`); a
:class:`~transfergraph.planner.inputs.task.Source` is a pre-trained model with its transform and
feature layer; :class:`~transfergraph.planner.inputs.provenance.Provenance` records which base rows a
task or a model was built from (read by the leakage check).
"""
