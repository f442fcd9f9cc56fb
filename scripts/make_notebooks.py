"""Generate notebooks/*.ipynb (run from the repository root: python scripts/make_notebooks.py).

The notebooks import only from the public face, ``transfergraph``; the test suite executes them (nbmake).
"""
import nbformat as nbf

def nb(cells):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    n.cells = [nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1]) for c in cells]
    for i, cell in enumerate(n.cells):  # stable ids: regenerating an unchanged notebook changes nothing
        cell["id"] = f"cell-{i:02d}"
    return n

quick = nb([
("md", """# transfergraph quickstart

Score every (source model, target task) pair with LEEP, build the transfer graph, and ask it which
source to fine-tune for each target. This notebook uses `configs/tiny.yaml` (scikit-learn digits,
three tiny tasks, seconds on a laptop) and the in-process `local` executor; `transfergraph run`
does the same from the command line, on Ray by default."""),
("code", """import os
os.chdir(os.path.dirname(os.path.abspath("")) if os.path.basename(os.path.abspath("")) == "notebooks" else ".")
from transfergraph import build_graph, build_sources, build_tasks, load_config, score, select_sources

config = load_config("configs/tiny.yaml")
tasks = build_tasks(config)
tasks"""),
("md", "Source models are trained here (seeded, deterministic): one small CNN per task plus an external model trained on all digits."),
("code", """sources = build_sources(config, tasks, model_dir=None)
sources"""),
("md", """`score` runs one forward pass per source over the distinct samples of all tasks and computes every
metric. One row per (source, target, metric); `normalized` is (LEEP + H(Y)) / H(Y): 0 means no better
than the label prior, 1 is perfect."""),
("code", """scores = score(sources, tasks, metrics=("leep", "nce", "h_score"), executor="local", progress=False)
assert (scores["status"] == "ok").all()
scores[scores.metric == "leep"][["source", "target", "score", "normalized"]]"""),
("code", """graph = build_graph(scores, metric="leep")
print(graph)
for target in [t.name for t in tasks]:
    print(target, "<-", select_sources(graph, target, k=2))"""),
("md", "The same flow from the command line writes `scores.csv`, `graph.graphml`, `plan.json` and `report.md`:\n\n```bash\ntransfergraph run configs/tiny.yaml --out runs/tiny\n```"),
])

groups = nb([
("md", """# Multitask groupings and continual-learning curricula

This notebook scores the demo's tasks (scikit-learn digits with class subsets and domain shifts) and
walks through the two graph decisions that are about *sets* of tasks:

- `group_tasks`: which tasks to train together (a partition maximizing each task's mean centred
  affinity from its group-mates);
- `order_curriculum`: in what order a continual learner should meet the tasks so that each one starts
  from the best model already available (exact: a maximum spanning arborescence).

To keep it fast it trains the demo's per-task models for fewer epochs and skips the meta-trained model."""),
("code", """import os
os.chdir(os.path.dirname(os.path.abspath("")) if os.path.basename(os.path.abspath("")) == "notebooks" else ".")
import yaml
from transfergraph import (build_graph, build_plan, build_sources, build_tasks, group_tasks, order_curriculum,
                           parse_config, score)

raw = yaml.safe_load(open("configs/demo.yaml"))
raw["models"]["training"]["epochs"] = 3
raw["models"]["meta"]["enabled"] = False
raw["validate"]["methods"] = ["retrain_head"]
config = parse_config(raw)
tasks = build_tasks(config)
sources = build_sources(config, tasks)
scores = score(sources, tasks, metrics=("leep",), executor="local", progress=False)
graph = build_graph(scores, metric="leep")
print(graph)"""),
("md", "### Groupings\nEach group's value is the mean centred affinity its members receive from each other; a task with no good partner stays alone."),
("code", """for n_groups in (2, 3, 4):
    print(n_groups, "groups:", group_tasks(graph, n_groups=n_groups))
print("groups of at most 3:", group_tasks(graph, n_groups=4, max_group_size=3))"""),
("md", "### Curricula\nEach task starts from the best model already trained: an earlier task's model or an external model (`kind='model'` nodes)."),
("code", """order = order_curriculum(graph)
print(" -> ".join(order))
print("starting from digits_rot45:", " -> ".join(order_curriculum(graph, start="digits_rot45")))"""),
("md", "### Everything at once, with objective values and optimality flags (what `plan.json` holds)"),
("code", """plan = build_plan(graph, metric="leep", budget=2, n_groups=3)   # a typed Plan; plan.to_json() is plan.json
for name in ("source_set", "groups", "curriculum"):
    d = plan.decision(name)
    print(f"{name}: objective {d.value:.4f}, {d.status.value}, by {d.method}")
plan.groups, plan.curriculum"""),
])
nbf.write(quick, "notebooks/01_quickstart.ipynb")
nbf.write(groups, "notebooks/02_groupings_and_curricula.ipynb")
