"""YAML configs as users write them: a key given twice (at any depth) is an error naming the key and
its lines; YAML 1.1 conversions (octal 010, base-60 1:30, yes/no/on/off booleans, dates) never happen
silently: values are read as written or refused with a message that says what to write."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.config import load_config
from transfergraph.config.yaml_rules import YamlProblems, load_yaml
from transfergraph.planner.common.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tasks:\n  - {name: a, classes: [0, 1]}\n  - {name: b, classes: [2, 3]}\n"


def _load(tmp_path: Path, text: str):
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return load_config(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return str(info.value)


@pytest.mark.parametrize("text, path, where", [
    (TASKS + "scoring: {metrics: [leep]}\nplan: {top_k: 2}\nscoring: {metrics: [nce]}\n", "scoring", "lines 4 and 6"),
    ("tasks:\n  - name: a\n    classes: [0, 1]\n    classes: [2, 3]\n  - {name: b}\n", "tasks.0.classes",
     "lines 3 and 4"),
    (TASKS + "models:\n  training:\n    epochs: 3\n    lr: 0.1\n    epochs: 5\n", "models.training.epochs",
     "lines 6 and 8"),
    ("tasks:\n  - {name: a}\n  - {name: b, shift: {rotate: 30, rotate: 60}}\n", "tasks.1.shift.rotate",
     "line 3, column 23 and line 3, column 35"),
    (TASKS + "seed: 1\nseed: 2\nseed: 3\n", "seed", "lines 4, 5 and 6"),
    (TASKS + "models:\n  external:\n    - name: e\n      classes: [0, 1]\n      name: f\n", "models.external.0.name",
     "lines 6 and 8"),
    (TASKS + "plan: {top_k: 2}\n'plan': {top_k: 3}\n", "plan", "lines 4 and 5"),  # quoted or not, one key
], ids=["top level", "in a list item", "nested", "flow mapping", "three times", "external model", "quoted"])
def test_a_key_given_twice_is_an_error_naming_it_and_its_lines(text, path, where, tmp_path):
    message = _error(tmp_path, text)
    assert f"  - {path}: key given " in message and f"({where})" in message, message
    assert "keep one of them" in message and message.startswith("invalid config ")


def test_every_duplicate_is_listed_one_line_each(tmp_path):
    text = TASKS + "seed: 1\nplan: {top_k: 1, top_k: 2}\nseed: 2\n"
    lines = _error(tmp_path, text).splitlines()[1:]
    assert [ln.split(":")[0].strip(" -") for ln in lines] == ["plan.top_k", "seed"]


def test_merge_keys_may_be_overridden_as_yaml_intends(tmp_path):
    text = TASKS + "validate:\n  decisions:\n    <<: {steps: 5, batch: 4}\n    steps: 7\n"
    config = _load(tmp_path, text)
    assert config.validate_.decisions.steps == 7 and config.validate_.decisions.batch == 4


@pytest.mark.parametrize("written, read", [
    ("010", "010"), ("001", "001"), ("-010", "-010"), ("0o10", "0o10"), ("0x1F", "0x1F"), ("0b101", "0b101"),
    ("1_000", "1_000"), ("1:30", "1:30"), ("190:20:30.15", "190:20:30.15"), ("2024-01-01", "2024-01-01"),
    ("00.5", "00.5"), ("None", "None"), ("nan", "nan"), ("NaN", "NaN"), ("inf", "inf"), ("=", "="),
    ("12", 12), ("-3", -3), ("+4", 4), ("0", 0), ("0.50", 0.5), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0),
    ("1e-3", 0.001), ("2.5E+3", 2500.0), ("true", True), ("False", False), ("TRUE", True), ("null", None),
    ("~", None), ("", None), ('"no"', "no"), ("'010'", "010"), ("!!int 010", 10), ("!!int 0o10", 8),
    ("!!int 0x1F", 31), ("!!float 3", 3.0), ("!!str 12", "12"),
])
def test_scalars_are_read_as_written_by_the_yaml_1_2_core_schema(written, read):
    assert load_yaml(f"v: {written}\n") == {"v": read}
    assert type(load_yaml(f"v: {written}\n")["v"]) is type(read)


@pytest.mark.parametrize("word", ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
                                  "y", "Y", "n", "N"])
def test_yaml_1_1_booleans_are_refused_with_the_fix(word, tmp_path):
    message = _error(tmp_path, TASKS + f"models:\n  per_task: {word}\n")
    assert f"  - models.per_task: unquoted {word!r} is a boolean in YAML 1.1" in message and "(line 5)" in message
    assert "write true or false" in message
    message = _error(tmp_path, f"tasks:\n  - {{name: a, classes: [{word}, x]}}\n  - {{name: b}}\n")
    assert f"tasks.0.classes.0: unquoted {word!r}" in message
    message = _error(tmp_path, TASKS + f"{word}: 3\n")
    assert f"  - {word}: as a key, unquoted {word!r}" in message
    assert _load(tmp_path, f"tasks:\n  - {{name: '{word}'}}\n  - {{name: b}}\n").tasks[0].name == word


@pytest.mark.parametrize("name", ["010", "001", "0o10", "0x1F", "1_000", "1:30", "2024-01-01", "nan", "None", "inf"])
def test_task_names_that_yaml_1_1_would_convert_stay_strings(name, tmp_path):
    config = _load(tmp_path, f"tasks:\n  - {{name: {name}}}\n  - name: b\n    classes: [{name}, x]\n"
                             f"validate:\n  decisions: {{tasks: [{name}, b]}}\nplan: {{curriculum_start: {name}}}\n")
    assert config.tasks[0].name == name and config.tasks[1].classes == [name, "x"]
    assert config.validate_.decisions.tasks == [name, "b"] and config.plan.curriculum_start == name


@pytest.mark.parametrize("value, given", [("0.50", "float 0.5"), ("1e3", "float 1000.0"), ("12", "int 12"),
                                          ("true", "bool True")])
def test_a_name_read_as_a_number_or_boolean_is_refused_with_the_quoting_fix(value, given, tmp_path):
    message = _error(tmp_path, f"tasks:\n  - {{name: {value}}}\n  - {{name: b}}\n")
    assert f"tasks.0.name: expected a string; got {given} (YAML reads the unquoted value" in message
    assert "quote it" in message
    assert _load(tmp_path, f"tasks:\n  - {{name: '{value}'}}\n  - {{name: b}}\n").tasks[0].name == value


@pytest.mark.parametrize("key, value, expected", [
    ("plan: {top_k: %s}", "010", "plan.top_k: expected an integer; got str '010' (a number with leading zeros"),
    ("plan: {top_k: %s}", "0o3", "plan.top_k: expected an integer; got str '0o3' (a number with leading zeros"),
    ("plan: {top_k: %s}", "1_0", "plan.top_k: expected an integer; got str '1_0'"),
    ("plan: {time_limit: %s}", "1:30", "plan.time_limit: expected a number; got str '1:30' (a number with"),
    ("plan: {time_limit: %s}", ".inf", "plan.time_limit: expected a finite number; got float inf"),
    ("models: {training: {lr: %s}}", ".nan", "models.training.lr: expected a finite number; got float nan"),
    ("tasks: [{name: a, shift: {rotate: %s}}, {name: b}]\n#", "-.inf", "tasks.0.shift.rotate: expected a finite number"),
])
def test_numbers_yaml_1_1_would_convert_and_non_finite_numbers_are_refused(key, value, expected, tmp_path):
    text = (key % value) + "\n" + (TASKS if not key.startswith("tasks") else "")
    assert expected in _error(tmp_path, text)


def test_scientific_notation_is_a_number(tmp_path):
    """YAML 1.1 (PyYAML) reads 1e-3 as the string '1e-3'; the 1.2 core schema as 0.001."""
    assert _load(tmp_path, TASKS + "models: {training: {lr: 1e-3}}\n").models.training.lr == 0.001


def test_explicit_tags_of_yaml_1_1_numbers_are_refused(tmp_path):
    assert "is not a YAML 1.2 integer" in _error(tmp_path, TASKS + "seed: !!int 1:30\n")
    assert "is not a YAML 1.2 number" in _error(tmp_path, TASKS + "plan: {time_limit: !!float 1_0}\n")
    with pytest.raises(YamlProblems):
        load_yaml("a: 1\na: 2\n")


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f", "\x00"])
def test_a_control_character_written_into_the_file_is_refused_with_its_line(char, tmp_path):
    message = _error(tmp_path, f"tasks:\n  - {{name: a{char}b}}\n  - {{name: c}}\n")
    assert "is not valid YAML at line 2" in message


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_shipped_configs_read_the_same_as_before(config):
    text = (ROOT / "configs" / config).read_text()
    assert load_yaml(text) == yaml.safe_load(text)


def test_cli_exits_2_with_the_duplicate_message_and_no_traceback(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(TASKS + "scoring: {metrics: [leep]}\nscoring: {metrics: [nce]}\n")
    for args in (["run", str(path)], ["run", str(path), "--debug"]):
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o"), "--executor", "local"])
        if "--debug" in args:
            assert isinstance(result.exception, ConfigError)
            continue
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "scoring: key given 2 times (lines 4 and 5)" in result.output
    scores = tmp_path / "scores.csv"
    scores.write_text("source,source_task,target,metric,score,normalized,status\nm,,a,leep,-1,0.5,ok\n"
                      "m,,b,leep,-1,0.4,ok\n")
    plan = CliRunner().invoke(app, ["plan", str(scores), "--config", str(path), "--out", str(tmp_path / "p")])
    assert plan.exit_code == 2 and "scoring: key given 2 times (lines 4 and 5)" in plan.output
