"""A command that fails on its config or inputs leaves no new, empty ``--out`` folder behind, and never touches
an ``--out`` that existed before it."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.cli.out_folder import new_folders, remove_if_empty

TINY = (Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml").read_text()


def _config(tmp_path, old: str, new: str) -> str:
    assert old in TINY
    path = tmp_path / "bad.yaml"
    path.write_text(TINY.replace(old, new))
    return str(path)


def _missing_checkpoint(tmp_path):
    return _config(tmp_path, "external: [{name: ext_all, classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}]",
                   f"external: [{{name: ext_ck, checkpoint: {tmp_path / 'missing.pt'}}}]")


def _unknown_class(tmp_path):
    return _config(tmp_path, "classes: [7, 8, 9]", "classes: [7, 8, 42]")


@pytest.mark.parametrize("command, make", [
    (["run"], _missing_checkpoint),
    (["validate"], _missing_checkpoint),
    (["group", "--seeds", "1", "--steps", "2"], _unknown_class),
])
def test_a_config_error_exits_2_and_removes_the_new_out_folder(tmp_path, command, make):
    out = tmp_path / "new" / "sub"
    result = CliRunner().invoke(app, [command[0], make(tmp_path), *command[1:], "--out", str(out),
                                      "--executor", "local", "--quiet"])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    assert not (tmp_path / "new").exists()


def test_plan_from_a_missing_table_creates_no_out_folder(tmp_path):
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "nothere.csv"), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "p").exists()


def test_an_existing_out_with_previous_outputs_is_left_as_it_was(tmp_path):
    out = tmp_path / "old"
    (out / "cache").mkdir(parents=True)
    (out / "empty").mkdir()
    (out / "report.md").write_text("previous run\n")
    result = CliRunner().invoke(app, ["run", _missing_checkpoint(tmp_path), "--out", str(out), "--executor", "local",
                                      "--quiet"])
    assert result.exit_code == 2, result.output
    assert sorted(p.name for p in out.iterdir()) == ["cache", "empty", "report.md"]
    assert (out / "report.md").read_text() == "previous run\n"


def test_remove_if_empty_keeps_a_new_folder_that_holds_a_file(tmp_path):
    created = new_folders(tmp_path / "a" / "b")
    assert created == [tmp_path / "a" / "b", tmp_path / "a"]
    (tmp_path / "a" / "b" / "cache" / "x").mkdir(parents=True)
    (tmp_path / "a" / "b" / "cache" / "x" / "pair.json").write_text("{}")
    (tmp_path / "a" / "b" / "models").mkdir()
    remove_if_empty(created)
    assert (tmp_path / "a" / "b" / "cache" / "x" / "pair.json").is_file() and (tmp_path / "a" / "b" / "models").is_dir()
    (tmp_path / "a" / "b" / "cache" / "x" / "pair.json").unlink()
    remove_if_empty(created)  # only empty folders left: all go, up to the first folder that existed before
    assert not (tmp_path / "a").exists() and tmp_path.is_dir()


def test_new_folders_is_empty_for_an_existing_out_or_none(tmp_path):
    assert new_folders(tmp_path) == [] and new_folders(None) == []
    remove_if_empty([])  # nothing to do
