"""Package layout: one import name, ``transfergraph``.

The repository keeps the core in ``planner/`` and the datasets/models/meta-transfer code in ``adapters/``;
setuptools' ``package_dir`` maps them to ``transfergraph.planner`` and ``transfergraph.adapters``, so the
wheel installs exactly one top-level package. Everything else is in ``pyproject.toml``.
"""
from setuptools import find_packages, setup

PACKAGE_DIR = {"transfergraph": "transfergraph", "transfergraph.planner": "planner",
               "transfergraph.adapters": "adapters"}
PACKAGES = (["transfergraph", *find_packages(include=["transfergraph.*"])]
            + [f"transfergraph.{name}" for name in find_packages(include=["planner", "planner.*",
                                                                          "adapters", "adapters.*"])])

setup(packages=PACKAGES, package_dir=PACKAGE_DIR)
