"""Generate the zoo-scale benchmark's inputs (``benchmarks/zoo_scale.py``): an on-disk image pool, a zoo
of briefly trained source checkpoints and the configs that name them.

Everything goes under one folder (default ``runs/zoo_scale``, ignored by git) and is resumable: a file
that exists is kept (written atomically, so a file that exists is whole).

- ``pool_x.npy`` (uint8, ``(n, 1, 28, 28)``) and ``pool_y.npy`` (int64): Fashion-MNIST's 60,000 training
  images (labels 0-9) and every odd-indexed image of scikit-learn's digits upsampled to 28 x 28 (labels
  10-19): 60,898 images. Targets are cut from it by ``data.kind: npy``.
- ``models/mNNN.pt``: source model ``NNN`` (``save_model`` checkpoints), trained for ``steps`` Adam
  steps on a class subset and a domain shift of Fashion-MNIST's *test* images and the even-indexed
  digits (disjoint from the pool). Four architectures cycle with the index: ``small_cnn`` width 8
  (4 of every 10), ``small_cnn`` width 16 (3), ``torchvision:shufflenet_v2_x0_5`` (2) and
  ``torchvision:squeezenet1_1`` (1); the torchvision models see the 1-channel images repeated to 3
  channels, normalized by mean 0.5, s.d. 0.5 (``preprocess`` in the config); squeezenet's features
  (it has no ``nn.Linear``) are its average-pooled ``features`` maps.
- ``zoo_S x T.yaml``: the first ``S`` models x the first ``T`` targets (class subsets of the pool's
  20 classes, a quarter of them with a domain shift), ``n_per_class`` samples per class.

The specs of model ``i`` and target ``t`` are functions of the index alone (seeded), so a larger zoo
starts with the same models and targets as a smaller one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

FAMILIES = (("small_cnn", 8), ("small_cnn", 8), ("small_cnn", 8), ("small_cnn", 8),
            ("small_cnn", 16), ("small_cnn", 16), ("small_cnn", 16),
            ("torchvision:shufflenet_v2_x0_5", None), ("torchvision:shufflenet_v2_x0_5", None),
            ("torchvision:squeezenet1_1", None))
SHIFTS = ({"rotate": 45.0}, {"invert": True}, {"noise": 0.3}, {"blur": 1.0}, {"rotate": 90.0})
TV_PREPROCESS = {"channels": 3, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
N_POOL_CLASSES = 20


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def _digits28() -> tuple[np.ndarray, np.ndarray]:
    from transfergraph.adapters.datasets.digits import load_digits_images

    x, y = load_digits_images(28)
    return x, y


def ensure_pool(root: Path, n_fmnist: int | None = None) -> tuple[Path, Path]:
    """``pool_x.npy``/``pool_y.npy`` (see the module docstring; ``n_fmnist``: only the first that many
    Fashion-MNIST images, for the test's tiny tier); returns their paths."""
    from transfergraph.adapters.datasets.fashion_mnist import load_fashion_mnist

    px, py = root / "pool_x.npy", root / "pool_y.npy"
    if px.is_file() and py.is_file():
        return px, py
    root.mkdir(parents=True, exist_ok=True)
    fx, fy = load_fashion_mnist(split="train")
    fx, fy = fx[:n_fmnist], fy[:n_fmnist]
    dx, dy = _digits28()
    x = np.concatenate([fx, dx[1::2]])
    y = np.concatenate([fy.astype(np.int64), dy[1::2].astype(np.int64) + 10])
    _atomic_save_npy(py, y)
    _atomic_save_npy(px, np.round(x * 255).clip(0, 255).astype(np.uint8))
    return px, py


def model_spec(i: int) -> dict[str, Any]:
    """What model ``i`` is trained on: architecture, width, data (fmnist | digits | both), classes, shift."""
    rng = np.random.default_rng([7, i])
    arch, width = FAMILIES[i % len(FAMILIES)]
    domain = ("fmnist", "fmnist", "fmnist", "fmnist", "fmnist", "fmnist", "digits", "digits", "both", "both")[
        int(rng.integers(10))]
    k = int(rng.integers(3, 11))
    if domain == "both":
        classes = sorted(rng.choice(10, size=max(2, k // 2), replace=False).tolist()
                         + (10 + rng.choice(10, size=max(2, k - k // 2), replace=False)).tolist())
    else:
        classes = sorted((rng.choice(10, size=k, replace=False) + (10 if domain == "digits" else 0)).tolist())
    shift = dict(SHIFTS[int(rng.integers(len(SHIFTS)))]) if rng.random() < 0.4 else {}
    return {"name": f"m{i:03d}", "arch": arch, "width": width, "classes": classes, "shift": shift,
            "seed": int(rng.integers(2**31))}


def target_spec(t: int, n_per_class: int) -> dict[str, Any]:
    """Target ``t``: a class subset of the pool (Fashion-MNIST, digits or both), a shift for a quarter."""
    rng = np.random.default_rng([11, t])
    r = rng.random()
    k = int(rng.integers(2, 11))
    if r < 0.7:
        classes = rng.choice(10, size=k, replace=False)
    elif r < 0.9:
        classes = 10 + rng.choice(10, size=k, replace=False)
    else:
        classes = np.concatenate([rng.choice(10, size=max(1, k // 2), replace=False),
                                  10 + rng.choice(10, size=max(1, k - k // 2), replace=False)])
    spec: dict[str, Any] = {"name": f"t{t:03d}", "classes": sorted(int(c) for c in classes),
                            "n_per_class": int(n_per_class)}
    if rng.random() < 0.25:
        spec["shift"] = dict(SHIFTS[int(rng.integers(len(SHIFTS)))])
    return spec


def _source_train_data() -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's test split (labels 0-9) and the even-indexed digits (10-19): disjoint from the pool."""
    from transfergraph.adapters.datasets.fashion_mnist import load_fashion_mnist

    fx, fy = load_fashion_mnist(split="test")
    dx, dy = _digits28()
    return (np.concatenate([fx, dx[0::2]]).astype(np.float32),
            np.concatenate([fy.astype(np.int64), dy[0::2].astype(np.int64) + 10]))


def _build(spec: dict[str, Any], n_classes: int):
    import torch
    import torchvision

    from transfergraph.adapters.models.small_cnn import SmallCNN

    torch.manual_seed(spec["seed"])
    if spec["arch"] == "small_cnn":
        return SmallCNN(n_classes, 1, width=spec["width"], feature_dim=4 * spec["width"])
    return torchvision.models.get_model(spec["arch"].partition(":")[2], weights=None, num_classes=n_classes)


def train_model(spec: dict[str, Any], x_all: np.ndarray, y_all: np.ndarray, path: Path, *, steps: int,
                batch: int = 64, max_per_class: int = 300) -> None:
    """Train model ``spec`` for ``steps`` Adam steps (one torch thread) and save it at ``path``."""
    import torch
    from torch import nn

    from transfergraph.adapters.datasets.shifts import apply_shifts
    from transfergraph.adapters.models import save_model
    from transfergraph.adapters.models.preprocess import Preprocess

    rng = np.random.default_rng(spec["seed"])
    rows = np.concatenate([rng.permutation(np.flatnonzero(y_all == c))[:max_per_class] for c in spec["classes"]])
    x = apply_shifts(x_all[rows], spec["shift"], seed=spec["seed"]) if spec["shift"] else x_all[rows]
    codes = np.searchsorted(np.array(spec["classes"]), y_all[rows])
    model = _build(spec, len(spec["classes"]))
    prep = Preprocess(**TV_PREPROCESS) if spec["arch"] != "small_cnn" else None
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(codes)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(spec["seed"])
    torch.set_num_threads(1)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(xt), (batch,), generator=gen)
        xb = xt[idx] if prep is None else prep(xt[idx])
        loss = nn.functional.cross_entropy(model(xb), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    arch = None if spec["arch"] == "small_cnn" else spec["arch"]
    save_model(model, path, arch=arch, extra={"classes": [str(c) for c in spec["classes"]], "spec": repr(spec)})


def _train_range(args: tuple[list[int], str, int]) -> int:
    indices, models_dir, steps = args
    x_all, y_all = _source_train_data()
    for i in indices:
        path = Path(models_dir) / f"m{i:03d}.pt"
        if not path.is_file():
            train_model(model_spec(i), x_all, y_all, path, steps=steps)
    return len(indices)


def ensure_models(root: Path, n_models: int, *, steps: int, procs: int = 2) -> list[Path]:
    """Train (in ``procs`` processes) the models that do not exist yet; returns every model's path."""
    models_dir = root / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    paths = [models_dir / f"m{i:03d}.pt" for i in range(n_models)]
    todo = [i for i, p in enumerate(paths) if not p.is_file()]
    if todo:
        if procs > 1 and len(todo) > 1:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(procs) as pool:
                pool.map(_train_range, [(todo[k::procs], str(models_dir), steps) for k in range(procs)])
        else:
            _train_range((todo, str(models_dir), steps))
    return paths


def write_config(root: Path, n_models: int, n_targets: int, n_per_class: int, *,
                 metrics: tuple[str, ...] = ("leep", "nce", "logme"), workers: int = 2,
                 batch_size: int = 256, name: str | None = None, executor: str = "ray") -> Path:
    """The config of the first ``n_models`` models x the first ``n_targets`` targets (rewritten each time:
    it is cheap and must match the arguments)."""
    import yaml

    px, py = ensure_pool(root)
    models = []
    for i in range(n_models):
        spec = model_spec(i)
        checkpoint = (root / "models" / f"{spec['name']}.pt").resolve()
        entry: dict[str, Any] = {"name": spec["name"], "checkpoint": str(checkpoint)}
        if spec["arch"] != "small_cnn":
            entry["preprocess"] = dict(TV_PREPROCESS)
        if spec["arch"] == "torchvision:squeezenet1_1":  # no nn.Linear: its features are the pooled conv maps
            entry.update(feature_layer="features", pooling="avg")
        models.append(entry)
    config = {
        "name": name or f"zoo_{n_models}x{n_targets}",
        "seed": 0,
        "data": {"kind": "npy", "root": str(px.resolve()), "labels": str(py.resolve()), "test_fraction": 0.3},
        "tasks": [target_spec(t, n_per_class) for t in range(n_targets)],
        "models": {"per_task": False, "external": models},
        "scoring": {"metrics": list(metrics), "executor": executor, "workers": workers, "cache": True,
                    "batch_size": batch_size},
        "plan": {"metric": "leep", "top_k": 3, "time_limit": 20},
    }
    path = root / f"{config['name']}_pc{n_per_class}.yaml"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=120))
    os.replace(tmp, path)
    return path
