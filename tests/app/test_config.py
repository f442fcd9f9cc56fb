"""Config validation: every key checked, unknown keys rejected with their path."""
import pytest

from transfergraph.config import load_config, parse_config
from planner.exceptions import ConfigError

MINIMAL = {"tasks": [{"name": "a", "classes": [0, 1]}, {"name": "b", "classes": [2, 3]}]}


def test_shipped_configs_are_valid():
    for path in ["configs/demo.yaml", "configs/tiny.yaml", "configs/fashion_mnist.yaml", "configs/cluster.yaml"]:
        cfg = load_config(path)
        assert len(cfg.tasks) >= 2


def test_defaults():
    cfg = parse_config(MINIMAL)
    assert cfg.scoring.metrics == ["leep"] and cfg.plan_metric == "leep" and cfg.models.per_task


@pytest.mark.parametrize("patch, fragment", [
    ({"tasks": [{"name": "a", "classes": [0, 1], "colour": 3}, {"name": "b"}]}, "tasks.0.colour: unknown key"),
    ({"scoring": {"metrics": ["leep"], "exector": "ray"}}, "scoring.exector: unknown key"),
    ({"scoring": {"executor": "spark"}}, "scoring.executor"),
    ({"tasks": [{"name": "a"}, {"name": "a"}]}, "names must be unique"),
    ({"tasks": [{"name": "a"}]}, "tasks"),
    ({"tasks": [{"classes": [1, 2]}, {"name": "b"}]}, "tasks.0.name: required key is missing"),
    ({"tasks": [{"name": "a", "classes": [1]}, {"name": "b"}]}, "at least 2 distinct classes"),
    ({"plan": {"metric": "nce"}}, "plan.metric 'nce' must be one of scoring.metrics"),
    ({"plan": {"n_groups": 1, "max_group_size": 1}}, "cannot hold 2 tasks"),
    ({"plan": {"curriculum_start": "zzz"}}, "curriculum_start 'zzz' is not a task name"),
    ({"validate": {"methods": ["meta_transfer"]}}, "meta_transfer but models.meta.enabled is false"),
    ({"models": {"per_task": False}}, "no sources"),
    ({"data": {"image_size": 2}}, "data.image_size"),
    ({"seed": "x"}, "seed"),
])
def test_bad_configs_name_the_key(patch, fragment):
    with pytest.raises(ConfigError) as info:
        parse_config({**MINIMAL, **patch})
    assert fragment in str(info.value)


def test_yaml_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("tasks:\n  - {name: a\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML at line \d+"):
        load_config(p)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(tmp_path / "list.yaml")


def test_yaml_cannot_execute_code(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("tasks: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
