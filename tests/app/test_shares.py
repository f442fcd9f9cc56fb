"""data.disjoint: tasks, trained external models and the meta backbone draw from disjoint shares of one split."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from transfergraph.config import load_config, parse_config
from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.jobs.shares import META_CONSUMER, share_rows
from transfergraph.jobs.suite import _dataset, build_tasks
from transfergraph.jobs.suite_provenance import model_provenances

ROOT = Path(__file__).resolve().parents[2]


def _demo(**data):
    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    raw["data"].update(data)
    return raw


def test_the_demo_config_draws_every_consumer_from_its_own_rows():
    config = parse_config(_demo())
    tasks = build_tasks(config)
    by_name = {t.name: set(t.provenance.rows.tolist()) for t in tasks}
    provenance = model_provenances(config, tasks, lambda name, key: _dataset(config, name, key))
    models = {name: set(parts[0].rows.tolist()) for name, parts in provenance.items()
              if not name.startswith("cnaps@") and not name.endswith(".cnn")}
    owners = {**by_name, **{n: r for n, r in models.items() if n != "ext_leaky_0to4"}}
    names = sorted(owners)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not owners[a] & owners[b], (a, b)
    # the one deliberate overlap: ext_leaky_0to4 is trained on digits_0to4's share, and says so
    share = set(share_rows(config, "digits_0to4", None, _dataset(config, None, "data").train_y).tolist())
    assert by_name["digits_0to4"] <= share and models["ext_leaky_0to4"] == share
    assert "deliberate overlap" in provenance["ext_leaky_0to4"][0].via


def test_shares_cover_each_class_among_its_users_and_are_deterministic():
    config = parse_config(_demo())
    y = _dataset(config, None, "data").train_y
    first = share_rows(config, "digits_even", None, y)
    assert np.array_equal(first, share_rows(config, "digits_even", None, y))
    assert set(np.unique(y[first]).tolist()) == {0, 2, 4, 6, 8}
    meta = share_rows(config, META_CONSUMER, None, y)
    assert set(np.unique(y[meta]).tolist()) == set(range(10))
    # every row of class 0 goes to exactly one of class 0's users
    users = [t.name for t in config.tasks if t.samples_from is None and (t.classes is None or 0 in t.classes)]
    users += [m.name for m in config.models.external
              if m.samples_from is None and (m.classes is None or 0 in m.classes)] + [META_CONSUMER]
    rows = np.concatenate([share_rows(config, u, None, y) for u in users])
    rows = rows[y[rows] == 0]
    assert len(rows) == len(set(rows.tolist())) == int((y == 0).sum())


def test_without_disjoint_every_consumer_uses_the_whole_split():
    raw = _demo(disjoint=False) | {"tasks": [{"name": "a", "classes": [0, 1]}, {"name": "b", "classes": [1, 2]}]}
    raw["models"]["external"] = [m for m in raw["models"]["external"] if "samples_from" not in m]
    config = parse_config(raw)
    assert share_rows(config, "a", None, np.array([0, 1, 2])) is None


@pytest.mark.parametrize("task, fragment", [
    ({"name": "x", "classes": [0, 1], "samples_from": "nope"}, "samples_from: expected the name of another task"),
    ({"name": "x", "classes": [0, 7], "samples_from": "digits_0to4"}, "must be a subset of 'digits_0to4'"),
    ({"name": "x", "samples_from": "x"}, "expected the name of another task"),
    ({"name": "x", "classes": [0, 1], "samples_from": "digits_0to4"}, None),
])
def test_bad_samples_from_is_a_config_error_naming_the_task(task, fragment):
    raw = _demo()
    raw["tasks"].append(task)
    if fragment is None:         # a task may draw from another task's share: it reads the same rows
        config = parse_config(raw)
        y = _dataset(config, None, "data").train_y
        assert np.array_equal(share_rows(config, "x", None, y), share_rows(config, "digits_0to4", None, y))
        return
    with pytest.raises(ConfigError, match="samples_from|subset") as err:
        parse_config(raw)
    assert fragment in str(err.value) and "tasks (x)" in str(err.value)


def test_samples_from_needs_disjoint():
    raw = _demo(disjoint=False)
    raw["models"]["external"] = [m for m in raw["models"]["external"] if "samples_from" not in m]
    raw["tasks"].append({"name": "x", "classes": [0, 1], "samples_from": "digits_0to4"})
    with pytest.raises(ConfigError, match="samples_from needs data.disjoint"):
        parse_config(raw)


def test_an_external_samples_from_must_name_a_task():
    raw = _demo()
    raw["models"]["external"].append({"name": "ext_bad", "samples_from": "ext_all_digits"})
    with pytest.raises(ConfigError, match=r"models.external \(ext_bad\).samples_from: expected the name of a task"):
        parse_config(raw)
