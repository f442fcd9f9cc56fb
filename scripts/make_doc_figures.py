"""Regenerate docs/figures/: the report's figures for synthetic score tables of 10 and 60 tasks.

Usage: ``python scripts/make_doc_figures.py`` (from the repository root). For each size it writes
a synthetic ``scores.csv`` (scripts/synthetic_scores.py: task families, no measured number), runs
``transfergraph plan`` on it, and copies the PNGs to ``docs/figures/<n>_tasks/``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from synthetic_scores import synthetic_scores  # noqa: E402

for n in (10, 60):
    with tempfile.TemporaryDirectory() as tmp:
        scores = Path(tmp) / "scores.csv"
        synthetic_scores(n, n_models=3, seed=0).to_csv(scores, index=False)
        out = Path(tmp) / "plan"
        subprocess.run([sys.executable, "-m", "transfergraph", "plan", str(scores), "--out", str(out),
                        "--time-limit", "20"], check=True, cwd=ROOT)
        dest = ROOT / "docs" / "figures" / f"{n}_tasks"
        dest.mkdir(parents=True, exist_ok=True)
        for png in sorted(out.glob("*.png")):
            shutil.copy(png, dest / png.name)
        print(f"{dest}: {', '.join(p.name for p in sorted(dest.glob('*.png')))}")
