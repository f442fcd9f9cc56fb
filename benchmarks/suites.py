"""Suites that can tell: the ground-truth suites of the grouping and curriculum decisions (round 2).

Every suite is built from Fashion-MNIST (the Debian package ``dataset-fashion-mnist``'s IDX files), so
that every task has thousands of test images (the whole 10,000-image test set, or the 1,000 test images
of each of its classes) and the judged measure can be the mean test cross-entropy (accuracy beside it).
Images are 2x2-average-pooled to 14x14 (the cost of every trained network falls 4x; the ten classes stay
separable: a width-16 SmallCNN trunk reaches ~0.85 on the 10-way label).

Three kinds of task relations are planted:

- **shared input** (the setting of Standley et al. 2020 and Fifty et al. 2021): several label functions
  of the *same* images (one pool of training, val and test images for every task): the 10-way garment
  label, clothing / footwear / bag, upper-body garment or not (correlated with both), the parity of the
  class index (a split that cuts across garment families: conflicting) and a brightness threshold (a
  nuisance the garment features are built to ignore: conflicting);
- **views**: one label under different input transforms (identity, rotation by 90 degrees, inversion,
  vertical flip) — the features transfer only as far as the transform allows;
- **class splits**: tasks over disjoint or overlapping subsets of the ten classes, each with its own
  head (task-incremental), including random splits into 2-3 classes per task (Li & Hiratani 2025
  average their order rules over such random suites).

A suite is a frozen :class:`Suite`; :func:`build_suite` turns it into the project's
:class:`~transfergraph.planner.validation._training_core.TaskArrays` (train / val split fixed by the
suite's name, never by the training seed). ``GROUPING_SUITES`` (5 tasks each: 31 subsets, every
partition by look-up) and ``CURRICULUM_SUITES`` (4 tasks: 24 orders through the prefix trie) are the
named suites; ``random_split_suites(m)`` the m random class-split curriculum suites.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget

__all__ = ["TaskSpec", "Suite", "GROUPING_SUITES", "CURRICULUM_SUITES", "random_split_suites", "all_suites",
           "build_suite", "suite_trunk", "LABELS", "TRANSFORMS", "FASHION_ROOT"]

FASHION_ROOT = "/usr/share/datasets/fashion-mnist"
#: Fashion-MNIST class ids: 0 T-shirt, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
#: 7 sneaker, 8 bag, 9 ankle boot
FAMILY = np.array([0, 0, 0, 0, 0, 1, 0, 1, 2, 1])  # clothing / footwear / bag
UPPER = np.array([1, 0, 1, 0, 1, 0, 1, 0, 0, 0])   # T-shirt, pullover, coat, shirt


@dataclass(frozen=True)
class TaskSpec:
    """One task: a label function of the images, an optional class subset and an input transform.

    label : a key of :data:`LABELS`; classes : Fashion-MNIST class ids the task keeps (None = all ten);
    transform : a key of :data:`TRANSFORMS` applied to every split of the task (None = identity);
    train_images : labelled training images of this task, the first ones of the suite's draw (None = the
    suite's ``train_images``): a data-poor task on shared input sees a subset of the same images.
    """

    name: str
    label: str = "garment10"
    classes: tuple[int, ...] | None = None
    transform: str | None = None
    train_images: int | None = None


@dataclass(frozen=True)
class Suite:
    """A ground-truth suite: tasks, data sizes and the training budget of its networks.

    kind : "grouping" (every subset trained) or "curriculum" (every order trained);
    shared_input : every task uses the same training / val / test images (needs ``classes`` None);
    train_images / val_images : per task (stratified by the 10-way class); test: every test image of
    the task's classes; width : channels of the SmallCNN trunk's first conv; budget : the per-task
    training budget (:class:`TrainBudget`).
    """

    name: str
    kind: str
    tasks: tuple[TaskSpec, ...]
    shared_input: bool = False
    train_images: int = 2000
    val_images: int = 1000
    width: int = 16
    budget: TrainBudget = field(default_factory=lambda: TrainBudget(steps=400, n_evals=4))
    note: str = ""


def _bright(images: np.ndarray, threshold: float) -> np.ndarray:
    return (images.reshape(len(images), -1).mean(1) > threshold).astype(np.int64)


#: label functions: (10-way class ids, images, brightness threshold) -> codes 0..C-1
LABELS: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "garment10": lambda y, x, thr: y.astype(np.int64),
    "family3": lambda y, x, thr: FAMILY[y],
    "upper": lambda y, x, thr: UPPER[y],
    "parity": lambda y, x, thr: (y % 2).astype(np.int64),
    "mod3": lambda y, x, thr: (y % 3).astype(np.int64),
    "bright": lambda y, x, thr: _bright(x, thr),
}

#: input transforms on (n, 1, H, W) float images in [0, 1]
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "rot90": lambda x: np.ascontiguousarray(np.rot90(x, 1, axes=(2, 3))),
    "invert": lambda x: 1.0 - x,
    "flipud": lambda x: np.ascontiguousarray(x[:, :, ::-1, :]),
    "fliplr": lambda x: np.ascontiguousarray(x[:, :, :, ::-1]),
    "rot180": lambda x: np.ascontiguousarray(np.rot90(x, 2, axes=(2, 3))),
    "transpose": lambda x: np.ascontiguousarray(np.swapaxes(x, 2, 3)),
    "invert_rot90": lambda x: 1.0 - np.ascontiguousarray(np.rot90(x, 1, axes=(2, 3))),
}

_B = TrainBudget(steps=400, n_evals=4)     # grouping networks
_C = TrainBudget(steps=200, n_evals=2)     # each stage of the sequential learner

GROUPING_SUITES: dict[str, Suite] = {s.name: s for s in (
    Suite("fm_shared5", "grouping", (
        TaskSpec("garment10"), TaskSpec("family3", "family3"), TaskSpec("upper", "upper"),
        TaskSpec("parity", "parity"), TaskSpec("bright", "bright")), shared_input=True, budget=_B,
        note="five label functions of the same images: correlated (garment10 / family3 / upper) and "
             "conflicting (parity across families, brightness as a nuisance)"),
    Suite("fm_shared5b", "grouping", (
        TaskSpec("garment10", train_images=300), TaskSpec("family3", "family3"), TaskSpec("upper", "upper"),
        TaskSpec("parity", "parity", train_images=300), TaskSpec("bright", "bright")),
        shared_input=True, train_images=3000, budget=_B,
        note="redesign of fm_shared5 (its pair gains did not reproduce): two data-poor tasks (300 labelled "
             "images of the shared 3,000) that partners can help or hurt, three data-rich ones"),
    Suite("fm_views5", "grouping", (
        TaskSpec("id10"), TaskSpec("rot10", transform="rot90"), TaskSpec("inv10", transform="invert"),
        TaskSpec("flip_upper", "upper", transform="flipud"), TaskSpec("inv_bright", "bright", transform="invert")),
        shared_input=True, budget=_B,
        note="one image pool under four transforms; three tasks share the 10-way label"),
    Suite("fm_split5", "grouping", (
        TaskSpec("tops", classes=(0, 2, 4, 6)), TaskSpec("footwear", classes=(5, 7, 9)),
        TaskSpec("mixed_a", classes=(0, 1, 5, 8)), TaskSpec("mixed_b", classes=(2, 3, 7, 9)),
        TaskSpec("all_rot90", transform="rot90")), budget=_B,
        note="round 1's F6s with 2,000 training and >= 3,000 test images per task"),
    # redesigns of fm_views5 / fm_split5 after both failed the gate (pair-gain reliability 0.19 / 0.37 with
    # 7 / 8 seeds), as fm_shared5b redesigned fm_shared5: two data-poor tasks that partners can help or hurt
    Suite("fm_views5b", "grouping", (
        TaskSpec("id10", train_images=300), TaskSpec("rot10", transform="rot90"),
        TaskSpec("inv10", transform="invert", train_images=300), TaskSpec("flip_upper", "upper", transform="flipud"),
        TaskSpec("inv_bright", "bright", transform="invert")), shared_input=True, train_images=3000, budget=_B,
        note="redesign of fm_views5: id10 and inv10 see only 300 of the 3,000 shared images' labels"),
    Suite("fm_split5b", "grouping", (
        TaskSpec("tops", classes=(0, 2, 4, 6), train_images=300), TaskSpec("footwear", classes=(5, 7, 9)),
        TaskSpec("mixed_a", classes=(0, 1, 5, 8), train_images=300), TaskSpec("mixed_b", classes=(2, 3, 7, 9)),
        TaskSpec("all_rot90", transform="rot90")), train_images=3000, budget=_B,
        note="redesign of fm_split5: tops and mixed_a data-poor (300 of 3,000 images), partners overlap their classes"),
    # round 4 (designed 2026-12-07 13:21 UTC, before any of their networks was trained; gate pre-registered:
    # 12 seeds, then the Spearman-Brown projection, at most 24 seeds): three data-poor tasks of five (200 of
    # the 3,000 shared images' labels) so that 12 of the 20 pair gains are a partner's help or harm to a
    # task that needs it; 5b had two data-poor tasks of 300
    Suite("fm_shared5c", "grouping", (
        TaskSpec("garment10", train_images=200), TaskSpec("upper", "upper", train_images=200),
        TaskSpec("mod3", "mod3", train_images=200), TaskSpec("family3", "family3"), TaskSpec("bright", "bright")),
        shared_input=True, train_images=3000, budget=_B,
        note="five label functions of the same images, three data-poor (garment10, upper and the class index "
             "mod 3, which cuts across garment families)"),
    # after fm_shared5c failed its pre-registered gate (0.61 at 12 seeds, 31 projected; designed 13:45 UTC
    # before any of its networks was trained): fm_shared5b's design (two data-poor tasks of 300) with the
    # class index mod 3 in place of the parity
    Suite("fm_shared5d", "grouping", (
        TaskSpec("garment10", train_images=300), TaskSpec("mod3", "mod3", train_images=300),
        TaskSpec("family3", "family3"), TaskSpec("upper", "upper"), TaskSpec("bright", "bright")),
        shared_input=True, train_images=3000, budget=_B,
        note="five label functions of the same images, two data-poor (garment10 and the class index mod 3)"),
    Suite("fm_views5c", "grouping", (
        TaskSpec("id10", train_images=200), TaskSpec("fliplr10", transform="fliplr"),
        TaskSpec("rot10", transform="rot90", train_images=200), TaskSpec("inv10", transform="invert"),
        TaskSpec("inv_upper", "upper", transform="invert", train_images=200)), shared_input=True, train_images=3000,
        budget=_B,
        note="one image pool under four transforms, three data-poor views: a near-identical view (fliplr) "
             "and an opposite one (invert) as data-rich partners"),
)}

CURRICULUM_SUITES: dict[str, Suite] = {s.name: s for s in (
    Suite("fm_shared4c", "curriculum", (
        TaskSpec("family3", "family3"), TaskSpec("upper", "upper"), TaskSpec("parity", "parity"),
        TaskSpec("bright", "bright")), shared_input=True, budget=_C,
        note="four label functions of the same images, one head each"),
    Suite("fm_views4c", "curriculum", (
        TaskSpec("id10"), TaskSpec("rot10", transform="rot90"), TaskSpec("inv10", transform="invert"),
        TaskSpec("flip10", transform="flipud")), shared_input=True, budget=_C,
        note="the 10-way label under four input transforms (domain-incremental, one head per task)"),
    Suite("fm_split4c", "curriculum", (
        TaskSpec("tops", classes=(0, 2, 4, 6)), TaskSpec("footwear", classes=(5, 7, 9)),
        TaskSpec("others", classes=(1, 3, 8)), TaskSpec("all_inv", transform="invert")), budget=_C,
        note="class-split tasks and a transformed 10-way task"),
    # round 3 (designed 2026-12-07 before any of their networks was trained): fresh gated suites on which
    # the default chosen on the round-2 tables is judged (RESULTS.md section 7d)
    Suite("fm_views4d", "curriculum", (
        TaskSpec("rot180_10", transform="rot180"), TaskSpec("transp10", transform="transpose"),
        TaskSpec("fliplr10", transform="fliplr"), TaskSpec("invrot10", transform="invert_rot90")),
        shared_input=True, budget=_C,
        note="the 10-way label under four transforms not used in round 2 (domain-incremental)"),
    Suite("fm_shared4d", "curriculum", (
        TaskSpec("garment10"), TaskSpec("family3", "family3"), TaskSpec("upper", "upper"),
        TaskSpec("parity", "parity")), shared_input=True, budget=_C,
        note="four label functions of the same images: the 10-way label and three coarsenings of it"),
    # round 4 (designed 2026-12-07 13:29 UTC before any of their networks was trained): fresh gated suites on which
    # the curriculum candidate chosen on every round-2 and round-3 table is judged (RESULTS.md section 7g)
    Suite("fm_shared4e", "curriculum", (
        TaskSpec("garment10"), TaskSpec("mod3", "mod3"), TaskSpec("bright", "bright"), TaskSpec("upper", "upper")),
        shared_input=True, budget=_C,
        note="four label functions of the same images: the 10-way label, the class index mod 3 (across families), "
             "brightness (a nuisance) and upper-body garment or not"),
    Suite("fm_views4e", "curriculum", (
        TaskSpec("id10"), TaskSpec("rot180_10", transform="rot180"), TaskSpec("transp10", transform="transpose"),
        TaskSpec("inv10", transform="invert")), shared_input=True, budget=_C,
        note="the 10-way label under four transforms, a combination not used before (domain-incremental)"),
    Suite("fm_split4e", "curriculum", (
        TaskSpec("tpc", classes=(0, 2, 4)), TaskSpec("tds", classes=(1, 3, 6)), TaskSpec("ssbb", classes=(5, 7, 8, 9)),
        TaskSpec("all_rot180", transform="rot180")), budget=_C,
        note="three disjoint class-split tasks and a rotated 10-way task"),
)}


def random_split_suites(m: int = 10, sizes: Sequence[int] = (3, 3, 2, 2)) -> dict[str, Suite]:
    """``m`` curriculum suites ``fm_rand<i>``: a random partition of the ten classes (permutation seeded
    by i) into tasks of ``sizes`` classes, each task with its own head."""
    if sum(sizes) > 10 or min(sizes) < 2:
        raise InputError(f"sizes of random_split_suites must be >= 2 each and sum to <= 10; got {list(sizes)}.")
    out = {}
    for i in range(m):
        perm = np.random.default_rng(derive_seed(i, "fm_rand")).permutation(10)
        cuts = np.cumsum([0, *sizes])
        tasks = tuple(TaskSpec("c" + "".join(map(str, sorted(perm[a:b]))), classes=tuple(sorted(int(c) for c in perm[a:b])))
                      for a, b in zip(cuts[:-1], cuts[1:]))
        out[f"fm_rand{i}"] = Suite(f"fm_rand{i}", "curriculum", tasks, budget=_C,
                                   note=f"random class split {[t.classes for t in tasks]}")
    return out


def all_suites() -> dict[str, Suite]:
    """Every named suite and the thirty random class-split suites (``fm_rand0..9``: round 2;
    ``fm_rand10..19``: round 3, ``fm_rand20..29``: round 4, judged only), by name."""
    return {**GROUPING_SUITES, **CURRICULUM_SUITES, **random_split_suites(30)}


def _pool(x: np.ndarray) -> np.ndarray:
    """(n, 1, 28, 28) -> (n, 1, 14, 14) by 2x2 average pooling."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean((3, 5)).astype(np.float32)


def _stratified(y: np.ndarray, keep: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices among ``keep`` (a boolean mask), balanced over the classes of y[keep]."""
    classes = np.unique(y[keep])
    per = -(-n // len(classes))
    picked = [rng.permutation(np.flatnonzero(keep & (y == c)))[:per] for c in classes]
    return np.sort(rng.permutation(np.concatenate(picked))[:n])


def build_suite(suite: Suite, root: str = FASHION_ROOT) -> list[TaskArrays]:
    """The suite's tasks as TaskArrays (14x14 images; split fixed by the suite name).

    Shared input: one stratified draw of ``train_images`` + ``val_images`` training images and the whole
    test set, relabelled by each task's label function (brightness threshold = median mean intensity of
    the training draw). Otherwise each task draws its own images from its classes.
    Raises InputError: an unknown label or transform, a shared-input task with a class subset, a label
    function that leaves fewer than two classes.
    """
    from transfergraph.adapters.datasets import load_fashion_mnist
    from transfergraph.planner.validation._training_core import _tensor
    import torch

    for t in suite.tasks:
        if t.label not in LABELS or (t.transform is not None and t.transform not in TRANSFORMS):
            raise InputError(f"task {t.name!r} of suite {suite.name!r}: label must be one of {sorted(LABELS)} and "
                             f"transform one of {sorted(TRANSFORMS)} or None; got {t.label!r}, {t.transform!r}.")
        if suite.shared_input and t.classes is not None:
            raise InputError(f"suite {suite.name!r} has shared input; task {t.name!r} must not set classes.")
    x_tr, y_tr = load_fashion_mnist(root, "train")
    x_te, y_te = load_fashion_mnist(root, "test")
    rng = np.random.default_rng(derive_seed(0, "suite", suite.name))
    n = suite.train_images + suite.val_images
    every = np.ones(len(y_tr), bool)
    shared = rng.permutation(_stratified(y_tr, every, n, rng)) if suite.shared_input else None
    out = []
    for t in suite.tasks:
        keep = every if t.classes is None else np.isin(y_tr, t.classes)
        idx = shared if shared is not None else rng.permutation(_stratified(y_tr, keep, n, rng))
        if t.train_images is not None and not 10 <= t.train_images <= suite.train_images:
            raise InputError(f"train_images of task {t.name!r} must be in [10, {suite.train_images}]; got {t.train_images!r}.")
        tr = np.sort(idx[:suite.train_images if t.train_images is None else t.train_images])
        va = np.sort(idx[suite.train_images:])
        te = np.arange(len(y_te)) if t.classes is None else np.flatnonzero(np.isin(y_te, t.classes))
        split = {"train": (_pool(x_tr[tr]), y_tr[tr]), "val": (_pool(x_tr[va]), y_tr[va]),
                 "test": (_pool(x_te[te]), y_te[te])}
        thr = float(np.median(split["train"][0].reshape(len(tr), -1).mean(1)))
        arrays = {}
        for part, (x, y) in split.items():
            codes = LABELS[t.label](y, x, thr)  # labels of the untransformed images
            if t.classes is not None and t.label == "garment10":
                codes = np.searchsorted(np.asarray(sorted(t.classes)), y)
            if t.transform is not None:
                x = TRANSFORMS[t.transform](x)
            arrays[part] = (_tensor(x), torch.from_numpy(codes.astype(np.int64)))
        n_classes = int(arrays["train"][1].max()) + 1
        if n_classes < 2 or len(np.unique(arrays["train"][1].numpy())) < n_classes:
            raise InputError(f"task {t.name!r} of suite {suite.name!r} has classes {np.unique(arrays['train'][1].numpy())}; "
                             "a task needs codes 0..C-1 with C >= 2.")
        out.append(TaskArrays(t.name, n_classes, *arrays["train"], *arrays["val"], *arrays["test"]))
    return out


def suite_trunk(suite: Suite) -> Callable[[], object]:
    """Factory of the suite's shared trunk: SmallCNN(width, feature_dim 64).features."""
    from transfergraph.adapters.models import SmallCNN

    width = suite.width

    def trunk():
        return SmallCNN(2, 1, width, 64).features

    return trunk
