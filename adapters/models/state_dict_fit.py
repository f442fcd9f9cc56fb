"""Checkpoints as users save them: find the ``state_dict`` inside its nesting and fit its keys to a model.

:func:`find_state_dict` takes what ``torch.load`` returned and finds the mapping of parameter names to
tensors: the object itself, or a dict nested under string keys (at most 3 levels), such as Lightning's
``{"state_dict": ...}``, ``{"model": ...}``, ``{"model_state_dict": ...}``, ``{"ema": ...}``. When
several are nested, the first of :data:`NEST_PRIORITY` wins (the others are named in the notes).
Plain non-tensor entries stored beside the tensors (a step counter, ``None``) are dropped and named
in the notes.

:func:`fit_state_dict` maps the checkpoint's keys onto the model's. A key ``k`` becomes ``q + k[len(p):]``
for a dotted prefix ``p`` of the checkpoint's keys (``module.`` from DataParallel/DDP, ``_orig_mod.``
from ``torch.compile``, ``module._orig_mod.``, ``model.``/``net.`` from a Lightning module, or any other)
and a dotted prefix ``q`` of every model key (a model that wraps its layers); the wrapper components
``module`` and ``_orig_mod`` may also be dropped wherever they occur (a compiled or DataParallel
sub-module). A mapping is accepted only when it gives the model's keys *exactly* (every model key
once; a missing ``num_batches_tracked`` buffer is allowed, as ``load_state_dict`` allows it) with
the model's shapes, and only when it is the one such mapping up to its choice of prefixes. Keys
outside ``p`` are then ignored and named in the notes (e.g. a Lightning module's loss weights).
Otherwise :class:`~transfergraph.planner.common.exceptions.CheckpointError` names the first
unexpected and missing keys, the prefix the checkpoint's keys share, the shape mismatches, and what to do.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Sequence

from transfergraph.planner.common.exceptions import CheckpointError

__all__ = ["find_state_dict", "fit_state_dict", "check_shapes", "common_prefix", "NEST_PRIORITY", "WRAPPERS"]

#: Keys under which training scripts nest the weights, most likely first.
NEST_PRIORITY = ("state_dict", "model_state_dict", "model", "module", "net", "network", "weights", "params",
                 "ema", "model_ema", "state_dict_ema", "ema_state_dict")

#: Module names added by wrappers, with who adds them (for the notes).
WRAPPERS = {"module": "DataParallel/DistributedDataParallel", "_orig_mod": "torch.compile"}

_SHOWN = 5  # keys shown per list in messages
_OPTIONAL = "num_batches_tracked"  # BatchNorm buffer that load_state_dict fills in when absent


def _is_state_dict(obj: Any) -> bool:
    """A mapping of names to tensors: string keys, more tensors than other values, and the others plain
    scalars or None (a counter or step a script stored beside the weights, e.g. ``{"n_averaged": 5}``),
    never a nested mapping or list (which makes it a checkpoint holding a state_dict)."""
    import torch

    if not (isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(k, str) for k in obj)):
        return False
    others = [v for v in obj.values() if not isinstance(v, torch.Tensor)]
    return (2 * len(others) < len(obj)
            and all(v is None or isinstance(v, (bool, int, float, str)) for v in others))


def _tensors_only(sd: Mapping, where: str, path: Any) -> tuple[dict, list[str]]:
    """``sd`` without its non-tensor entries, and a note naming them (none: no note)."""
    import torch

    dropped = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if not dropped:
        return dict(sd), []
    kept = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    shown = ", ".join(f"{k!r} ({type(sd[k]).__name__})" for k in dropped[:_SHOWN])
    return kept, [f"checkpoint {path}: ignored {len(dropped)} non-tensor entr{'y' if len(dropped) == 1 else 'ies'} "
                  f"of the state_dict{where}: {shown}{' ...' if len(dropped) > _SHOWN else ''}"]


def find_state_dict(payload: Any, path: Any) -> tuple[dict, list[str]]:
    """The state_dict inside ``payload`` (see the module docstring) and notes on where it was found.

    Raises
    ------
    CheckpointError
        When no mapping of names to tensors is found, or several are nested and none is in
        :data:`NEST_PRIORITY` (the message lists them).
    """
    if _is_state_dict(payload):
        return _tensors_only(payload, "", path)
    found: list[tuple[tuple[str, ...], dict]] = []
    frontier: list[tuple[tuple[str, ...], Any]] = [((), payload)]
    for _depth in range(3):
        nxt = []
        for where, obj in frontier:
            if not isinstance(obj, Mapping):
                continue
            for k, v in obj.items():
                if not isinstance(k, str):
                    continue
                if _is_state_dict(v):
                    found.append(((*where, k), dict(v)))
                elif isinstance(v, Mapping):
                    nxt.append(((*where, k), v))
        if found:
            break
        frontier = nxt
    if not found:
        top = sorted(map(str, payload))[:12] if isinstance(payload, Mapping) else type(payload).__name__
        raise CheckpointError(
            f"checkpoint {path} holds no state_dict (a mapping of parameter names to tensors), neither at the "
            f"top nor nested under a key (top level: {top}); save the model's weights with "
            "torch.save(model.state_dict(), path).")
    if len(found) > 1:
        rank = {name: i for i, name in enumerate(NEST_PRIORITY)}
        known = [f for f in found if f[0][-1] in rank]
        if not known:
            raise CheckpointError(
                f"checkpoint {path} nests several state_dicts ({[_where(w) for w, _ in found]}) and none under a "
                f"usual key {list(NEST_PRIORITY)}; re-save the one to score: torch.save(ckpt[...], path).")
        found = sorted(known, key=lambda f: rank[f[0][-1]]) + [f for f in found if f[0][-1] not in rank]
    where, sd = found[0]
    notes = [f"checkpoint {path}: weights read from {_where(where)}"
             + (f" (also holds {', '.join(_where(w) for w, _ in found[1:])}, not used)" if len(found) > 1 else "")]
    sd, dropped = _tensors_only(sd, f" {_where(where)}", path)
    return sd, notes + dropped


def _where(keys: Sequence[str]) -> str:
    return "".join(f"[{k!r}]" for k in keys)


def common_prefix(keys: Sequence[str]) -> str:
    """The longest dotted prefix (whole components, ending in ``.``) shared by all ``keys``."""
    if not keys:
        return ""
    parts = [k.split(".")[:-1] for k in keys]
    out = []
    for comps in zip(*parts):
        if len(set(comps)) != 1:
            break
        out.append(comps[0])
    return "".join(c + "." for c in out)


def _prefixes(key: str, depth: int = 8) -> list[str]:
    comps = key.split(".")[:-1][:depth]
    return ["".join(c + "." for c in comps[:i]) for i in range(len(comps) + 1)]


def _drop_wrappers(key: str) -> str:
    comps = key.split(".")
    kept = [c for c in comps[:-1] if c not in WRAPPERS] + comps[-1:]
    return ".".join(kept)


def _attempt(keys: list[str], model_keys: set[str], p: str, q: str, drop: bool) -> dict:
    mapped: dict[str, str] = {}
    targets: set[str] = set()
    dup = []
    for k in keys:
        if not k.startswith(p):
            continue
        m = q + k[len(p):]
        if drop:
            m = _drop_wrappers(m)
        if m in targets:
            dup.append(k)
        mapped[k] = m
        targets.add(m)
    unexpected = [k for k, m in mapped.items() if m not in model_keys]
    missing = [m for m in model_keys if m not in targets and not m.endswith(_OPTIONAL)]
    return {"p": p, "q": q, "drop": drop, "mapped": mapped, "unexpected": unexpected, "missing": missing,
            "dup": dup, "ignored": [k for k in keys if not k.startswith(p)]}


def fit_state_dict(state_dict: dict, model: Any, *, path: Any, arch: str,
                   shapes: bool = True) -> tuple[dict, list[str]]:
    """``state_dict`` with its keys mapped onto ``model``'s (see the module docstring), and notes saying
    what was stripped or ignored (empty when the keys fit as they are). ``shapes=False`` leaves the
    shape check to the caller (:func:`check_shapes`).

    Raises
    ------
    CheckpointError
        When no mapping fits exactly, several do (ambiguous), or the shapes differ; the message names
        the file, the first unexpected and missing keys, the shared prefix, and what to do.
    """
    model_sd = model.state_dict()
    model_keys = set(model_sd)
    keys = list(state_dict)
    n_required = sum(not k.endswith(_OPTIONAL) for k in model_keys)
    counts: dict[str, int] = {}
    for k in keys:
        for p in _prefixes(k):
            counts[p] = counts.get(p, 0) + 1
    strip = sorted({"", common_prefix(keys)} | {p for p, n in counts.items() if n >= n_required}, key=len)
    add = _prefixes(common_prefix(sorted(model_keys)) + "x", depth=3) if model_keys else [""]
    attempts = [_attempt(keys, model_keys, p, q, drop) for drop in (False, True) for p in strip for q in add]
    fits = [a for a in attempts if not a["unexpected"] and not a["missing"] and not a["dup"]]
    if not fits:
        raise CheckpointError(_no_fit_message(keys, model_keys, attempts, path, arch))
    distinct = {frozenset(a["mapped"]) for a in fits}
    if len(distinct) > 1:
        options = sorted({repr(a["p"]) for a in fits})
        raise CheckpointError(
            f"checkpoint {path} fits architecture {arch!r} in several ways: the keys under each of the prefixes "
            f"{', '.join(options)} are a whole model; re-save the one to score: "
            "torch.save({k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}, path).")
    best = min(fits, key=lambda a: (len(a["ignored"]), a["drop"], len(a["p"]), len(a["q"])))
    out = {best["mapped"][k]: state_dict[k] for k in keys if k in best["mapped"]}
    if shapes:
        check_shapes(out, model_sd, path=path, arch=arch)
    return out, _fit_notes(best, len(keys), path, arch)


def _fit_notes(best: dict, n: int, path: Any, arch: str) -> list[str]:
    notes = []
    p, q = best["p"], best["q"]
    if p:
        who = " + ".join(WRAPPERS.get(c, f"attribute {c!r} of a wrapper module, e.g. a LightningModule")
                         for c in p.split(".")[:-1])
        notes.append(f"checkpoint {path}: stripped the key prefix {p!r} ({who}) from {n - len(best['ignored'])} "
                     f"keys to fit {arch!r}")
    if best["drop"]:
        notes.append(f"checkpoint {path}: dropped the wrapper components {sorted(WRAPPERS)} inside its keys "
                     f"(a compiled or DataParallel sub-module) to fit {arch!r}")
    if q:
        notes.append(f"checkpoint {path}: added the model's key prefix {q!r} to fit {arch!r}")
    if best["ignored"]:
        ig = best["ignored"]
        notes.append(f"checkpoint {path}: ignored {len(ig)} key(s) outside {p!r} (not part of the model): "
                     f"{ig[:_SHOWN]}{' ...' if len(ig) > _SHOWN else ''}")
    return notes


def check_shapes(sd: dict, model_sd: dict, *, path: Any, arch: str) -> None:
    """Raise :class:`CheckpointError` naming the tensors of ``sd`` whose shapes differ from ``model_sd``'s."""
    bad = [(k, tuple(v.shape), tuple(model_sd[k].shape)) for k, v in sd.items()
           if k in model_sd and tuple(v.shape) != tuple(model_sd[k].shape)]
    if bad:
        shown = "; ".join(f"{k!r}: checkpoint {a}, model {b}" for k, a, b in bad[:_SHOWN])
        raise CheckpointError(
            f"checkpoint {path} does not fit architecture {arch!r}: it has the model's keys but {len(bad)} tensor(s) "
            f"of other shapes: {shown}{' ...;' if len(bad) > _SHOWN else '.'} Build the model the checkpoint came from: set "
            "`num_classes` (a classifier of other size) or the constructor arguments in `arch_kwargs` "
            "(e.g. image_size), or check `arch` (another depth or width).")


def _no_fit_message(keys: list[str], model_keys: set[str], attempts: list[dict], path: Any, arch: str) -> str:
    shared = common_prefix(keys)
    closest = min(attempts, key=lambda a: (len(a["unexpected"]) + len(a["missing"]) + len(a["dup"]),
                                           len(a["p"]) != len(shared)))
    unexpected = closest["unexpected"] or closest["dup"]
    missing = sorted(closest["missing"], key=lambda m: (m.count("."), m))
    what = (f"with the prefix {closest['p']!r} stripped" if closest["p"] else "as they are")
    if closest["drop"]:
        what += f" and {sorted(WRAPPERS)} dropped"

    def show(xs):
        return f"{xs[:_SHOWN]}{' ...' if len(xs) > _SHOWN else ''}"

    prefix_note = (f"all its keys share the prefix {shared!r}" if shared else "its keys share no common prefix")
    parts = []
    if unexpected:
        parts.append(f"{len(unexpected)} of its {len(keys)} keys are not in the model (first: {show(unexpected)})")
    if missing:
        parts.append(f"{len(missing)} of the model's {len(model_keys)} keys are not in the checkpoint "
                     f"(first: {show(missing)})")
    return (
        f"checkpoint {path} does not fit architecture {arch!r}: {prefix_note}; {what}, {' and '.join(parts)}. "
        "If it is another architecture, set `arch` to it; if the weights sit inside a wrapper, save the inner "
        "model's weights: torch.save(model.state_dict(), path) with model the plain network "
        "(net.module for DataParallel/DDP, net._orig_mod after torch.compile, the attribute of a Lightning "
        "module), or transfergraph.adapters.models.save_model(model, path, arch=...).")
