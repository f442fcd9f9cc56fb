"""score() with the tta metric: the reference sample from Source.task, Source(reference=...), 'pseudo',
the failed pair of an external model without one, extra columns, caching, forward-once, Ray parity."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.runtime.forward import forward
from transfergraph.planner.metrics import Reference, normalize_rank, tta
from transfergraph.planner.metrics._registry import tie_scores
from transfergraph.planner.scoring import score
from transfergraph.planner.scoring import metric_seed

from scoring_support import Recorder, base_data, tiny_model, tiny_sources, tiny_tasks

TERMS = ["tta_source_loss", "tta_label_entropy", "tta_wasserstein", "tta_lipschitz", "tta_certified", "tta_vacuous"]


def _reference_task() -> Task:
    x, y = base_data(n=80, seed=9)
    return Task("R", x, y)


def _sources():
    return tiny_sources() + [
        Source("m4", tiny_model(4), reference=_reference_task()),
        Source("m5", tiny_model(7), reference="pseudo"),
    ]


@pytest.fixture(scope="module")
def table():
    return score(_sources(), tiny_tasks(), metrics=("leep", "tta"), progress=False)


def test_reference_resolution_and_failed_external_model(table):
    t = table[table.metric == "tta"]
    ok = t[t.status == "ok"]
    assert set(ok.source) == {"m1", "m3", "m4", "m5"}
    failed = t[t.source == "m2"]
    assert (failed.status == "failed").all() and failed.score.isna().all()
    assert failed.error.str.contains(
        r"external model without a reference; tta needs a reference sample: set Source\(task=\.\.\.\)").all()
    assert failed.error.str.contains("Source\\(reference=Task").all() and failed.error.str.contains("'pseudo'").all()
    assert (ok.score <= 0).all() and np.isfinite(ok.score).all()
    for col in TERMS:
        assert col in table.columns
        assert table.loc[table.metric == "leep", col].isna().all()
    assert ok.tta_source_loss.notna().all() and (ok.tta_wasserstein >= 0).all()
    assert np.allclose(-ok.score, ok.tta_source_loss + ok.tta_label_entropy + ok.tta_lipschitz * ok.tta_wasserstein)
    # normalized = per-target rank over the ok sources (scores within 1e-6 relative tie first)
    for _, g in ok.groupby("target"):
        np.testing.assert_array_equal(
            g.normalized, normalize_rank(tie_scores(g.score.to_numpy()), n_classes=2, label_entropy=1.0))
    assert (table[table.metric == "leep"].status == "ok").all()  # other metrics unaffected
    # a vacuous bound is flagged (status stays ok); a non-vacuous one is not flagged for it
    vac = ok.tta_vacuous.astype(bool)
    assert ok[vac].flag.str.contains("vacuous: bound >= H\\(Y\\)").all()
    assert not ok[~vac].flag.str.contains("vacuous").any()


def test_engine_value_equals_tta_on_forwarded_features(table):
    tasks = {t.name: t for t in tiny_tasks()}
    src = tiny_sources()[0]  # m1, trained on task A: A is its reference
    ref_out = forward(src.model, tasks["A"].inputs)
    head = src.model[-1]
    ref = Reference(ref_out.features, tasks["A"].labels, head.weight.detach().double().numpy(),
                    head.bias.detach().double().numpy())
    out = forward(src.model, tasks["B"].inputs)
    expected = tta(out.features, tasks["B"].labels, reference=ref, seed=metric_seed(0, "m1", "B"))
    got = table[(table.source == "m1") & (table.target == "B") & (table.metric == "tta")].score.item()
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_source_task_not_scored_fails_with_reason():
    from transfergraph.planner.scoring.validate import SourceTaskWarning

    with pytest.warns(SourceTaskWarning, match="'Z', which is not one of the scored tasks"):
        df = score([Source("m1", tiny_model(1), task="Z")], tiny_tasks()[:2], metrics="tta", progress=False)
    assert (df.status == "failed").all()
    assert df.error.str.contains("task='Z', which is not among the scored tasks; tta needs a reference sample").all()


def test_reference_is_forwarded_once_with_the_targets():
    rec = Recorder(tiny_model(4))
    ref = _reference_task()
    score([Source("rec", rec, reference=ref)], tiny_tasks()[:3], metrics=("tta", "h_score"), progress=False)
    assert len(rec.seen) == len(set(rec.seen))  # every distinct sample once, the reference's included
    ref_rows = {hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in ref.inputs}
    assert ref_rows <= set(rec.seen)


def test_cache_keeps_terms_and_keys_on_the_reference(tmp_path):
    tasks = tiny_tasks()[:2]
    a = score([Source("m4", tiny_model(4), reference=_reference_task())], tasks, metrics="tta", cache=tmp_path,
              progress=False)
    b = score([Source("m4", tiny_model(4), reference=_reference_task())], tasks, metrics="tta", cache=tmp_path,
              progress=False)
    assert b.cached.all()
    pd.testing.assert_frame_equal(a[["score"] + TERMS].astype(float), b[["score"] + TERMS].astype(float))
    x, y = base_data(n=80, seed=10)  # another reference sample: not served from the cache
    c = score([Source("m4", tiny_model(4), reference=Task("R", x, y))], tasks, metrics="tta", cache=tmp_path,
              progress=False)
    assert not c.cached.any()


def test_source_reference_argument_is_validated():
    with pytest.raises(InputError, match=r"reference of Source 'm' must be a Task, 'pseudo' or None; got 'pseudo2'"):
        Source("m", tiny_model(1), reference="pseudo2")


@pytest.mark.ray
def test_ray_table_equals_local(ray_session, table):
    from transfergraph.planner.executors import RayExecutor

    ray_df = score(_sources(), tiny_tasks(), metrics=("leep", "tta"), executor=RayExecutor(workers=2), progress=False)
    cols = ["source", "target", "metric", "score", "normalized", "status", "error"] + TERMS
    pd.testing.assert_frame_equal(ray_df[cols], table[cols], check_exact=True)
