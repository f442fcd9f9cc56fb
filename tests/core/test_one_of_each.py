"""One of each: one content-hash module, one atomic-write helper, one dedupe-pool builder, one
``derive_seed``, one epoch loop, one safe checkpoint loader -- with the numbers and cache keys they
produced before they were merged."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest

from transfergraph.planner.common.dedupe import dedupe_rows
from transfergraph.planner.common.exceptions import CheckpointError, InputError
from transfergraph.planner.common.fingerprint import arrays_key
from transfergraph.planner.common.io import atomic_write_bytes, atomic_write_with, commit_file

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = [p for d in ("planner", "adapters", "transfergraph") for p in sorted((ROOT / d).rglob("*.py"))]


def _defined(name: str) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in LIBRARY for node in ast.walk(ast.parse(p.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name]


def _calls(attr: str, owner: str | None = None) -> list[str]:
    """Files that use ``.attr`` (on the name ``owner`` when given, e.g. ``os.replace``)."""
    return sorted({str(p.relative_to(ROOT)) for p in LIBRARY for node in ast.walk(ast.parse(p.read_text()))
                   if isinstance(node, ast.Attribute) and node.attr == attr
                   and (owner is None or (isinstance(node.value, ast.Name) and node.value.id == owner))})


def test_each_concept_is_implemented_once():
    assert _defined("derive_seed") == ["planner/common/seeds.py"]
    assert _calls("fsync", "os") == ["planner/common/io.py", "planner/storage/cache.py"]  # cache: its appends
    # file renames: io.py; the Ray staging folder (a directory, renamed once) is the other
    assert _calls("replace", "os") == ["planner/common/io.py", "planner/executors/ray_connect.py"]
    assert [p for p in _calls("load") if "torch" in (ROOT / p).read_text() and "weights_only" in (ROOT / p).read_text()
            and "torch.load(path" in (ROOT / p).read_text()] == ["planner/runtime/checkpoints.py"]
    assert _calls("randperm") == ["planner/runtime/epochs.py"]
    users_of_hashlib = sorted(str(p.relative_to(ROOT)) for p in LIBRARY if "import hashlib" in p.read_text())
    assert users_of_hashlib == ["planner/common/fingerprint.py", "planner/common/seeds.py"]


def test_arrays_key_keeps_the_cache_keys_written_before():
    """The two SHA-256 keys it replaced: the job's trained-model files and the decision-validation trunks."""
    torch = pytest.importorskip("torch")
    from transfergraph.jobs.suite import _fingerprint
    from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget
    from transfergraph.planner.validation._training_core import arrays_key as trunk_key

    x = np.arange(24, dtype=np.float32).reshape(4, 6) / 7
    y = np.array([0, 1, 0, 1], dtype=np.int64)
    assert _fingerprint(x, y, meta={"arch": "cnn", "epochs": 3, "seed": 0}) == "2264366508474005"
    t = lambda a: torch.from_numpy(a.copy())  # noqa: E731
    data = [TaskArrays("a", 2, t(x), t(y), t(x[:2]), t(y[:2]), t(x[2:]), t(y[2:])),
            TaskArrays("b", 2, t(x[::-1].copy()), t(y), t(x[:1]), t(y[:1]), t(x[1:]), t(y[1:]))]
    assert trunk_key(data, TrainBudget(steps=10, n_evals=2), "trunk:cnn", 3, "joint") == "3c04e432f5943c24"
    assert arrays_key(b"a", x) != arrays_key(b"a", x.astype(np.float64)) != arrays_key(b"b", x)


def test_dedupe_rows_keeps_first_appearances_and_maps_every_row():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, 2, 3)).astype(np.float32)
    arrays = [base[rng.integers(0, 30, 20)] for _ in range(4)] + [base[:0]]
    out = dedupe_rows(arrays)
    order = []  # the naive definition: distinct rows in order of first appearance
    for a in arrays:
        for row in a:
            if not any(np.array_equal(row, r) for r in order):
                order.append(row)
    assert np.array_equal(out.data, np.array(order))
    for a, idx in zip(arrays, out.index):
        assert np.array_equal(out.data[idx], a)
    assert len(out.ids) == len(out.data) and len(set(out.ids.tolist())) == len(out.ids)
    with pytest.raises(InputError, match=r"arrays\[1\] of build_pool\(\) must have dtype float32"):
        dedupe_rows([base, base.astype(np.float64)], caller="build_pool")
    with pytest.raises(InputError, match="at least one array"):
        dedupe_rows([])


def test_atomic_writes_replace_whole_files_or_leave_them(tmp_path):
    path = atomic_write_bytes(tmp_path / "a.bin", b"old", sync_dir=True)
    with pytest.raises(RuntimeError):
        atomic_write_with(path, lambda tmp: (Path(tmp).write_bytes(b"half"), (_ for _ in ()).throw(RuntimeError("x"))))
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["a.bin"]
    tmp = tmp_path / ".b.tmp"
    fh = open(tmp, "wb")
    fh.write(b"streamed")
    commit_file(tmp, tmp_path / "b.bin", fh=fh)
    assert fh.closed and (tmp_path / "b.bin").read_bytes() == b"streamed" and not tmp.exists()


def test_run_epochs_is_the_loop_both_trainers_ran():
    """The loop the fine-tuning and the job's trainer each had, inlined: same losses and weights, bit for bit."""
    torch = pytest.importorskip("torch")
    from transfergraph.planner.runtime.epochs import run_epochs

    rng = np.random.default_rng(0)
    x, y = torch.tensor(rng.normal(size=(67, 8)).astype(np.float32)), torch.tensor(rng.integers(0, 3, 67))

    def net():
        torch.manual_seed(1)
        return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                   torch.nn.Linear(16, 3))

    def old_loop(model, opt, gen):
        history = []
        for _ in range(3):
            model.train()
            order = torch.randperm(len(x), generator=gen)
            total, count = 0.0, 0
            for lo in range(0, len(x), 16):
                idx = order[lo:lo + 16]
                if len(idx) < 2:
                    continue
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            history.append(total / max(count, 1))
        return history

    results = []
    for loop in ("old", "new"):
        model = net()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(4)
        seen: list[int] = []
        if loop == "old":
            history = old_loop(model, opt, gen)
        else:
            history = run_epochs(model, x, y, optimizer=opt, loss_fn=torch.nn.CrossEntropyLoss(), generator=gen,
                                 epochs=3, batch_size=16, on_epoch=lambda e, _: seen.append(e))
            assert seen == [1, 2, 3]
        results.append((history, [p.detach().clone() for p in model.state_dict().values()]))
    (h_old, w_old), (h_new, w_new) = results
    assert h_old == h_new and all(torch.equal(a, b) for a, b in zip(w_old, w_new))


def test_load_weights_reads_tensors_and_refuses_code(tmp_path):
    torch = pytest.importorskip("torch")
    from transfergraph.planner.runtime.checkpoints import load_weights

    torch.save({"w": torch.ones(2)}, tmp_path / "ok.pt")
    assert torch.equal(load_weights(tmp_path / "ok.pt")["w"], torch.ones(2))
    torch.save({"f": np.random.default_rng}, tmp_path / "code.pt")  # a pickled callable: never run
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    for name in ("code.pt", "junk.pt"):
        with pytest.raises(CheckpointError, match=rf"CNAPs checkpoint .*{name} cannot be read safely \(\w+: .*\); do X"):
            load_weights(tmp_path / name, what="CNAPs checkpoint", advice="; do X")
