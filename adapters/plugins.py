"""Third-party dataset builders and architectures, loaded from the ``transfergraph.plugins`` entry point.

A plugin package declares, in its pyproject.toml::

    [project.entry-points."transfergraph.plugins"]
    mydata = "my_package.transfergraph_plugin:register"

and ``register()`` calls :func:`transfergraph.adapters.datasets.registry.register_dataset` and/or
:func:`transfergraph.adapters.models.checkpoint.register_architecture`. This is the only way a config can reach
code that is not part of transfergraph: YAML itself names registered builders and never imports.
"""
from __future__ import annotations

from importlib.metadata import entry_points

from transfergraph.planner.common.exceptions import ConfigError

__all__ = ["load_plugins", "GROUP"]

GROUP = "transfergraph.plugins"
_LOADED: set[str] = set()


def load_plugins() -> list[str]:
    """Call every installed plugin's ``register()`` once; returns the names loaded so far."""
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in _LOADED:
            continue
        try:
            register = ep.load()
            register()
        except Exception as exc:
            raise ConfigError(
                f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}. "
                f"Fix or uninstall the package that provides it."
            ) from None
        _LOADED.add(ep.name)
    return sorted(_LOADED)
