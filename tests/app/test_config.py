"""Config validation: every key checked, unknown keys rejected with their path."""
import pytest

from transfergraph.config import load_config, parse_config
from transfergraph.planner.common.exceptions import ConfigError

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
    ({"tasks": [{"name": "a", "classes": [1, 1]}, {"name": "b"}]}, "tasks.0.classes: classes must be distinct; got [1, 1]"),
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


@pytest.mark.parametrize("patch, fragment", [
    ({"plan": {"top_k": True}}, "plan.top_k: expected an integer; got bool True"),
    ({"plan": {"top_k": "3"}}, "plan.top_k: expected an integer; got str '3'"),
    ({"plan": {"budget": 2.0}}, "plan.budget: expected an integer; got float 2.0"),
    ({"seed": True}, "seed: expected an integer; got bool True"),
    ({"models": {"training": {"epochs": True}}}, "models.training.epochs: expected an integer; got bool True"),
    ({"validate": {"decisions": {"seeds": True}}}, "validate.decisions.seeds: expected an integer; got bool True"),
    ({"models": {"per_task": 1}}, "models.per_task: expected a boolean (true or false); got int 1"),
    ({"models": {"training": {"lr": True}}}, "models.training.lr: expected a number; got bool True"),
    ({"data": {"test_fraction": "0.2"}}, "data.test_fraction: expected a number; got str '0.2'"),
    ({"tasks": [{"name": "a", "classes": [True, 2]}, {"name": "b"}]}, "tasks.0.classes.0: expected an integer or a string; got bool True"),
    ({"models": {"external": [{"name": "e", "checkpoint": "m.pt", "preprocess": {"channels": True}}]}},
     "models.external.0.preprocess.channels: expected 1 or 3; got bool True"),
])
def test_integer_and_boolean_keys_are_strict(patch, fragment):
    """YAML `true`, quoted numbers and floats are never silently read as integers (or ints as booleans)."""
    with pytest.raises(ConfigError) as info:
        parse_config({**MINIMAL, **patch})
    assert fragment in str(info.value)


def test_union_value_error_is_one_line():
    """A value that fits none of a key's accepted types is one line listing them all."""
    with pytest.raises(ConfigError) as info:
        parse_config({"tasks": [{"name": "a", "shift": {"rotate": "lots"}}, {"name": "b"}]})
    lines = str(info.value).splitlines()[1:]
    assert lines == ["  - tasks.0.shift.rotate: expected a number or a boolean (true or false); got str 'lots'"]


def test_lenient_where_the_type_is_unambiguous():
    """Ints for float keys and strings for paths still load."""
    cfg = parse_config({**MINIMAL, "models": {"training": {"lr": 1}, "model_dir": "runs/m"},
                        "scoring": {"cache": "runs/cache", "gpus_per_task": 1}})
    assert cfg.models.training.lr == 1.0 and isinstance(cfg.models.training.lr, float)
    assert cfg.scoring.gpus_per_task == 1.0
    assert cfg.scoring.cache == "runs/cache" and cfg.models.model_dir == "runs/m"


@pytest.mark.parametrize("patch, fragment", [
    ({"scoring": {"pairs_fraction": 0}}, "scoring.pairs_fraction: Input should be greater than 0 (got int 0)"),
    ({"scoring": {"pairs_fraction": 1.5}}, "scoring.pairs_fraction: Input should be less than or equal to 1 (got float 1.5)"),
    ({"plan": {"top_k": 0}}, "plan.top_k: Input should be greater than or equal to 1 (got int 0)"),
])
def test_a_bound_error_names_the_value_even_when_the_bound_spells_it(patch, fragment):
    """ "greater than 0" contains "0": the value given is still named."""
    with pytest.raises(ConfigError) as info:
        parse_config({**MINIMAL, **patch})
    assert fragment in str(info.value)
