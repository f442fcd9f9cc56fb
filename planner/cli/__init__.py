"""Entry point kept for console scripts installed before the command line moved to :mod:`transfergraph.cli`.

An install made from an older ``pyproject.toml`` runs ``planner.cli:main``; this forwards it. The
library never imports this module (``planner`` does not depend on the application layer).
"""
from __future__ import annotations


def main() -> None:
    """Run the ``transfergraph`` command line (:func:`transfergraph.cli.main`)."""
    from transfergraph.cli import main as _main

    _main()
