"""Streaming benchmark: torchvision models x targets cut from an on-disk image folder larger than memory budgets.

What it measures (each phase in a fresh subprocess, so peak RSS is that phase's own):

- ``ours``: ``transfergraph.planner.score`` over lazy tasks (an :class:`~transfergraph.planner.inputs.lazy.ImageFolderReader`), the Ray
  executor with ``--workers`` workers, LEEP, a fresh cache. Reports wall time, the driver's peak RSS
  (``getrusage``) and the largest Ray worker's peak RSS (probe tasks read ``ru_maxrss`` on every
  worker afterwards).
- ``again``: the same call with one more metric (NCE) on the same cache: the pair cache serves LEEP,
  the forward-output store serves the logits for NCE; no model runs.
- ``job``: the memory a scoring run adds to its process, without Ray (``executor="local"``): one source
  (mnasnet0_5, whose 1,280-d features the store captures), the same targets, LEEP, a fresh cache.
  Free heap pages are returned (``malloc_trim``) and the peak is reset (``/proc/self/clear_refs``) just
  before ``score``; reports ``growth_mb`` = peak RSS during ``score`` minus RSS before it (Linux only).
- ``plain``: the loop a user would write: ``DataLoader(ImageFolder(root, ToTensor()),
  batch_size=256, num_workers=2)`` and each model in turn (torch's default threads), logits kept.

Data: ``benchmarks/_imagefolder_gen.py`` (generated once, outside the repository). Models: random
initialisation, ``num_classes=100``, saved as ``state_dict`` files and loaded back through
``transfergraph.adapters.models.zoo.load_zoo_model`` (the config path), with ImageNet mean/std normalisation.

Usage (``--resize 32``: the models see 32 x 32 images, resized in ``Preprocess``; the data plane
still decodes the 96 x 96 PNGs)::

    nice -n 10 python benchmarks/streaming.py --root /work/data/i14_folder40k --per-class 1000 \\
        --small-root /work/data/i14_folder10k --small-per-class 250 --resize 32 --plain-on both \\
        --out /work/data/i14_streaming.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ARCHS = ("mobilenet_v3_small", "shufflenet_v2_x0_5", "squeezenet1_1", "mnasnet0_5")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
HERE = Path(__file__).resolve().parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_models(models_dir: Path) -> dict[str, Path]:
    import torch
    import torchvision

    models_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for i, arch in enumerate(ARCHS):
        path = models_dir / f"{arch}.pt"
        if not path.exists():
            torch.manual_seed(i)
            torch.save(torchvision.models.get_model(arch, weights=None, num_classes=100).state_dict(), path)
        paths[arch] = path
    return paths


def sources(models_dir: Path, resize: int | None):
    from transfergraph.adapters.models.preprocess import Preprocess
    from transfergraph.adapters.models.zoo import load_zoo_model
    from transfergraph.planner import Source

    paths = ensure_models(models_dir)
    return [Source(a, load_zoo_model(f"torchvision:{a}", p), transform=Preprocess(resize=resize, mean=MEAN, std=STD))
            for a, p in paths.items()]


def targets(root: Path, n_targets: int, seed: int = 0):
    """Target 0: every class; the others: seeded subsets of 4-12 classes (rows of one lazy dataset)."""
    from transfergraph.planner import Task
    from transfergraph.planner.inputs.lazy import ImageFolderReader, LazyInputs

    reader = ImageFolderReader(root)
    y = reader.labels()
    n_classes = int(y.max()) + 1
    rng = np.random.default_rng(seed)
    tasks = [Task("all", LazyInputs(reader), y)]
    for t in range(1, n_targets):
        classes = rng.choice(n_classes, size=max(2, min(int(rng.integers(4, 13)), n_classes - 1)), replace=False)
        rows = np.flatnonzero(np.isin(y, classes))
        tasks.append(Task(f"t{t:02d}", LazyInputs(reader, rows), y[rows]))
    return tasks


def _worker_peaks(ray, n: int) -> list[float]:
    @ray.remote(num_cpus=1)
    def probe():
        time.sleep(0.3)
        return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    return sorted({pid: mb for pid, mb in ray.get([probe.remote() for _ in range(n)])}.values())


def phase_ours(args) -> dict:
    from transfergraph.planner import score
    from transfergraph.planner.executors import RayExecutor

    srcs, tasks = sources(Path(args.models_dir), args.resize), targets(Path(args.root), args.targets)
    metrics = ("leep",) if args.phase == "ours" else ("leep", "nce")
    exe = RayExecutor(workers=args.workers)
    start = time.perf_counter()
    df = score(srcs, tasks, metrics=metrics, executor=exe, cache=args.cache, progress=False,
               batch_size=args.batch_size)
    wall = time.perf_counter() - start
    import ray

    peaks = _worker_peaks(ray, 4 * args.workers)
    exe.close()
    return {"phase": args.phase, "wall_s": wall, "driver_peak_rss_mb": _rss_mb(), "worker_peak_rss_mb": peaks,
            "n_images": len(tasks[0].labels), "n_pairs": len(df), "ok": int((df["status"] == "ok").sum()),
            "n_cached": int(df["cached"].sum()), "scores": df[["source", "target", "metric", "score"]].values.tolist()}


def _status_mb(key: str) -> float:
    import re

    return int(re.search(rf"{key}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024


def phase_job(args) -> dict:
    import ctypes

    from transfergraph.planner import score

    srcs = [s for s in sources(Path(args.models_dir), args.resize) if s.name == "mnasnet0_5"]
    tasks = targets(Path(args.root), args.targets)
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # free heap pages go back: the baseline is what is really held
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    df = score(srcs, tasks, metrics=("leep",), executor="local", cache=args.cache, progress=False,
               batch_size=args.batch_size)
    wall, peak = time.perf_counter() - start, _status_mb("VmHWM")
    return {"phase": "job", "wall_s": wall, "rss_before_mb": before, "peak_during_mb": peak,
            "growth_mb": peak - before, "n_images": len(tasks[0].labels), "ok": int((df["status"] == "ok").sum()),
            "scores": df["score"].tolist()}


def phase_plain(args) -> dict:
    import torch
    import torchvision
    from torch.utils.data import DataLoader

    from transfergraph.adapters.models.zoo import load_zoo_model

    paths = ensure_models(Path(args.models_dir))
    steps = [torchvision.transforms.ToTensor()]
    if args.resize:
        steps.append(torchvision.transforms.Resize(args.resize, antialias=True))
    ds = torchvision.datasets.ImageFolder(args.root, transform=torchvision.transforms.Compose(
        steps + [torchvision.transforms.Normalize(MEAN, STD)]))
    start = time.perf_counter()
    for arch, path in paths.items():
        model = load_zoo_model(f"torchvision:{arch}", path)
        outs = []
        with torch.no_grad():
            for x, _ in DataLoader(ds, batch_size=args.batch_size, num_workers=2):
                outs.append(model(x))
        torch.cat(outs)
    return {"phase": "plain", "wall_s": time.perf_counter() - start, "driver_peak_rss_mb": _rss_mb(),
            "n_images": len(ds)}


def _run_phase(phase: str, args, root: str, cache: str) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--root", root, "--cache", cache, "--models-dir",
           args.models_dir, "--targets", str(args.targets), "--workers", str(args.workers),
           "--batch-size", str(args.batch_size)] + (["--resize", str(args.resize)] if args.resize else [])
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{phase:6s} {root}: {result['wall_s']:.1f} s, driver {result['driver_peak_rss_mb']:.0f} MB, "
          f"workers {result.get('worker_peak_rss_mb', '-')}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phase", choices=["all", "ours", "again", "plain", "job"], default="all")
    p.add_argument("--root", required=True)
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--classes", type=int, default=40)
    p.add_argument("--small-root")
    p.add_argument("--small-per-class", type=int, default=250)
    p.add_argument("--models-dir", default="/work/data/i14_models")
    p.add_argument("--cache", default="/work/data/i14_cache")
    p.add_argument("--targets", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--resize", type=int, help="models see the images resized to this side (Preprocess(resize=))")
    p.add_argument("--plain-on", choices=["large", "small", "both"], default="large",
                   help="which dataset size the plain DataLoader loop runs on")
    p.add_argument("--out")
    args = p.parse_args()
    if args.phase != "all":
        result = {"ours": phase_ours, "again": phase_ours, "plain": phase_plain, "job": phase_job}[args.phase](args)
        print(json.dumps(result))
        return
    sys.path.insert(0, str(HERE))
    from _imagefolder_gen import generate

    import shutil

    runs = {}
    sizes = ([("small", args.small_root, args.small_per_class)] if args.small_root else []) + [
        ("large", args.root, args.per_class)]
    for label, root, per_class in sizes:  # the small size first: a complete set of numbers early
        generate(root, classes=args.classes, per_class=per_class)
        cache = f"{args.cache}-{Path(root).name}"
        shutil.rmtree(cache, ignore_errors=True)
        runs[root] = {"ours": _run_phase("ours", args, root, cache), "again": _run_phase("again", args, root, cache)}
        if args.plain_on in (label, "both"):
            runs[root]["plain"] = _run_phase("plain", args, root, cache)
        if args.out:  # written after every size, so an interrupted run keeps what it measured
            Path(args.out).write_text(json.dumps(runs))


if __name__ == "__main__":
    main()
