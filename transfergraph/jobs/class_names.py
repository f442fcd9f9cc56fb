"""Class subsets of image-folder (and Hugging Face ``ClassLabel``) tasks given by name or by position.

An image folder's labels are its classes' positions (folder names sorted, as
``torchvision.datasets.ImageFolder``); a Hugging Face dataset whose label column is a ``ClassLabel``
has integer labels indexing its ``names``. In a config, ``classes`` may name them either way, mixed if
wanted: a string is a class (folder) name (``classes: [tshirt, pullover]``, or ``["3"]`` for a folder
named 3), an integer a position (``classes: [0, 2]``). An integer that is also a class's name at
another position (folders ``1, 10, 2, ...``: position 1 is folder ``10``; folders ``01, 02``:
position 1 is ``02``) is refused as ambiguous rather than guessed. Errors print the name -> position table.

:func:`with_class_positions` rewrites a config's task and external-model ``classes`` to positions
once, so everything downstream (class selection, disjoint shares, provenance) sees labels.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Callable, Mapping, Sequence

from transfergraph.planner.common.exceptions import ConfigError

__all__ = ["class_table_text", "resolve_classes", "with_class_positions"]


def class_table_text(names: Sequence[str], limit: int = 40) -> str:
    """``{'pullover': 0, 'tshirt': 1}``: the name -> position table of an image folder (first ``limit``)."""
    shown = ", ".join(f"{n!r}: {k}" for k, n in enumerate(names[:limit]))
    return "{" + shown + (f", ... ({len(names)} classes)" if len(names) > limit else "") + "}"


def _number(name: str) -> int | None:
    """The integer a class name spells (``"3"``, ``"007"``, and as Python's ``int`` reads them: ``"+1"``,
    ``"-0"``, ``" 7"``, ``"1_0"``, Unicode digits such as ``"١"``), else None. A YAML integer
    (``+1``, ``-0``) that spells a folder's name this way is refused as ambiguous, never taken as a position."""
    try:
        return int(name)
    except ValueError:
        return None


def _why_missing(missing: Sequence[Any], names: Sequence[str], not_classes: Mapping[str, str] | None) -> str:
    """Why names given in ``classes`` are not classes: a sub-folder skipped (and why), or a name that
    differs from a class's only in case or surrounding spaces."""
    folded = {n.strip().casefold(): n for n in names}
    why = []
    for c in missing:
        if not isinstance(c, str):
            continue
        if not_classes and c in not_classes:
            why.append(f"{c!r} is a sub-folder that is not a class ({not_classes[c]})")
        elif c.strip().casefold() in folded:
            why.append(f"{c!r} is not {folded[c.strip().casefold()]!r} (names are matched exactly)")
    return f" ({'; '.join(why)})" if why else ""


def resolve_classes(requested: Sequence[Any], names: Sequence[str], available: Sequence[int], key: str,
                    dataset: str, noun: str = "folder", not_classes: Mapping[str, str] | None = None) -> list[int]:
    """Positions of ``requested`` (folder names and/or positions) among ``names``; ``not_classes``
    (sub-folder -> why it is not a class) explains a name that is such a folder. A name matches a
    folder exactly, or as the same Unicode text (NFC: "café" typed composed matches the decomposed
    "café" macOS writes) when exactly one folder is that text.

    Raises
    ------
    ConfigError
        Naming ``key``: an entry that is no folder name or no position with samples (``available``),
        an integer that is another folder's name, or two entries that select the same class; the
        message shows the name -> position table.
    """
    table = {n: k for k, n in enumerate(names)}
    composed: dict[str, list[int]] = {}  # macOS stores folder names decomposed (NFD), configs are typed composed
    for k, n in enumerate(names):
        composed.setdefault(unicodedata.normalize("NFC", n), []).append(k)
    have = set(int(c) for c in available)
    out, missing = [], []
    for c in requested:
        if isinstance(c, str):
            same = composed.get(unicodedata.normalize("NFC", c), [])
            if c not in table and len(same) == 1:  # the same name, its accents encoded otherwise
                c = names[same[0]]
            if c in table and table[c] in have:
                out.append(table[c])
            else:
                missing.append(c)
            continue
        pos = int(c)
        twin = next((k for k, n in enumerate(names) if _number(n) == pos and k != pos), None)
        if twin is not None:
            raise ConfigError(f"{key}.classes: {pos} is ambiguous: {noun} {names[twin]!r} is at position {twin} while "
                              f"position {pos} is {noun} {names[pos] if 0 <= pos < len(names) else None!r}. Quote "
                              f"{noun} names ({names[twin]!r}) to select by name; classes (name -> position): "
                              f"{class_table_text(names)}.")
        if pos in have:
            out.append(pos)
        else:
            missing.append(c)
    if missing:
        raise ConfigError(f"{key}.classes: {missing} not in dataset {dataset!r}"
                          f"{_why_missing(missing, names, not_classes)}; give {noun} names or positions. "
                          f"Its classes (name -> position): {class_table_text(names)}.")
    if len(set(out)) != len(out):
        dupes = sorted({names[p] for p in out if out.count(p) > 1})
        raise ConfigError(f"{key}.classes: {list(requested)} select the class(es) {dupes} twice (a name and its "
                          f"position); classes (name -> position): {class_table_text(names)}.")
    return out


def with_class_positions(config: Any, load: Callable[[Any, str | None, str], Any]) -> Any:
    """``config`` with every task's and external model's ``classes`` as positions when the data has
    class names (an image folder, a Hugging Face ``ClassLabel`` column; unchanged otherwise).
    ``load(config, dataset, key)`` opens the dataset (the suite's)."""
    if config.data.source not in ("image_folder", "hf_datasets"):
        return config
    specs = [(f"tasks[{i}] ({s.name})", s) for i, s in enumerate(config.tasks)]
    specs += [(f"models.external[{i}] ({s.name})", s) for i, s in enumerate(config.models.external)]
    if not any(getattr(s, "classes", None) is not None for _, s in specs):
        return config
    split = load(config, None, "data")
    names = getattr(split, "class_names", None)
    if names is None:
        return config

    def fix(key: str, spec: Any) -> Any:
        if getattr(spec, "classes", None) is None or getattr(spec, "dataset", None) not in (None, config.data.source):
            return spec
        noun = "folder" if config.data.source == "image_folder" else "class"
        return spec.model_copy(update={"classes": resolve_classes(spec.classes, names, split.classes, key,
                                                                   config.data.root, noun,
                                                                   dict(getattr(split, "skipped", None) or ()))})

    tasks = [fix(key, s) for key, s in specs[:len(config.tasks)]]
    external = [fix(key, s) for key, s in specs[len(config.tasks):]]
    models = config.models.model_copy(update={"external": external})
    return config.model_copy(update={"tasks": tasks, "models": models})
