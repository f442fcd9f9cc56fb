"""The demo-sized scoring run shared by test_scoring_bitwise.py and test_scoring_streamed.py.

configs/demo.yaml cut small: its first six tasks, its three external models, per-task CNNs and a
CNAPs-style meta model adapted to every task, with training cut to a few steps and 8x8 images, so a
run fits the suite's time budget (the numbers need not be good, only computed the same way each time).
"""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def demo_sized_run(model_dir: Path):
    """Parse the cut-down demo config and build its tasks and sources (models trained under ``model_dir``).

    Returns ``(config, tasks, sources)``. Needs ``learn2learn`` (the meta model): callers skip without it.
    """
    from transfergraph.config import parse_config
    from transfergraph.jobs.suite import build_meta_model, build_sources, build_tasks

    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    raw["data"]["image_size"] = 8
    raw["tasks"] = raw["tasks"][:6]
    raw["models"]["training"].update(epochs=1, width=4, feature_dim=8)
    raw["models"]["meta"].update(pretrain_steps=10, meta_steps=3)
    config = parse_config(raw)
    tasks = build_tasks(config)
    meta = build_meta_model(config, model_dir=model_dir)
    sources = build_sources(config, tasks, model_dir=model_dir, meta_model=meta)
    return config, tasks, sources
