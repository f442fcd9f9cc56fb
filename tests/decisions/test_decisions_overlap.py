"""Leakage check: base-sample provenance (shifted copies, models trained on whole splits), byte
fallback, and "not checked" warnings when a check cannot run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch.nn as nn

from transfergraph.planner import Source, Task
from transfergraph.planner.decisions.trust import data_warnings, sample_overlap
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.provenance import Provenance
from transfergraph.config import load_config
from transfergraph.jobs.suite import _dataset, build_tasks
from transfergraph.jobs.suite_provenance import model_provenances

from decisions_helpers import overlapping_demo_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo():
    """The demo's real tasks cut from one pool (data.disjoint off), and stand-in sources carrying the
    provenance the suite gives its models."""
    config = overlapping_demo_config()
    tasks = build_tasks(config)
    provs = model_provenances(config, tasks, lambda name, key: _dataset(config, name, key))
    node = {f"{t.name}.cnn": t.name for t in tasks} | {f"cnaps@{t.name}": t.name for t in tasks}
    sources = [Source(n, nn.Linear(1, 2), task=node.get(n), provenance=p) for n, p in provs.items()]
    return tasks, sources


def _hits(warnings, source, target):
    return [w for w in warnings if w.startswith("sample overlap") and f"source {source!r}" in w and f"{target!r}" in w]


def test_demo_models_trained_on_the_whole_split_are_flagged(demo):
    tasks, sources = demo
    plan = {"sources": {"digits_0to4": [["cnaps_backbone", 0.98], ["ext_all_digits", 0.9]],
                        "digits_even": [["ext_rot90_digits", 0.5]]}}
    got = data_warnings(plan, tasks=tasks, sources=sources)
    for name in ("cnaps_backbone", "ext_all_digits"):
        hit = _hits(got, name, "digits_0to4")
        assert len(hit) == 1 and "100% of target 'digits_0to4' (same samples)" in hit[0]
    rot = _hits(got, "ext_rot90_digits", "digits_even")  # trained on rotated copies of the same images
    assert len(rot) == 1 and "100% of target 'digits_even' (same base images, shifted)" in rot[0]


def test_demo_shifted_copy_of_the_target_is_flagged(demo):
    tasks, sources = demo
    assert sample_overlap(tasks)[("digits_blur_5to9", "digits_5to9")] == 1.0
    assert sample_overlap(tasks)[("digits_0to4", "digits_noisy_0to4")] == 1.0
    got = data_warnings({"sources": {"digits_5to9": [["digits_blur_5to9", 0.9]]}}, tasks=tasks, sources=sources)
    cnn = _hits(got, "digits_blur_5to9.cnn", "digits_5to9")
    assert len(cnn) == 1 and "100% of target 'digits_5to9' (same base images, shifted)" in cnn[0]
    meta = _hits(got, "cnaps@digits_blur_5to9", "digits_5to9")  # adapted from the backbone: saw the originals
    assert len(meta) == 1 and "via its meta-trained backbone 'cnaps_backbone'" in meta[0]
    assert not any("sample-overlap check not run" in w for w in got)


def test_adapted_models_leaking_through_one_backbone_read_as_one_warning(demo):
    tasks, sources = demo
    plan = {"sources": {"digits_5to9": [["digits_rot45", 0.9], ["digits_inverted", 0.8]]}}
    cnaps = [s for s in sources if s.name.startswith("cnaps@")]
    got = [w for w in data_warnings(plan, tasks=tasks, sources=cnaps) if w.startswith("sample overlap")]
    assert len(got) == 1 and "through meta-trained backbone 'cnaps_backbone', shared by 2 sources" in got[0]
    assert "source 'cnaps@digits_rot45' (node 'digits_rot45') on 100% of target 'digits_5to9' (same samples)" in got[0]
    assert "source 'cnaps@digits_inverted'" in got[0]


def test_disjoint_classes_of_one_pool_do_not_overlap(demo):
    tasks, sources = demo
    plan = {"sources": {"digits_5to9": [["digits_0to4", 0.5]]}}
    got = data_warnings(plan, tasks=tasks, sources=[s for s in sources if s.name == "digits_0to4.cnn"])
    assert not any(w.startswith("sample overlap") for w in got)


def test_lazy_task_without_provenance_says_the_check_did_not_run(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((12, 1, 4, 4)).astype(np.float32)
    y = np.arange(12) % 2
    np.save(tmp_path / "x.npy", x)
    lazy = Task("ondisk", np.load(tmp_path / "x.npy", mmap_mode="r"), y)
    assert lazy.lazy and lazy.provenance is None
    tasks = [Task("mem", x, y), lazy]
    got = data_warnings({"sources": {"ondisk": [["mem", 0.9]]}}, tasks=tasks)
    assert not any(w.startswith("sample overlap") for w in got)
    note = [w for w in got if "sample-overlap check not run" in w]
    assert len(note) == 1 and "['ondisk']" in note[0] and "disk" in note[0]
    pool = Provenance("pool:train", np.arange(12))  # with provenance the same data is checked, bytes unread
    lazy.provenance, tasks[0].provenance = pool, pool
    got = data_warnings({"sources": {"ondisk": [["mem", 0.9]]}}, tasks=tasks)
    assert any(w.startswith("sample overlap") and "100%" in w for w in got)
    assert not any("sample-overlap check not run" in w for w in got)


def test_model_without_provenance_is_named_as_not_checked():
    x = np.random.default_rng(1).random((10, 3)).astype(np.float32)
    tasks = [Task("t", x, np.arange(10) % 2)]
    ckpt = Source("from_file", nn.Linear(3, 2))
    got = data_warnings({"sources": {"t": [["from_file", 0.8]]}}, tasks=tasks, sources=[ckpt])
    assert any("not run for source 'from_file'" in w and "training data is unknown" in w for w in got)


def test_without_tasks_the_plan_says_the_overlap_check_did_not_run():
    got = data_warnings({"sources": {"b": [["a", 0.5]]}}, scores=None)
    assert any(w.startswith("sample-overlap (leakage) check not run") for w in got)
    assert any(w.startswith("own-task chance check not run") for w in got)


def test_bad_provenance_is_refused_with_the_argument_named():
    x, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(InputError, match="provenance of Task 't'"):
        Task("t", x, y, provenance=Provenance("p", np.arange(3)))
    with pytest.raises(InputError, match="provenance of Source 's'"):
        Source("s", nn.Linear(2, 2), provenance="digits")


def test_on_disk_suite_tasks_carry_provenance_and_are_checked(tmp_path):
    from transfergraph.config import JobConfig

    rng = np.random.default_rng(2)
    np.save(tmp_path / "x.npy", rng.random((60, 1, 6, 6)).astype(np.float32))
    np.save(tmp_path / "y.npy", np.arange(60) % 3)
    config = JobConfig.model_validate({
        "name": "disk", "data": {"kind": "npy", "root": str(tmp_path / "x.npy"), "labels": str(tmp_path / "y.npy")},
        "tasks": [{"name": "plain", "classes": [0, 1]}, {"name": "noisy", "classes": [0, 1], "shift": {"noise": 0.2}}],
        "models": {"per_task": True}})
    tasks = build_tasks(config)
    assert all(t.lazy and t.provenance is not None for t in tasks)
    got = data_warnings({"sources": {"plain": [["noisy", 0.9]]}}, tasks=tasks)
    assert any(w.startswith("sample overlap") and "100% of target 'plain' (same base images, shifted)" in w for w in got)
    assert not any("sample-overlap check not run" in w for w in got)
