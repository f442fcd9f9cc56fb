"""Every score means what it says, for every metric in the registry (including any added later):
degenerate shapes are flagged (item 1), near-ties tie (item 2), information-free feature columns do
not move feature metrics beyond what their docstring states (item 3)."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from transfergraph.planner import Source, Task, build_graph, score
from transfergraph.planner.decisions import build_plan, select_sources
from transfergraph.planner.metrics import REGISTRY, label_entropy
from transfergraph.planner.metrics._registry import TIE_RTOL, tie_scores
from transfergraph.planner.report.flagged import flagged_section

NAMES = sorted(REGISTRY)
FEATURE_NAMES = [n for n in NAMES if REGISTRY[n].input.startswith("features")]  # tta: "features+reference"


def mlp(seed: int, d_in: int = 16, hidden: int = 32, n_out: int = 10) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def target(n: int, k: int = 3, d_in: int = 16, seed: int = 0, name: str = "t") -> Task:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    x = (rng.standard_normal((n, d_in)) + 1.5 * np.eye(k, d_in)[labels]).astype(np.float32)
    return Task(name, x, labels)


def run(sources, tasks, metrics=tuple(NAMES)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample EM / convergence warnings are not the point here
        return score(sources, tasks, metrics=list(metrics), progress=False)


# ---- item 1: regimes ----

def test_every_metric_declares_a_regime_and_clean_shapes_are_not_flagged():
    big = np.array([200, 200, 200])
    for name in NAMES:
        m = REGISTRY[name]
        assert callable(m.regime) and m.flag(600, 8, big) == "", name
        for n, width, counts in [(6, 12, [3, 3]), (30, 64, [10, 10, 10]), (1, 1, [1]), (10**6, 4096, [10**5] * 10)]:
            reason = m.flag(n, width, counts)
            assert isinstance(reason, str)
            assert reason == "" or reason.split(":")[0] in ("degenerate", "small-sample"), (name, reason)


def _null_normalized(m, n: int, width: int, seeds=range(3)) -> float:
    """Mean normalized score of inputs with no label information (random features / random peaked
    source probabilities) at shape (n, width), 3 balanced classes."""
    labels = np.arange(n) % 3
    vals = []
    for s in seeds:
        rng = np.random.default_rng(s)
        if m.input == "probs":
            logits = 3.0 * rng.standard_normal((n, width))
            x = np.exp(logits - logits.max(1, keepdims=True))
            x /= x.sum(1, keepdims=True)
        else:
            x = rng.standard_normal((n, width))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = m(x, labels)
        vals.append(float(m.normalize([raw], n_classes=3, label_entropy=label_entropy(labels))[0]))
    return float(np.mean(vals))


@pytest.mark.parametrize("name", NAMES)
def test_flags_mark_shapes_where_information_free_inputs_score_high(name):
    """Where a metric with an absolute normalization flags a shape, information-free inputs do score
    >= 0.2 there; at a clean shape they score < 0.25. (Min-max metrics have no absolute scale.)"""
    m = REGISTRY[name]
    if m.normalizer.__name__ in ("normalize_minmax", "normalize_rank"):
        pytest.skip("per-target min-max or rank: a single score has no absolute scale")
    small, clean = (30, 64), (600, 8)
    if m.flag(small[0], small[1], [10, 10, 10]):
        assert _null_normalized(m, *small) >= 0.2
    assert m.flag(clean[0], clean[1], [200] * 3) == "" and _null_normalized(m, *clean, seeds=[0]) < 0.25


def test_issue_h_score_case_is_flagged_in_table_plan_and_report():
    # three untrained random MLPs with a 64-d penultimate layer on a 30-sample, 3-class target
    sources = [Source(f"mlp{i}", mlp(i, hidden=64)) for i in range(3)]
    task = target(30, name="small")
    df = run(sources, [task], metrics=["h_score", "leep"])
    h = df[df.metric == "h_score"]
    assert list(h.status) == ["ok"] * 3
    np.testing.assert_allclose(h.score, 2.0, rtol=1e-9)  # |Y| - 1 whatever the features
    assert all(f.startswith("degenerate: n <= d + 1") for f in h.flag)
    assert list(df[df.metric == "leep"].flag) == [""] * 3  # n = 30 >= Z = 10: inside LEEP's regime
    plan = build_plan(build_graph(df, metric="h_score"), metric="h_score").to_json()
    assert any("flagged h_score" in w and "'small'" in w for w in plan["warnings"])
    assert not any("flagged" in w for w in build_plan(build_graph(df, metric="leep")).to_json()["warnings"])
    section = "\n".join(flagged_section(df))
    assert "## Flagged scores" in section and all(f"mlp{i}" in section for i in range(3))


# ---- item 2: near-ties ----

def test_tie_scores_merges_within_tolerance_only():
    a = -0.7312
    out = tie_scores([a, a + 3.3e-16, np.nan, a * (1 - 0.5 * TIE_RTOL), a * 1.01])
    assert out[0] == out[1] == out[3] and np.isnan(out[2]) and out[4] == a * 1.01
    assert tie_scores([-5e-62, -3e-250])[0] != tie_scores([-5e-62, -3e-250])[1]
    for name in NAMES:  # every registered normalization ties them
        lo, hi = REGISTRY[name].bounds(3, 1.0)
        s = a if not np.isfinite(lo) else lo + 0.6 * (hi - lo)
        step = 0.1 if not np.isfinite(lo) else 0.1 * (hi - lo)
        norm = REGISTRY[name].normalize([s, s * (1 + 3e-16), s - step], n_classes=3, label_entropy=1.0)
        assert norm[0] == norm[1] > norm[2], (name, norm)


def permuted_twin(model: nn.Sequential, seed: int = 1) -> nn.Sequential:
    """The same function with the hidden units permuted."""
    twin = copy.deepcopy(model)
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(model[0].out_features))
    with torch.no_grad():
        twin[0].weight.copy_(model[0].weight[perm])
        twin[0].bias.copy_(model[0].bias[perm])
        twin[2].weight.copy_(model[2].weight[:, perm])
    return twin


def test_issue_twin_case_model_copy_and_permuted_twin_tie_for_every_metric():
    base = mlp(3)
    ref = target(60, seed=9, name="ref")  # the reference sample of metrics that need one (tta)
    sources = [Source("model", base, reference=ref), Source("copy", copy.deepcopy(base), reference=ref),
               Source("twin", permuted_twin(base), reference=ref)]
    task = target(120, name="t")
    df = run(sources, [task])
    assert (df.status == "ok").all()
    for name in NAMES:
        rows = df[df.metric == name].set_index("source")
        assert rows.normalized["model"] == rows.normalized["copy"] == rows.normalized["twin"], (name, rows.score.tolist())
    g = build_graph(df, metric="logme")
    picked = select_sources(g, "t", k=3)
    assert len({w for _, w in picked}) == 1  # one weight: nobody is called worst by rounding


# ---- item 3: information-free feature columns ----

def padded(model: nn.Sequential, kind: str, extra: int = 6) -> nn.Sequential:
    """``model`` with ``extra`` more hidden units that are dead (zero), constant (1.0) or copies of
    existing units; the head ignores them, so the logits are unchanged."""
    h = model[0].out_features
    wide = nn.Sequential(nn.Linear(model[0].in_features, h + extra), nn.ReLU(), nn.Linear(h + extra, model[2].out_features))
    with torch.no_grad():
        w1 = torch.zeros(h + extra, model[0].in_features)
        b1 = torch.zeros(h + extra)
        w1[:h], b1[:h] = model[0].weight, model[0].bias
        if kind == "constant":
            b1[h:] = 1.0
        elif kind == "duplicated":
            w1[h:], b1[h:] = model[0].weight[:extra], model[0].bias[:extra]
        wide[0].weight.copy_(w1)
        wide[0].bias.copy_(b1)
        w2 = torch.zeros(model[2].out_features, h + extra)
        w2[:, :h] = model[2].weight
        wide[2].weight.copy_(w2)
        wide[2].bias.copy_(model[2].bias)
    return wide


def test_information_free_columns_through_score_for_every_feature_metric():
    base = mlp(4)
    kinds = ("zero", "constant", "duplicated")
    ref = target(60, seed=9, name="ref")
    sources = [Source("base", base, reference=ref)] + [Source(k, padded(base, k), reference=ref) for k in kinds]
    df = run(sources, [target(150, name="t")], metrics=FEATURE_NAMES)
    assert (df.status == "ok").all()
    for name in FEATURE_NAMES:
        m = REGISTRY[name]
        assert m.invariant_columns <= set(kinds), name
        raw = df[df.metric == name].set_index("source").score
        doc = " ".join(m.func.__doc__.split())
        for kind in kinds:
            if kind in m.invariant_columns:
                assert raw[kind] == pytest.approx(raw["base"], rel=1e-7, abs=1e-9), (name, kind)
            else:  # the definition moves it: the docstring must say why and by how much
                assert f"{kind} column" in doc and "measured" in doc, (name, kind)
