"""The API reference (mkdocs.yml, docs/api/*.md) builds from the docstrings with warnings as errors,
and documents every public name of ``transfergraph``."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocstrings", reason="mkdocs and mkdocstrings are in the dev extra: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_api_reference_builds_in_strict_mode(site):
    assert (site / "index.html").is_file() and (site / "api" / "index.html").is_file()


def test_every_public_name_has_its_entry(site):
    import transfergraph

    html = "".join(p.read_text() for p in sorted((site / "api").glob("*.html")))
    anchors = set(re.findall(r'id="(transfergraph\.[\w.]+)"', html))
    missing = []
    for name in transfergraph._LAZY:
        obj = getattr(transfergraph, name)
        full = obj.__name__ if name == "metrics" else f"{obj.__module__}.{obj.__qualname__}"
        if full not in anchors:
            missing.append(f"{name} ({full})")
    assert missing == [], f"public names without an API entry (add them to docs/api/*.md): {missing}"
