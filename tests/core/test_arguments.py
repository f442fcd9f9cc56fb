"""transfergraph.planner.common.arguments: one scalar check for every public option, bools never taken for ints."""
import math

import networkx as nx
import numpy as np
import pytest

from transfergraph.planner import metrics
from transfergraph.planner.common.arguments import check_bool, check_choice, check_int_sequence, check_scalar
from transfergraph.planner.decisions import group_tasks, order_curriculum, select_source_set, select_sources
from transfergraph.planner.common.exceptions import GraphError, InputError


def test_check_scalar_messages_name_argument_caller_expected_and_given():
    with pytest.raises(InputError, match=r"^k of f\(\) must be an int >= 1; got True \(bool\)\.$"):
        check_scalar(True, "k", int, caller="f", min_val=1)
    with pytest.raises(InputError, match=r"^tol of f\(\) must be a float > 0; got 0\.0 \(float\)\.$"):
        check_scalar(0.0, "tol", float, caller="f", min_val=0, include_boundaries="neither")
    with pytest.raises(InputError, match=r"x of f\(\) must be a float in \[0, 1\) \(finite\); got nan"):
        check_scalar(math.nan, "x", float, caller="f", min_val=0, max_val=1, include_boundaries="left")
    with pytest.raises(InputError, match=r"got '3' \(str\)"):
        check_scalar("3", "n", int, caller="f")
    assert check_scalar(np.int64(3), "n", int, caller="f") == 3 and type(check_scalar(np.int64(3), "n", int, caller="f")) is int
    assert check_scalar(2, "x", float, caller="f") == 2.0 and check_scalar(None, "x", int, caller="f", allow_none=True) is None
    with pytest.raises(InputError, match=r"must be an int >= 1 or None; got 2\.5"):
        check_scalar(2.5, "n", int, caller="f", min_val=1, allow_none=True)
    with pytest.raises(InputError, match=r"m of f\(\) must be one of 'a', 'b'; got 'c' \(str\)"):
        check_choice("c", "m", ("a", "b"), caller="f")
    with pytest.raises(InputError, match=r"c of f\(\) must be True or False; got 1 \(int\)"):
        check_bool(1, "c", caller="f")
    assert check_bool(np.bool_(True), "c", caller="f") is True
    with pytest.raises(InputError, match=r"w\[1\] of f\(\) must be an int >= 2; got False \(bool\)"):
        check_int_sequence([3, False], "w", caller="f", min_val=2)


@pytest.mark.parametrize("name, options, pattern", [
    ("logme", dict(max_iter=True), r"max_iter of logme\(\) must be an int >= 1; got True \(bool\)"),
    ("logme", dict(max_iter=5.0), r"max_iter of logme\(\) must be an int >= 1; got 5\.0 \(float\)"),
    ("logme", dict(tol=-1.0), r"tol of logme\(\) must be a float > 0"),
    ("logme", dict(tol=True), r"tol of logme\(\).*got True \(bool\)"),
    ("gbc", dict(n_components=True), r"n_components of gbc\(\) must be an int >= 1 or None; got True"),
    ("gbc", dict(n_components=8.0), r"n_components of gbc\(\).*got 8\.0 \(float\)"),
    ("nleep", dict(components_per_class=True), r"components_per_class of nleep\(\) must be an int >= 1; got True"),
    ("nleep", dict(seed=False), r"seed of nleep\(\).*got False \(bool\)"),
    ("nleep", dict(max_iter=0), r"max_iter of nleep\(\) must be an int >= 1; got 0"),
    ("h_score", dict(rcond=True), r"rcond of h_score\(\).*got True \(bool\)"),
    ("transrate", dict(eps=False), r"eps of transrate\(\).*got False \(bool\)"),
    ("leep", dict(log_probs=1), r"log_probs of leep\(\) must be True or False; got 1 \(int\)"),
    ("nce", dict(log_probs="yes"), r"log_probs of nce\(\) must be True or False"),
])
def test_metric_options_are_checked(name, options, pattern):
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.ones(4), 12) if metrics.REGISTRY[name].input == "probs" else rng.standard_normal((12, 4))
    with pytest.raises(InputError, match=pattern):
        metrics.REGISTRY[name](x, np.arange(12) % 3, **options)


def _graph(weight):
    g = nx.DiGraph()
    g.add_nodes_from(["a", "b", "t"], kind="task")
    g.add_edge("a", "t", weight=0.2)
    g.add_edge("b", "t", weight=weight)
    return g


@pytest.mark.parametrize("weight", ["0.5", True, np.bool_(False), None])
def test_decisions_reject_string_and_bool_edge_weights(weight):
    g = _graph(weight)
    for call in (lambda: select_sources(g, "t", k=2), lambda: select_source_set(g, budget=1),
                 lambda: group_tasks(g, n_groups=2), lambda: order_curriculum(g)):
        with pytest.raises(GraphError, match=r"edge 'b'->'t' has weight=.*expected a finite number"):
            call()


@pytest.mark.parametrize("call, pattern", [
    (lambda g: select_sources(g, "t", k=True), r"k of select_sources\(\) must be an int >= 1; got True"),
    (lambda g: select_source_set(g, budget=1.0), r"budget of select_source_set\(\).*got 1\.0 \(float\)"),
    (lambda g: select_source_set(g, budget=1, time_limit=True), r"time_limit of select_source_set\(\)"),
    (lambda g: group_tasks(g, n_groups=2, seed=1.5), r"seed of group_tasks\(\)"),
    (lambda g: group_tasks(g, n_groups=2, centered=1), r"centered of group_tasks\(\) must be True or False"),
    (lambda g: order_curriculum(g, time_limit=0), r"time_limit of order_curriculum\(\) must be a float > 0"),
])
def test_decision_options_are_checked(call, pattern):
    with pytest.raises(InputError, match=pattern):
        call(_graph(0.5))


def _tiny_source_task():
    import torch

    from transfergraph.planner import Source, Task

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 4)).astype(np.float32), np.arange(12) % 3
    return Source("m", torch.nn.Sequential(torch.nn.Linear(4, 3))), Task("t", x, y, test_inputs=x, test_labels=y)


def _bool_calls():
    """(call, argument name, caller) of public functions given True for an int argument."""
    from transfergraph.adapters.datasets.digits import load_digits_images
    from transfergraph.adapters.datasets.shifts import apply_shifts
    from transfergraph.adapters.meta.model import CNAPsModel
    from transfergraph.adapters.models.small_cnn import SmallCNN
    from transfergraph.adapters.models.training import train_classifier
    from transfergraph.planner.executors import RayExecutor, get_executor
    from transfergraph.planner.runtime.forward import forward
    from transfergraph.planner.validation import fine_tune, fine_tune_curve, retrain_head, run_validation
    from transfergraph.planner.validation._training_core import TrainBudget

    x = np.zeros((4, 1, 8, 8), np.float32)
    return [
        (lambda: get_executor("ray", workers=True), "workers", "get_executor"),
        (lambda: RayExecutor(max_in_flight=True), "max_in_flight", "RayExecutor"),
        (lambda: RayExecutor(num_gpus=True), "num_gpus", "RayExecutor"),
        (lambda: run_validation(*[[o] for o in _tiny_source_task()], n_pairs=True, progress=False), "n_pairs",
         "run_validation"),
        (lambda: fine_tune(*_tiny_source_task(), epochs=True), "epochs", "fine_tune"),
        (lambda: fine_tune_curve(*_tiny_source_task(), batch_size=True), "batch_size", "fine_tune"),
        (lambda: forward(_tiny_source_task()[0].model, np.zeros((3, 4), np.float32), batch_size=True),
         "batch_size", "forward"),
        (lambda: retrain_head(*_tiny_source_task(), max_iter=True), "max_iter", "retrain_head"),
        (lambda: TrainBudget(steps=True), "steps", "TrainBudget"),
        (lambda: SmallCNN(3, width=True), "width", "SmallCNN"),
        (lambda: CNAPsModel(3, encoder_layers=True), "encoder_layers", "CNAPsModel"),
        (lambda: train_classifier(SmallCNN(3), x, np.arange(4) % 3, epochs=True), "epochs", "train_classifier"),
        (lambda: load_digits_images(size=True), "size", "load_digits_images"),
    ] + [(lambda: apply_shifts(x, {"rotate": True}), "shift 'rotate'", None)]


@pytest.mark.parametrize("index", range(14))
def test_bools_are_refused_as_ints_in_executors_validation_forward_and_adapters(index):
    call, name, caller = _bool_calls()[index]
    pattern = (rf"{name} of {caller}\(\) must be an? (int|float).*; got True \(bool\)" if caller
               else rf"{name} expects degrees in \[-360, 360\]; got True")
    with pytest.raises(InputError, match=pattern):
        call()
