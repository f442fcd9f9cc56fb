"""Lazy import of learn2learn (≈3 s import cost) with an install hint when it is missing."""
from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from types import ModuleType

__all__ = ["require_learn2learn"]

_HINT = (
    "learn2learn is required for episodic meta-training and Taskset adapters in transfergraph.adapters.meta. "
    "Try: pip install 'transfergraph[meta]' (on Python 3.11 use scripts/install.sh, which builds "
    "learn2learn 0.2.0 from regenerated Cython sources; see learnables/learn2learn#413)."
)


def require_learn2learn() -> ModuleType:
    """Import and return ``learn2learn``; raise ImportError with the install command if absent."""
    try:
        # gym (a learn2learn dependency) prints an "unmaintained" banner to stderr on import.
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.filterwarnings("ignore", message=".*Gym has been unmaintained.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            return importlib.import_module("learn2learn")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{_HINT} (import failed: {exc})") from exc
