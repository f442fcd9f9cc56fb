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
