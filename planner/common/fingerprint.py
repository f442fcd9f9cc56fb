"""Content fingerprints: stable hex digests of arrays, labels, models and metrics.

A fingerprint changes when (and only when) the content that determines a score changes, so a score
cache keyed by fingerprints is never stale and survives renaming a source or a task.

- :func:`array_digest` hashes dtype, shape and the raw bytes (C order) of an array.
- :func:`row_digests` hashes every sample (row) of an array separately: the basis of content dedupe.
- :func:`labels_digest` hashes a 1-D label sequence of any hashable values (ints, strings, ...).
- :func:`model_fingerprint` hashes a model's class and source code, its module structure, every
  parameter and buffer, its :func:`build_flags` (constructor arguments that neither the weights nor
  ``repr`` show, e.g. torchvision googlenet's ``transform_input``), the ``transform`` and the
  ``feature_layer``.

- :func:`arrays_key` is the short (64-bit) key of trained-model caches: byte strings and arrays fed
  in order to one SHA-256.

Every content hash of the project is one of these (child seeds: :mod:`transfergraph.planner.common.seeds`).
Digests are BLAKE2b (per-sample digests: SHA-256, faster with CPU SHA extensions), truncated to
128 bits; equal content gives equal digests in every process. The formulas are part of the cache
formats: changing one invalidates every cache written before.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import pickle
from typing import Any, Callable, Iterable

import numpy as np

__all__ = [
    "array_digest",
    "row_digests",
    "labels_digest",
    "combine",
    "model_fingerprint",
    "build_flags",
    "callable_identity",
    "arrays_key",
]

_DIGEST_SIZE = 16  # 128-bit: collisions are negligible for any realistic number of samples


def _hasher() -> "hashlib._Hash":
    return hashlib.blake2b(digest_size=_DIGEST_SIZE)


def combine(*parts: Any) -> str:
    """Digest of several strings/bytes/numbers, each length-prefixed so that boundaries matter."""
    h = _hasher()
    for part in parts:
        data = part if isinstance(part, (bytes, bytearray, memoryview)) else str(part).encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def array_digest(x: np.ndarray) -> str:
    """Digest of an array's dtype, shape and bytes (C order); equal arrays give equal digests."""
    x = np.ascontiguousarray(x)
    h = _hasher()
    h.update(f"{x.dtype.str}|{x.shape}|".encode())
    h.update(memoryview(x).cast("B"))
    return h.hexdigest()


def row_digests(x: np.ndarray) -> list[bytes]:
    """Per-sample digests of ``x`` (shape (n, ...)): ``out[i]`` hashes the bytes of ``x[i]``.

    Two samples get the same digest exactly when their bytes are equal (up to a 2^-128 collision
    chance). The caller groups samples by dtype and per-sample shape first, so bytes are comparable.
    """
    if len(x) == 0:
        return []
    flat = np.ascontiguousarray(x).reshape(len(x), -1)
    row_bytes = flat.itemsize * flat.shape[1] if flat.ndim == 2 else 0
    view = memoryview(flat).cast("B")
    sha = hashlib.sha256  # hardware-accelerated (SHA-NI) on current x86: ~2x faster than BLAKE2b here
    return [sha(view[i * row_bytes:(i + 1) * row_bytes]).digest()[:_DIGEST_SIZE] for i in range(len(x))]


def arrays_key(*items: bytes | str | np.ndarray) -> str:
    """Short cache key: the first 16 hex digits of one SHA-256 over ``items`` in order.

    A ``bytes`` item is fed as is, a ``str`` as UTF-8, an array as ``str((dtype.str, shape))`` followed
    by its bytes in C order. Used for the caches of trained models (the job's per-task models, the
    decision-validation trunks), whose keys on disk it must keep.
    """
    h = hashlib.sha256()
    for item in items:
        if isinstance(item, (bytes, bytearray, memoryview)):
            h.update(item)
        elif isinstance(item, str):
            h.update(item.encode())
        else:
            a = np.ascontiguousarray(item)
            h.update(str((a.dtype.str, a.shape)).encode())
            h.update(a.tobytes())
    return h.hexdigest()[:16]


def labels_digest(labels: np.ndarray) -> str:
    """Digest of a 1-D label array: raw bytes for numeric dtypes, typed reprs for anything else."""
    labels = np.asarray(labels)
    if labels.dtype != object and labels.dtype.kind in "biuf":
        return array_digest(labels)
    h = _hasher()
    h.update(b"labels:")
    for v in labels.tolist():
        h.update(f"{type(v).__name__}:{v!r}\x00".encode())
    return h.hexdigest()


def callable_identity(fn: Callable[..., Any] | None) -> str:
    """A stable identity for a transform: pickle bytes (by reference or by state), else cloudpickle,
    else ``module.qualname`` plus ``repr``; plus the source code of plain functions, so editing a
    transform invalidates cached scores. ``None`` maps to ``"none"``; an object with a string
    ``fingerprint`` attribute is identified by it."""
    if fn is None:
        return "none"
    explicit = getattr(fn, "fingerprint", None)
    if isinstance(explicit, str):
        return "explicit:" + explicit
    source = _function_source(fn)  # a function pickled by reference: its code still counts
    for dumps in (_pickle_dumps, _cloudpickle_dumps):
        try:
            return combine(dumps(fn), source)
        except Exception:  # noqa: BLE001 - unpicklable callables fall through to the next identity
            continue
    kind = type(fn)
    return combine(kind.__module__, kind.__qualname__, getattr(fn, "__qualname__", ""), repr(fn))


def _function_source(fn: Any) -> str:
    if not inspect.isfunction(fn):
        return ""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _pickle_dumps(fn: Any) -> bytes:
    return pickle.dumps(fn, protocol=4)


def _cloudpickle_dumps(fn: Any) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(fn, protocol=4)


def _class_source(cls: type) -> str:
    if cls.__module__.startswith("torch."):
        return ""  # torch's own modules are identified by name and version-independent structure
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ""


def _module_types(model: Any) -> Iterable[type]:
    seen: dict[type, None] = {}
    for m in model.modules():
        seen.setdefault(type(m), None)
    return seen


def _tensor_array(tensor: Any) -> np.ndarray:
    if not hasattr(tensor, "detach"):
        return np.asarray(tensor)
    t = tensor.detach().cpu().contiguous()
    try:
        return t.numpy()
    except TypeError:  # dtypes NumPy lacks (bfloat16, ...): hash the raw bytes
        import torch

        return t.reshape(-1).view(torch.uint8).numpy()


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, (tuple, list)) and all(_plain(v) for v in value)


def _own_classes(cls: type) -> list[type]:
    return [k for k in cls.__mro__ if k is not object and not k.__module__.startswith("torch.")]


def _code_names(code: Any) -> set[str]:
    """Every name a code object (and the functions nested in it) loads: attributes, globals, methods."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _code_names(const)
    return names


def _forward_reads(cls: type) -> set[str]:
    """Names read by ``forward`` of ``cls`` and by the methods of ``cls`` it calls, transitively
    (from the bytecode: an over-approximation of the attributes a forward pass reads)."""
    methods: dict[str, Any] = {}
    for klass in reversed(_own_classes(cls)):
        methods.update({n: f for n, f in vars(klass).items() if inspect.isfunction(f) and n != "__init__"})
    seen: set[str] = set()
    todo = ["forward"]
    reads: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in methods:
            continue
        seen.add(name)
        found = _code_names(methods[name].__code__)
        reads |= found
        todo.extend(found & set(methods))
    return reads


@functools.lru_cache(maxsize=None)
def _hidden_flags(cls: type) -> tuple[tuple[str, Any], ...]:
    """``(name, default)`` of the keyword arguments with a default of the ``__init__`` of ``cls`` and of
    its non-torch base classes (the first definition along the MRO wins) that its forward pass reads
    (:func:`_forward_reads`); torch's own classes have none (their hyper-parameters show in ``repr``)."""
    reads = _forward_reads(cls)
    found: dict[str, Any] = {}
    for klass in _own_classes(cls):
        if "__init__" not in vars(klass):
            continue
        try:
            params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature
            continue
        for p in params:
            if p.default is not inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                found.setdefault(p.name, p.default)
    return tuple((n, d) for n, d in found.items() if n in reads)


def build_flags(model: Any) -> list[str]:
    """The build flags of ``model`` that change its outputs without showing in its weights or ``repr``.

    For every submodule (``named_modules()`` order) whose class is not one of torch's own: each
    constructor argument with a default (:func:`inspect.signature` of ``__init__`` along the class's
    MRO) that the module keeps as a plain attribute of the same name (``None``, bool, int, float,
    str, or tuples/lists of these), that its forward pass reads (``forward`` and the methods it
    calls, from their bytecode) and whose value differs from that default, as
    ``"<module path>.<name>=<repr(value)>"``. E.g. ``[".aux_logits=False", ".transform_input=True"]``
    for a torchvision googlenet built as for pretrained weights, ``[]`` for one built with the
    defaults or for a torchvision resnet (its ``groups``, ``stride``... only shape the structure,
    which ``repr`` and the weights show), so such models keep the fingerprint they had before flags
    were hashed. Required arguments are not listed: they define the structure.
    """
    flags: list[str] = []
    for path, module in model.named_modules():
        state = vars(module)
        for name, default in _hidden_flags(type(module)):
            if name not in state or name == "training" or not _plain(state[name]):
                continue
            value = state[name]
            try:
                same = bool(value == default) and isinstance(value, bool) == isinstance(default, bool)
            except Exception:  # noqa: BLE001 - an incomparable default: the value counts
                same = False
            if not same:
                flags.append(f"{path}.{name}={value!r}")
    return flags


def model_fingerprint(
    model: Any,
    *,
    transform: Callable[..., Any] | None = None,
    feature_layer: str | None = None,
    pooling: str | None = None,
) -> str:
    """Fingerprint of a ``torch.nn.Module`` as used for scoring.

    Hashes, in order: the qualified name and (for non-torch classes) the source code of every module
    class in the model, ``repr(model)`` (module structure and hyper-parameters), the name, dtype,
    shape and bytes of every entry of ``state_dict()``, (when there are any) its :func:`build_flags`,
    the transform's identity (:func:`callable_identity`), ``feature_layer`` and (when set) ``pooling``.
    Two sources built from one checkpoint with other flags (e.g. googlenet with and without
    ``transform_input``) thus get other fingerprints, so a score cache never serves one the other's
    scores; a model without such flags keeps the fingerprint (and cache keys) it had before.
    """
    h = _hasher()
    for cls in _module_types(model):
        h.update(f"{cls.__module__}.{cls.__qualname__}\x00".encode())
        h.update(_class_source(cls).encode())
    h.update(repr(model).encode())
    for name, tensor in model.state_dict().items():
        arr = _tensor_array(tensor)
        h.update(f"\x00{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
    flags = build_flags(model)
    if flags:
        h.update(("\x00build:" + "\x00".join(flags)).encode())
    h.update(f"\x00transform:{callable_identity(transform)}".encode())
    h.update(f"\x00feature_layer:{feature_layer}".encode())
    if pooling is not None:
        h.update(f"\x00pooling:{pooling}".encode())
    return h.hexdigest()
