"""Child seeds: every seed the project derives from a base seed goes through :func:`derive_seed`.

A child seed is a pure function of the base seed and a few names (a pair, a task, a purpose), so it
is the same in every process, worker and job order (unlike ``hash()``, which Python salts per
process). New code uses the default scheme. The other schemes are the formulas that earlier versions
used in one place each; they are kept, behind the same function, because changing them would change
published numbers (cached scores, the demo suite's data and models, validation accuracies):

=============  ==============================================================  ========================
scheme         value                                                           used by
=============  ==============================================================  ========================
``"blake2b"``  BLAKE2b (8 bytes) of ``str(seed)`` then each part                validation methods
               length-prefixed (4 bytes, little-endian); little-endian          (per pair, split, head)
               integer mod 2**31
``"digest32"`` the first 8 hex digits of :func:`transfergraph.planner.common.fingerprint.combine`    seeded metrics in
               ``("seed", seed, *parts)`` read as an integer (32 bits)          :func:`transfergraph.planner.score`
``"crc32"``    CRC-32 of ``"\\x1f".join(str(p) for p in (seed, *parts))``,       the demo suite's data,
               masked to 31 bits                                                shifts and models
``"words"``    ``seed`` followed by the CRC-32 of ``parts[0]`` as 32-bit        meta-dataset class
               words, packed into one integer: ``numpy.random.default_rng``     subsamples
               of it equals ``default_rng([seed, crc32(parts[0])])``
``"offset"``   ``seed + parts[0]`` (an int): a numbered stream of the same      sub-steps of one
               seed (``seed + 1`` re-initialises, ``seed + 2`` subsamples ...)  computation (TTA, fine-tuning)
=============  ==============================================================  ========================
"""
from __future__ import annotations

import hashlib
import numbers
import zlib
from typing import Any

from transfergraph.planner.common.exceptions import InputError

__all__ = ["derive_seed", "SCHEMES"]

SCHEMES = ("blake2b", "digest32", "crc32", "words", "offset")


def _blake2b(seed: int, parts: tuple[Any, ...]) -> int:
    h = hashlib.blake2b(digest_size=8)
    h.update(str(int(seed)).encode())
    for part in parts:
        data = str(part).encode()
        h.update(len(data).to_bytes(4, "little") + data)
    return int.from_bytes(h.digest(), "little") % (2**31)


def _digest32(seed: int, parts: tuple[Any, ...]) -> int:
    from transfergraph.planner.common.fingerprint import combine

    return int(combine("seed", seed, *parts)[:8], 16)


def _crc32(seed: int, parts: tuple[Any, ...]) -> int:
    return zlib.crc32("\x1f".join(map(str, (seed, *parts))).encode()) & 0x7FFFFFFF


def _words(seed: int, parts: tuple[Any, ...]) -> int:
    # SeedSequence reads a non-negative int as its 32-bit words, least significant first, and a list
    # as the concatenation of its items' words: seed's words then the key's CRC make the same entropy
    # (a CRC of 0, one key in 2**32, would lose its word: no key the project uses has one).
    if len(parts) != 1 or seed < 0:
        raise InputError(f"derive_seed(scheme='words') takes a seed >= 0 and one key; got {seed!r}, {parts!r}.")
    crc = zlib.crc32(str(parts[0]).encode())
    n_words = max(1, -(-seed.bit_length() // 32))
    return seed + (crc << (32 * n_words))


def _offset(seed: int, parts: tuple[Any, ...]) -> int:
    if len(parts) != 1 or isinstance(parts[0], bool) or not isinstance(parts[0], numbers.Integral):
        raise InputError(f"derive_seed(scheme='offset') takes one int offset; got {parts!r}.")
    return seed + int(parts[0])


_IMPL = {"blake2b": _blake2b, "digest32": _digest32, "crc32": _crc32, "words": _words, "offset": _offset}


def derive_seed(seed: int, *parts: Any, scheme: str = "blake2b") -> int:
    """The child seed of ``seed`` for ``parts`` (names, or an int offset), by ``scheme``.

    Parameters
    ----------
    seed : int
        The base seed (bools are rejected).
    *parts : str or int
        What the child seed is for, e.g. ``(source name, target name, method)``; each part is
        formatted with ``str``.
    scheme : str
        One of :data:`SCHEMES` (see the module docstring for each formula); default ``"blake2b"``.

    Returns
    -------
    int
        A non-negative int for the hashed schemes (< 2**31 for "blake2b" and "crc32", < 2**32 for
        "digest32"); ``seed + offset`` for "offset".

    Raises
    ------
    InputError
        ``seed`` not an int, or an unknown scheme.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InputError(f"seed of derive_seed() must be an int; got {seed!r} ({type(seed).__name__}).")
    impl = _IMPL.get(scheme)
    if impl is None:
        raise InputError(f"scheme of derive_seed() must be one of {', '.join(map(repr, SCHEMES))}; got {scheme!r}.")
    return impl(int(seed), parts)
