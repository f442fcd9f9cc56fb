"""Names from the wild through every output file: scores.csv, graph.graphml and plan.json give back the
names as typed (number-like, word-like, padded), control characters are refused where a name enters,
and `transfergraph plan` answers any malformed input with exit 2 and a message, never a traceback.

Tiny in-memory tasks and linear "models", scored with the local executor (seconds).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.config import parse_config
from transfergraph.planner import Source, Task, score
from transfergraph.planner.common.exceptions import ConfigError, InputError
from transfergraph.planner.report.artifacts import read_scores

os.environ.setdefault("OMP_NUM_THREADS", "1")
runner = CliRunner()

#: names that pandas, YAML 1.1 or a spreadsheet would read as something else
NUMBER_LIKE = ["001", "010", "0.50", "1e3", "1E3", "-0", "+1", "0x1F", "1_000", "1.0", "1", "inf", "-inf", "NaN"]
WORD_LIKE = ["nan", "None", "True", "false", "NA", "N/A", "null", "NULL", "#N/A", " padded ", "a,b", 'say "hi"',
             "a&b<c>", "accents é ü ß", "#comment", "'quoted'", "=1+1"]
#: every character a name may not hold: C0 and C1 controls, DEL, line/paragraph separators, surrogates,
#: XML non-characters
REFUSED = [chr(c) for c in range(0x20)] + ["\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029", "\ud800", "\ufffe",
                                            "\uffff"]


def _tasks(names, seed=0):
    rng = np.random.default_rng(seed)
    return [Task(n, rng.normal(size=(24, 4)).astype("float32"), np.arange(24) % 3) for n in names]


def _sources(task_names, externals, seed=0):
    torch.manual_seed(seed)
    own = [Source(f"{t}.lin", torch.nn.Linear(4, 3), task=t) for t in task_names]
    return own + [Source(e, torch.nn.Linear(4, 5)) for e in externals]


def _scores_csv(tmp: Path, task_names, externals) -> tuple[pd.DataFrame, Path]:
    scores = score(_sources(task_names, externals), _tasks(task_names), metrics=["leep"], progress=False)
    path = tmp / "scores.csv"
    scores.to_csv(path, index=False)  # as `transfergraph run` writes it
    return scores, path


def _plan(args, out: Path) -> dict:
    result = runner.invoke(app, ["plan", *map(str, args), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "plan.json").read_text())


def _decisions(plan: dict) -> dict:
    return {k: plan[k] for k in ("sources", "source_set", "groups", "curriculum")}


@pytest.mark.parametrize("names, externals", [
    (NUMBER_LIKE[:7], ["007", "1e-3"]),     # every name of a column number-like: pandas would infer numbers
    (NUMBER_LIKE[7:], ["0", "2.50"]),
    (WORD_LIKE[:9], ["null.model", "TRUE"]),
    (WORD_LIKE[9:], ["none", "0"]),
], ids=["numbers-a", "numbers-b", "words-a", "words-b"])
def test_names_round_trip_through_scores_csv_graphml_and_plan(names, externals, tmp_path):
    scores, path = _scores_csv(tmp_path, names, externals)
    back = read_scores(path)
    for col in ("source", "source_task", "target"):
        assert back[col].tolist() == scores[col].fillna("").tolist(), col
    assert (back.loc[back["source"].isin(externals), "source_task"] == "").all()  # empty stays empty, not "nan"

    from_csv = _plan([path], tmp_path / "p1")
    assert sorted(from_csv["sources"]) == sorted(names)  # every target kept its own name ...
    for target, top in from_csv["sources"].items():      # ... and its sources (no "1" standing for "001")
        assert top and {s for s, _ in top} <= (set(names) | set(externals)) - {target}
    graph = nx.read_graphml(tmp_path / "p1" / "graph.graphml")
    assert set(graph.nodes) == set(names) | set(externals)
    assert {n for n, k in graph.nodes(data="kind") if k == "task"} == set(names)

    from_graph = _plan([tmp_path / "p1" / "graph.graphml"], tmp_path / "p2")
    assert _decisions(from_graph) == _decisions(from_csv)
    again = read_scores(tmp_path / "p1" / "scores.csv")  # the re-plan's own copy, written from what it read
    pd.testing.assert_frame_equal(again[["source", "source_task", "target"]], back[["source", "source_task", "target"]])


def test_the_reported_case_target_001_keeps_its_sources(tmp_path):
    """Issue case: with targets "001" and "010" only, the re-plan read them as 1 and 10."""
    scores, path = _scores_csv(tmp_path, ["001", "010"], ["ext"])
    plan = _plan([path], tmp_path / "p")
    assert set(plan["sources"]) == {"001", "010"}
    assert {s for s, _ in plan["sources"]["001"]} == {"010", "ext"}


@pytest.mark.parametrize("char", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_control_characters_are_refused_in_every_name(char):
    x, y = np.zeros((4, 2), "float32"), [0, 1, 0, 1]
    bad = f"task{char}1"
    with pytest.raises(InputError, match=r"name of Task .*control character .*U\+%04X" % ord(char)):
        Task(bad, x, y)
    model = torch.nn.Linear(2, 2)
    with pytest.raises(InputError, match=r"name of Source .*control character"):
        Source(bad, model)
    with pytest.raises(InputError, match=r"task of Source 'm' .*control character"):
        Source("m", model, task=bad)
    config = {"tasks": [{"name": bad}, {"name": "b"}]}
    refused = r"(names may not contain control characters|unable to parse raw data as a unicode string)"
    with pytest.raises(ConfigError, match=r"tasks\.0\.name: .*" + refused):
        parse_config(config)
    config = {"tasks": [{"name": "a"}, {"name": "b"}], "models": {"external": [{"name": bad, "classes": [0, 1]}]}}
    with pytest.raises(ConfigError, match=r"models\.external\.0\.name: .*" + refused):
        parse_config(config)


def test_names_that_are_not_control_characters_are_accepted():
    x, y = np.zeros((4, 2), "float32"), [0, 1, 0, 1]
    for name in NUMBER_LIKE + WORD_LIKE + ["\u00a0nbsp", "zero\u200bwidth", "emoji 🙂"]:
        assert Task(name, x, y).name == name


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture(scope="module")
def good_graph(tmp_path_factory) -> Path:
    """A graph.graphml written by `transfergraph plan` (tasks t1, t2, t3 and a model ext)."""
    tmp = tmp_path_factory.mktemp("good")
    _, path = _scores_csv(tmp, ["t1", "t2", "t3"], ["ext"])
    _plan([path], tmp / "good")
    return tmp / "good" / "graph.graphml"


def _graph_variant(tmp: Path, good: Path, change) -> Path:
    graph = change(nx.read_graphml(good))
    path = tmp / "variant.graphml"
    nx.write_graphml(graph, path)
    return path


def _set_weights(value):
    def change(g):
        for e in g.edges:
            g.edges[e]["weight"] = value
        return g
    return change


def _without_kind(g):
    del g.nodes["t1"]["kind"]
    return g


def _parallel_edges(g):
    multi = nx.MultiDiGraph(g)
    multi.add_edges_from(list(g.edges(data=True))[:2])
    return multi


CSV_HEAD = "source,source_task,target,metric,score,normalized,status,error\n"
MALFORMED = {
    # graph.graphml
    "empty graphml": (lambda t, g: _write(t / "g.graphml", ""), "is not a readable GraphML file"),
    "not XML": (lambda t, g: _write(t / "g.graphml", "hello"), "is not a readable GraphML file"),
    "binary graphml": (lambda t, g: _write(t / "g.graphml", b"\x00\xff\xfe"), "is not a readable GraphML file"),
    "truncated graphml": (lambda t, g: _write(t / "g.graphml", g.read_text()[:700]), "is not a readable GraphML"),
    "XML, not GraphML": (lambda t, g: _write(t / "g.graphml", "<html><body/></html>"), "GraphML"),
    "undirected graph": (lambda t, g: _write(t / "g.graphml", g.read_text().replace(
        'edgedefault="directed"', 'edgedefault="undirected"')), "is not a transfer graph"),
    "parallel edges": (lambda t, g: _graph_variant(t, g, _parallel_edges), "at most one edge per pair"),
    "node without kind": (lambda t, g: _graph_variant(t, g, _without_kind), "is not a transfer graph"),
    "carriage return by character reference": (lambda t, g: _write(t / "g.graphml", g.read_text().replace(
        '"t1"', '"t&#13;1"')), "control character '\\r'"),
    "control character by reference": (lambda t, g: _write(t / "g.graphml", g.read_text().replace(
        '"t1"', '"t&#1;1"')), "is not a readable GraphML file"),
    "weights that are text": (lambda t, g: _graph_variant(t, g, _set_weights("high")),
                              "expected a finite number"),
    "weights that are NaN": (lambda t, g: _graph_variant(t, g, _set_weights(float("nan"))),
                             "expected a finite number"),
    "graph without nodes": (lambda t, g: (nx.write_graphml(nx.DiGraph(metric="leep"), t / "g.graphml"),
                                       t / "g.graphml")[1], "empty"),
    # scores.csv
    "empty csv": (lambda t, g: _write(t / "s.csv", ""), "is not a readable CSV"),
    "binary csv": (lambda t, g: _write(t / "s.csv", b"\xff\xfe\x00garbage"), "is not a readable CSV"),
    "header only": (lambda t, g: _write(t / "s.csv", CSV_HEAD), "has no score rows"),
    "text in score": (lambda t, g: _write(t / "s.csv", CSV_HEAD + "m,,a,leep,abc,0.5,ok,\nm,,b,leep,-1,0.5,ok,\n"),
                      "column 'score' of data row 1 is 'abc'"),
    "repeated rows": (lambda t, g: _write(t / "s.csv", CSV_HEAD + "m,,a,leep,-1,0.5,ok,\nm,,a,leep,-2,0.4,ok,\n"),
                      "repeated (source, target, metric)"),
    "quoted carriage return in a name": (lambda t, g: _write(t / "s.csv", CSV_HEAD + 'm,,"a\rb",leep,-1,0.5,ok,\n'),
                                         "column 'target' of data row 1 contains the control character"),
    "unquoted carriage return in a name": (lambda t, g: _write(t / "s.csv", CSV_HEAD + "m,,a\rb,leep,-1,0.5,ok,\n"),
                                           "malformed row"),
    "NUL in a name": (lambda t, g: _write(t / "s.csv", CSV_HEAD + "m\x00x,,a,leep,-1,0.5,ok,\n"),
                      "control character '\\x00'"),
    "missing columns": (lambda t, g: _write(t / "s.csv", "a,b\n1,2\n"), "lacks columns"),
    "a folder": (lambda t, g: (t / "d.csv").mkdir() or t / "d.csv", "does not exist"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_plan_answers_malformed_input_with_exit_2_and_no_traceback(case, tmp_path, good_graph):
    build, fragment = MALFORMED[case]
    result = runner.invoke(app, ["plan", str(build(tmp_path, good_graph)), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, f"{case}: exit {result.exit_code}\n{result.output}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "transfergraph: error:" in result.output and "Traceback" not in result.output
    assert fragment in result.output, result.output


def test_plan_reports_an_unexpected_failure_without_traceback_and_shows_it_with_debug(tmp_path, monkeypatch):
    _, path = _scores_csv(tmp_path, ["t1", "t2"], ["ext"])

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded\nsecond line")

    monkeypatch.setattr("transfergraph.jobs.run.plan_outputs", broken)
    result = runner.invoke(app, ["plan", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"cannot re-plan from {path}: RuntimeError: solver exploded (run with --debug" in result.output
    for args in (["--debug", "plan", str(path)], ["plan", str(path), "--debug"]):
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
        assert isinstance(result.exception, RuntimeError), result.output


@pytest.mark.parametrize("command", [["run", "missing.yaml"], ["validate", "missing.yaml"],
                                     ["plan", "missing.csv"]], ids=lambda c: c[0])
def test_debug_works_before_and_after_the_command(command, tmp_path):
    args = [command[0], str(tmp_path / command[1]), "--out", str(tmp_path / "o")]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 2 and "transfergraph: error:" in plain.output and "does not exist" in plain.output
    for debug_args in (["--debug", *args], [*args, "--debug"]):
        result = runner.invoke(app, debug_args)
        assert isinstance(result.exception, (InputError, ConfigError)), (debug_args, result.output)
    # the flag of one invocation does not leak into the next
    assert runner.invoke(app, args).exit_code == 2


def test_continual_order_cache_gives_back_task_names_as_written(tmp_path):
    """`validate --decisions` caches each first task's orders as a CSV; read back, "001" stays "001"."""
    from transfergraph.adapters.models import SmallCNN
    from transfergraph.jobs.suite import build_tasks
    from transfergraph.planner.validation._training_core import TrainBudget, prepare_tasks
    from transfergraph.planner.validation.continual import orders_table

    cfg = parse_config({"seed": 0, "data": {"dataset": "digits", "image_size": 8},
                        "tasks": [{"name": "001", "classes": [0, 1]}, {"name": "010", "classes": [2, 3]}]})
    data = prepare_tasks(build_tasks(cfg), train_per_class=6)
    kw = {"seed": 0, "budget": TrainBudget(steps=2, batch=4, n_evals=1, replay=2),
          "trunk": lambda: SmallCNN(2, 1, 4, 8).features, "cache": tmp_path}
    first, cached = orders_table(data, **kw), orders_table(data, **kw)  # the second reads the CSVs back
    assert set(cached["task"]) == {"001", "010"} and set(cached["prefix"]) == set(first["prefix"])
    pd.testing.assert_frame_equal(cached[["prefix", "task", "curve"]], first[["prefix", "task", "curve"]])


def test_every_command_accepts_debug_after_its_name():
    import typer

    commands = typer.main.get_command(app).commands
    assert {"run", "plan", "validate"} <= set(commands)
    missing = [name for name, cmd in commands.items() if not any("--debug" in p.opts for p in cmd.params)]
    assert missing == [], f"commands without --debug: {missing}"


class _FailsWithLineBreaks(torch.nn.Module):
    """A model whose error message holds carriage returns (as progress-bar output does)."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        raise RuntimeError("step 1\rstep 2\r\nfailed")


def test_error_messages_with_carriage_returns_keep_scores_csv_readable(tmp_path):
    tasks = _tasks(["001", "010"])
    sources = _sources(["001", "010"], []) + [Source("broken", _FailsWithLineBreaks())]
    scores = score(sources, tasks, metrics=["leep"], progress=False)
    path = tmp_path / "scores.csv"
    scores.to_csv(path, index=False)
    back = read_scores(path)
    assert len(back) == len(scores) == 6
    failed = back[back["status"] == "failed"]
    assert (failed["source"] == "broken").all() and len(failed) == 2
    assert all("step 1" in e and "failed" in e and "\r" not in e for e in failed["error"])
    assert failed["error"].tolist() == scores.loc[scores["status"] == "failed", "error"].tolist()
    assert set(_plan([path], tmp_path / "p")["sources"]) == {"001", "010"}
