"""``score(..., pairs_fraction=f)``: score a share of the pairs, predict the rest, never recommend a prediction."""
from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau
from scoring_support import base_data, tiny_model
from typer.testing import CliRunner

from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import ConfigError, InputError
from transfergraph.planner.scoring import score
from transfergraph.planner.scoring.fraction import MIN_PER_SOURCE, MIN_PER_TARGET, RESCORE_RESERVE, run_design
from transfergraph.planner.scoring.predict import predict_matrix

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("leep", "nce")


@pytest.fixture(scope="module")
def zoo():
    """16 tiny sources (one attached to a target) x 10 targets of 60 samples cut from one pool."""
    x, y = base_data(n=400)
    rng = np.random.default_rng(3)
    tasks = [Task(f"t{j:02d}", x[idx].copy(), y[idx]) for j, idx in enumerate(rng.integers(0, 400, (10, 60)))]
    sources = [Source(f"s{i:02d}", tiny_model(i), task=("t00" if i == 0 else None)) for i in range(16)]
    return sources, tasks


@pytest.fixture(scope="module")
def partial(zoo):
    sources, tasks = zoo
    return score(sources, tasks, metrics=METRICS, progress=False, pairs_fraction=0.3, pairs_top_k=2)


def test_fraction_one_is_a_full_run_bitwise(zoo):
    sources, tasks = zoo
    full = score(sources, tasks, metrics=METRICS, progress=False)
    one = score(sources, tasks, metrics=METRICS, progress=False, pairs_fraction=1.0)
    assert list(one.columns) == list(full.columns) and "predicted_sd" not in full.columns
    keep = [c for c in full.columns if c != "seconds"]  # seconds: wall time of each pair
    pd.testing.assert_frame_equal(one[keep], full[keep], check_exact=True)


def test_partial_table_marks_every_unscored_pair_predicted(zoo, partial):
    sources, tasks = zoo
    assert len(partial) == len(sources) * len(tasks) * len(METRICS)
    pred = partial[partial["status"] == "predicted"]
    ok = partial[partial["status"] == "ok"]
    assert len(pred) and len(ok) and set(partial["status"]) <= {"ok", "failed", "predicted"}
    assert pred["score"].isna().all() and np.isfinite(pred["normalized"]).all()
    assert (pred["predicted_sd"] > 0).all() and ok["predicted_sd"].isna().all()
    # a pair is scored for every metric or for none
    per_pair = partial.groupby(["source", "target"])["status"].nunique()
    assert (per_pair == 1).all()
    n_pairs_scored = ok[["source", "target"]].drop_duplicates().shape[0]
    assert n_pairs_scored < len(sources) * len(tasks)
    # the scored rows equal a full run's (same pair, same metric: same score)
    full = score(sources, tasks, metrics=METRICS, progress=False)
    merged = ok.merge(full, on=["source", "target", "metric"], suffixes=("", "_full"))
    assert len(merged) == len(ok) and (merged["score"] == merged["score_full"]).all()


def test_each_target_and_source_gets_its_minimum(partial):
    scored = partial[(partial["status"] != "predicted") & (partial["source_task"] != partial["target"])]
    pairs = scored[["source", "target"]].drop_duplicates()
    assert pairs.groupby("target").size().min() >= MIN_PER_TARGET
    assert pairs.groupby("source").size().min() >= MIN_PER_SOURCE


def test_predicted_top_k_is_rescored_exactly():
    """The last round scores exactly each target's top 3 by (measured value, else prediction) that were
    not scored yet, the predictions being those fitted on every earlier round."""
    from transfergraph.planner.common.seeds import derive_seed

    Y = _low_rank(50, 30, seed=4)
    seen = np.full(Y.shape, np.nan)

    def measure(pairs):
        for i, j in pairs:
            seen[i, j] = Y[i, j]
        return {"leep": seen.copy()}

    excluded = np.zeros(Y.shape, dtype=bool)
    excluded[np.arange(30), np.arange(30)] = True  # sources 0..29 are the targets' own models
    result = run_design([f"m{i:02d}" for i in range(50)], [f"d{j:02d}" for j in range(30)], 0.1, measure,
                        seed=0, top_k=3, excluded=excluded)
    assert result.rescored == result.rounds[-1]
    before = np.zeros(Y.shape, dtype=bool)
    for r in result.rounds[:-1]:
        for i, j in r:
            before[i, j] = True
    pred = predict_matrix(np.where(before, Y, np.nan), before, seed=derive_seed(0, "pairs_fraction", "folds"))
    combined = np.where(~excluded, np.where(before, Y, pred.mean), -np.inf)
    expected = {(int(i), j) for j in range(30) for i in np.argsort(-combined[:, j], kind="stable")[:3]
                if not before[i, j]}
    assert expected and set(result.rescored) == expected
    assert not (result.scored & excluded).any()


def test_a_predicted_run_never_recommends_a_predicted_edge(partial):
    from transfergraph.planner import build_graph
    from transfergraph.planner.decisions import build_plan

    graph = build_graph(partial, metric="leep")
    predicted = {(u, v) for u, v, d in graph.edges(data=True) if d.get("predicted")}
    assert predicted  # the graph does carry predicted edges
    plan = build_plan(graph, top_k=2, budget=2, n_groups=3).to_json()
    named = {(s, t) for t, top in plan["sources"].items() for s, _ in top}
    named |= {(s, t) for t, s in plan["source_set"]["assignment"].items()}
    named |= {(p, t) for t, (p, _) in plan["objectives"]["curriculum"]["parents"].items() if p}
    assert named and not named & predicted
    assert any("predicted" in w for w in plan["warnings"])


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, "ten", True, float("nan")])
def test_bad_pairs_fraction_is_an_input_error(zoo, bad):
    sources, tasks = zoo
    with pytest.raises(InputError, match="pairs_fraction"):
        score(sources, tasks, progress=False, pairs_fraction=bad)


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.1", "ten"])
def test_bad_pairs_fraction_flag_exits_2_naming_it(tmp_path, bad):
    from transfergraph.cli import app

    result = CliRunner().invoke(app, ["run", str(ROOT / "configs/tiny.yaml"), "--out", str(tmp_path / "o"),
                                      "--pairs-fraction", bad])
    assert result.exit_code == 2, result.output
    assert "--pairs-fraction" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("bad", [0, 1.5, "ten", True])
def test_bad_pairs_fraction_config_key_names_it(bad):
    import yaml

    from transfergraph.config import parse_config

    raw = yaml.safe_load((ROOT / "configs/tiny.yaml").read_text())
    raw["scoring"]["pairs_fraction"] = bad
    with pytest.raises(ConfigError, match="scoring.pairs_fraction"):
        parse_config(raw)


def _low_rank(S: int, T: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.5 + 0.1 * rng.normal(size=(S, 2)) @ rng.normal(size=(2, T)) + 0.1 * rng.normal(size=(S, 1))
            + 0.005 * rng.normal(size=(S, T)))


def test_predictor_recovers_a_low_rank_matrix():
    Y = _low_rank(100, 80)
    observed = np.random.default_rng(1).random(Y.shape) < 0.2
    pred = predict_matrix(Y, observed, seed=0)
    taus = [kendalltau(Y[~observed[:, j], j], pred.mean[~observed[:, j], j])[0] for j in range(Y.shape[1])]
    assert pred.rank >= 2 and np.mean(taus) > 0.8
    # the source-mean-only model cannot rank a rank-2 matrix per target nearly as well
    mean_only = predict_matrix(Y, observed, ranks=(0,))
    taus0 = [kendalltau(Y[~observed[:, j], j], mean_only.mean[~observed[:, j], j])[0] for j in range(Y.shape[1])]
    assert np.mean(taus) > np.mean(taus0) + 0.2


def test_design_depends_only_on_seed_and_names():
    Y = _low_rank(40, 30, seed=2)
    names_s, names_t = [f"m{i}" for i in range(40)], [f"d{j}" for j in range(30)]

    def design(perm_s, perm_t, seed):
        sources, targets = [names_s[i] for i in perm_s], [names_t[j] for j in perm_t]
        truth = Y[np.ix_(perm_s, perm_t)]
        seen = np.full(truth.shape, np.nan)

        def measure(pairs):
            for i, j in pairs:
                seen[i, j] = truth[i, j]
            return {"leep": seen.copy()}

        result = run_design(sources, targets, 0.1, measure, seed=seed, top_k=3)
        return {(sources[i], targets[j]) for i, j in zip(*np.nonzero(result.scored))}, result

    rng = np.random.default_rng(0)
    a, result = design(np.arange(40), np.arange(30), 0)
    b, _ = design(rng.permutation(40), rng.permutation(30), 0)
    c, _ = design(np.arange(40), np.arange(30), 1)
    assert a == b and a != c
    # the budget counts the re-score: the design rounds spend it less the re-score's reserve
    reserve = int(np.ceil(RESCORE_RESERVE * 3 * 30))
    assert result.budget == int(np.ceil(0.1 * 40 * 30))
    assert result.n_scored - len(result.rescored) == result.budget - reserve
    counts = result.scored.sum(axis=0), result.scored.sum(axis=1)
    assert counts[0].min() >= MIN_PER_TARGET and counts[1].min() >= MIN_PER_SOURCE


@pytest.mark.slow
def test_cli_run_with_pairs_fraction(tmp_path):
    from transfergraph.cli import app

    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(ROOT / "configs/tiny.yaml"), "--out", str(out), "--executor",
                                      "local", "--quiet", "--pairs-fraction", "0.5"])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out / "scores.csv")
    assert (scores["status"] == "predicted").any() and "predicted_sd" in scores.columns
    plan = json.loads((out / "plan.json").read_text())
    graph = nx.read_graphml(out / "graph.graphml")
    for target, top in plan["sources"].items():
        for source, _ in top:
            assert not graph.edges[source, target].get("predicted", False)
    assert "Scored " in (out / "report.md").read_text()


@pytest.mark.ray
@pytest.mark.slow
def test_a_fraction_run_on_ray_equals_the_local_one_bitwise(ray_session, zoo, partial):
    """The design depends on the seed, the names and earlier scores only: never on the executor."""
    from transfergraph.planner.executors import RayExecutor

    sources, tasks = zoo
    ray = score(sources, tasks, metrics=METRICS, progress=False, pairs_fraction=0.3, pairs_top_k=2,
                executor=RayExecutor(workers=2))
    keep = [c for c in partial.columns if c != "seconds"]
    pd.testing.assert_frame_equal(ray[keep], partial[keep], check_exact=True)


def _reveal_design(Y, fraction, *, seed=0, top_k=3):
    seen = np.full(Y.shape, np.nan)

    def measure(pairs):
        for i, j in pairs:
            seen[i, j] = Y[i, j]
        return {"leep": seen.copy()}

    S, T = Y.shape
    return run_design([f"m{i:02d}" for i in range(S)], [f"d{j:02d}" for j in range(T)], fraction, measure,
                      seed=seed, top_k=top_k)


def test_every_source_gets_half_its_fair_share_before_any_exploitation():
    """The coverage round alone scores each source on ceil(SOURCE_COVERAGE_SHARE * (B - R) / S) targets,
    R the re-score's reserve: a source seen on 2 targets only cannot be ranked on the others."""
    from transfergraph.planner.scoring.fraction import SOURCE_COVERAGE_SHARE

    S, T, f = 60, 40, 0.2
    result = _reveal_design(_low_rank(S, T, seed=5), f)
    budget = int(np.ceil(f * S * T))
    design_budget = budget - int(np.ceil(RESCORE_RESERVE * 3 * T))
    minimum = int(np.ceil(SOURCE_COVERAGE_SHARE * design_budget / S))
    assert minimum > MIN_PER_SOURCE  # the share, not the hard minimum, binds here
    coverage = np.zeros((S, T), dtype=bool)
    for i, j in result.rounds[0]:
        coverage[i, j] = True
    assert coverage.sum(axis=1).min() >= minimum
    assert result.budget == budget and result.n_scored - len(result.rescored) == design_budget


def test_last_design_round_scores_each_targets_predicted_top():
    """The last design round takes, per target, the unscored pairs ranked first by the re-score's rule
    (measured value where scored, the prediction fitted on the earlier rounds elsewhere)."""
    from transfergraph.planner.common.seeds import derive_seed
    from transfergraph.planner.scoring.fraction import DESIGN_ROUNDS

    Y = _low_rank(50, 30, seed=6)
    result = _reveal_design(Y, 0.25)
    assert len(result.rounds) == 1 + DESIGN_ROUNDS + 1  # coverage, design rounds, re-score
    before = np.zeros(Y.shape, dtype=bool)
    for r in result.rounds[:-2]:
        for i, j in r:
            before[i, j] = True
    last = np.zeros(Y.shape, dtype=bool)
    for i, j in result.rounds[-2]:
        last[i, j] = True
    assert last.any() and not (last & before).any()
    pred = predict_matrix(np.where(before, Y, np.nan), before, seed=derive_seed(0, "pairs_fraction", "folds"))
    combined = np.where(before, -np.inf, pred.mean)  # the unscored ones, by their prediction
    for j in range(Y.shape[1]):
        n = int(last[:, j].sum())
        expected = set(np.argsort(-combined[:, j], kind="stable")[:n].tolist())
        assert set(np.flatnonzero(last[:, j]).tolist()) == expected


@pytest.mark.slow
def test_design_ranks_a_low_rank_matrix_better_than_unbalanced_coverage():
    """Balanced coverage against the old hard minimum of 2 targets per source, same budget and seeds:
    the unscored pairs of a low-rank matrix are ranked better (mean per-target Kendall tau)."""
    import transfergraph.planner.scoring.fraction as fraction

    Y = _low_rank(50, 40, seed=7)  # at 20 %: a coverage minimum of 4 targets per source instead of 2

    def mean_tau(result):
        pred, scored = result.predictions["leep"].mean, result.scored
        return np.mean([kendalltau(Y[~scored[:, j], j], pred[~scored[:, j], j])[0] for j in range(Y.shape[1])])

    balanced = [mean_tau(_reveal_design(Y, 0.2, seed=s)) for s in range(2)]
    old = fraction.SOURCE_COVERAGE_SHARE
    try:
        fraction.SOURCE_COVERAGE_SHARE = 0.0
        unbalanced = [mean_tau(_reveal_design(Y, 0.2, seed=s)) for s in range(2)]
    finally:
        fraction.SOURCE_COVERAGE_SHARE = old
    assert np.mean(balanced) > np.mean(unbalanced) + 0.02, (balanced, unbalanced)


def test_task_to_task_pairs_are_always_scored(partial):
    """A task's own model on the other tasks gives the task->task edges that groups and curricula read:
    with any fraction they are measured, never predicted (a predicted edge would be read as missing)."""
    own = partial[(partial["source_task"] == "t00") & (partial["target"] != "t00")]
    assert len(own) == 9 * len(METRICS) and (own["status"] == "ok").all()


def test_required_pairs_join_the_first_round_of_the_design():
    Y = _low_rank(20, 12, seed=4)
    required = np.zeros(Y.shape, dtype=bool)
    required[3, :] = True  # one source on every target
    seen = np.full(Y.shape, np.nan)

    def measure(pairs):
        for i, j in pairs:
            seen[i, j] = Y[i, j]
        return {"leep": seen.copy()}

    result = run_design([f"m{i:02d}" for i in range(20)], [f"d{j:02d}" for j in range(12)], 0.1, measure,
                        seed=0, top_k=2, required=required)
    assert {(3, j) for j in range(12)} <= set(result.rounds[0]) and result.scored[3].all()
