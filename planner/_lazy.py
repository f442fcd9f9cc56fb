"""Lazy package attributes: ``name -> module`` tables resolved on first access (PEP 562).

``import transfergraph.planner`` (and ``import transfergraph``) stay cheap: torch, Ray and matplotlib load only
when a name that needs them is first used.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_attributes(package: str, table: Mapping[str, str], namespace: dict[str, Any],
                    modules: tuple[str, ...] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name of ``table`` is imported from its module
    on first access and cached in ``namespace`` (the package's globals); names in ``modules`` are
    the module itself."""
    def __getattr__(name: str) -> Any:
        if name in table:
            module = importlib.import_module(table[name])
            value = module if name in modules else getattr(module, name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(namespace.get("__all__", table))

    return __getattr__, __dir__
