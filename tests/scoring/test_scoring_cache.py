"""Durable score cache: resume after SIGKILL, corrupt/truncated tails, version and content keys."""
from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transfergraph.planner import Source
from transfergraph.planner.storage.cache import FORMAT_VERSION, CacheWarning, ScoreCache
from transfergraph.planner.common.exceptions import CacheError
from transfergraph.planner.metrics import REGISTRY
from transfergraph.planner.scoring import score

from scoring_support import COLS, Boom, tiny_sources, tiny_tasks

METRICS = ("leep", "nce", "h_score")
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def reference():
    return score(tiny_sources(), tiny_tasks(), metrics=METRICS, progress=False)


def cache_file(directory: Path) -> Path:
    return Path(directory) / f"scores.v{FORMAT_VERSION}.jsonl"


def run(cache, **kw):
    return score(tiny_sources(), tiny_tasks(), metrics=METRICS, cache=str(cache), progress=False, **kw)


def same(a, b):
    pd.testing.assert_frame_equal(a[COLS], b[COLS], check_exact=False, rtol=1e-6, atol=0)


def test_second_run_reads_everything_back(tmp_path, reference):
    first = run(tmp_path)
    assert not first.cached.any()
    same(first, reference)
    lines = cache_file(tmp_path).read_bytes().splitlines()
    assert len(lines) == len(reference)
    second = run(tmp_path)
    assert second.cached.all()
    same(second, reference)
    assert (second.score.to_numpy() == first.score.to_numpy()).all()  # JSON floats round-trip exactly


_KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {here!r})
    from scoring_support import tiny_sources, tiny_tasks
    from transfergraph.planner.storage.cache import ScoreCache
    from transfergraph.planner.scoring import score

    calls = {{"n": 0}}
    original = ScoreCache.append

    def append(self, records):
        records = list(records)
        calls["n"] += 1
        if calls["n"] > {after}:
            if {partial}:  # die in the middle of writing a line
                from transfergraph.planner.storage.cache import _encode
                blob = b"".join(_encode(r) for r in records)
                with open(self.path, "ab") as fh:
                    fh.write(blob[: len(blob) // 2 + 7]); fh.flush(); os.fsync(fh.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        original(self, records)

    ScoreCache.append = append
    score(tiny_sources(), tiny_tasks(), metrics={metrics!r}, cache={cache!r}, progress=False)
""")


@pytest.mark.parametrize("after, partial", [(1, False), (1, True)])
def test_resume_after_sigkill_gives_the_uninterrupted_table(tmp_path, reference, after, partial):
    script = _KILLER.format(here=str(HERE), after=after, partial=partial, metrics=METRICS, cache=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    kept = len(cache_file(tmp_path).read_bytes().splitlines()) if cache_file(tmp_path).exists() else 0
    if partial:
        with pytest.warns(CacheWarning, match="discarded 1"):
            resumed = run(tmp_path)
    else:
        resumed = run(tmp_path)
    same(resumed, reference)
    n_cached = int(resumed.cached.sum())
    assert n_cached == kept - (1 if partial else 0)
    assert 0 < n_cached < len(reference)
    assert not resumed.cached.all()


def test_truncation_at_any_byte_is_detected_and_recomputed(tmp_path, reference):
    full = tmp_path / "full"
    run(full)
    data = cache_file(full).read_bytes()
    rng = np.random.default_rng(0)
    for cut in sorted(rng.choice(len(data), size=4, replace=False)):
        d = tmp_path / f"cut{cut}"
        d.mkdir()
        cache_file(d).write_bytes(data[:cut])
        complete = data[:cut].count(b"\n")
        ragged = not data[:cut].endswith(b"\n") and cut > 0
        with pytest.warns(CacheWarning) if ragged else _no_warning():
            again = run(d)
        same(again, reference)
        assert int(again.cached.sum()) == complete
        assert cache_file(d).read_bytes().count(b"\n") == len(reference)  # healed, then completed


class _no_warning:
    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error", CacheWarning)

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)


def test_corrupt_line_is_never_trusted(tmp_path, reference):
    run(tmp_path)
    path = cache_file(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    victim = lines[5]
    i = victim.index(b'"score":') + 9
    tampered = victim[:i] + (b"9" if victim[i:i + 1] != b"9" else b"8") + victim[i + 1:]  # same length, bad checksum
    lines[5] = tampered
    path.write_bytes(b"".join(lines))
    with pytest.warns(CacheWarning, match="discarded 1"):
        again = run(tmp_path)
    same(again, reference)
    assert int((~again.cached).sum()) == 1


def test_new_metric_version_or_new_weights_are_not_served_from_cache(tmp_path, monkeypatch, reference):
    run(tmp_path)
    monkeypatch.setitem(REGISTRY, "leep", dataclasses.replace(REGISTRY["leep"], version="2-test"))
    again = run(tmp_path)
    assert (~again.cached[again.metric == "leep"]).all()
    assert again.cached[again.metric != "leep"].all()
    same(again, reference)
    sources = tiny_sources()
    import torch

    with torch.no_grad():
        sources[0].model[0].weight[0, 0, 0, 0] += 1.0
    renamed = [Source("renamed", sources[1].model)]
    changed = score(sources + renamed, tiny_tasks(), metrics=METRICS, cache=str(tmp_path), progress=False)
    assert (~changed.cached[changed.source == "m1"]).all()
    assert changed.cached[changed.source.isin(["m2", "m3", "renamed"])].all()  # keyed by content, not name


def test_failed_pairs_are_retried_not_served(tmp_path):
    tasks = tiny_tasks()[:1]
    first = score([Source("bad", Boom())], tasks, cache=str(tmp_path), progress=False)
    assert (first.status == "failed").all()
    second = score([Source("bad", Boom())], tasks, cache=str(tmp_path), progress=False)
    assert not second.cached.any() and (second.status == "failed").all()


def test_unusable_cache_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CacheError, match="cannot be used"):
        ScoreCache(blocker / "sub")
