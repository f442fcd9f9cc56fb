"""`transfergraph plan`: a bad plan option is reported under its command-line flag, exit 2, no traceback."""
import pytest
from typer.testing import CliRunner

from transfergraph.cli import app

runner = CliRunner()


@pytest.mark.parametrize("extra, expected, unwanted", [
    (["--start", "nosuch"], "--start 'nosuch' is not in the graph; expected one of the task nodes", "passed to"),
    (["--sources-from", "ext,"], "--sources-from must be one of ['all', 'external', 'tasks']", "PlanOptions"),
])
def test_a_bad_plan_option_names_its_flag(tmp_path, scores_csv, extra, expected, unwanted):
    result = runner.invoke(app, ["plan", str(scores_csv), "--out", str(tmp_path / "p"), *extra])
    assert result.exit_code == 2, result.output
    assert expected in result.output and unwanted not in result.output
    assert "Traceback" not in result.output


def test_a_cotraining_graph_is_not_re_planned_as_transfer_scores(tmp_path):
    """`transfergraph group` alone writes a graph of co-training gains; `plan` must not read them as LEEP."""
    import networkx as nx

    graph = nx.DiGraph(metric="cotrain_gain")
    graph.add_nodes_from(["a", "b"], kind="task")
    graph.add_edge("a", "b", weight=-0.04, cotrain_gain=-0.04, cotrain_se=0.02)
    graph.add_edge("b", "a", weight=0.01, cotrain_gain=0.01, cotrain_se=0.02)
    nx.write_graphml(graph, tmp_path / "graph.graphml")
    result = runner.invoke(app, ["plan", str(tmp_path / "graph.graphml"), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2, result.output
    assert "holds measured co-training gains (written by `transfergraph group`)" in result.output
    assert not (tmp_path / "p" / "plan.json").exists()


def test_plan_takes_quiet_like_the_other_commands(tmp_path, scores_csv):
    loud = runner.invoke(app, ["plan", str(scores_csv), "--out", str(tmp_path / "a")])
    quiet = runner.invoke(app, ["plan", str(scores_csv), "--out", str(tmp_path / "b"), "--quiet"])
    assert loud.exit_code == quiet.exit_code == 0, quiet.output
    assert "[transfergraph] wrote" in loud.output and "[transfergraph] wrote" not in quiet.output
    assert (tmp_path / "b" / "plan.json").is_file()
