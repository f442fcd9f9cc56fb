"""Names that look like markdown (a|b, *x*, _x_) read as themselves in report.md."""
from transfergraph.planner.report.explain import explain_plan
from transfergraph.planner.report.tables import md


def test_md_escapes_what_markdown_would_read():
    assert md("a|b") == "a\\|b" and md("*x*") == "\\*x\\*" and md("_x_") == "\\_x\\_"
    assert md("digits_0to4") == "digits_0to4"          # an intraword underscore never starts emphasis
    assert md("[link](u) <b> #h `c` ~s~ \\") == "\\[link\\](u) \\<b\\> \\#h \\`c\\` \\~s\\~ \\\\"


def test_plan_tables_keep_their_columns_with_a_pipe_in_a_name():
    import networkx as nx

    from transfergraph.planner.decisions import build_plan

    graph = nx.DiGraph()
    for u, v, w in [("a|b", "*x*", 0.5), ("*x*", "a|b", 0.4), ("a|b", "_y_", 0.3), ("_y_", "a|b", 0.2),
                    ("*x*", "_y_", 0.6), ("_y_", "*x*", 0.1)]:
        graph.add_edge(u, v, weight=w, leep=w - 1.0)
    for n in graph.nodes:
        graph.nodes[n]["kind"] = "task"
    graph.graph["metric"] = "leep"
    text = explain_plan(build_plan(graph, metric="leep").to_json())
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| target")]
    assert rows and all(line.count("|") - line.count("\\|") == 4 for line in rows), rows
    assert "**a\\|b**" in text and "**\\*x\\***" in text and "**\\_y\\_**" in text
