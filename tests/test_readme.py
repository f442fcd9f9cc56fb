"""The README's documented commands and code work as written (issue 8: first-hour experience)."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(tag: str) -> list[str]:
    return re.findall(rf"<!-- readme-test: {tag} -->\s*```\w*\n(.*?)```", README, flags=re.S)


def test_readme_marks_its_runnable_blocks():
    assert len(_blocks("python")) >= 1 and len(_blocks("run")) >= 1
    assert "make demo" in README and "make test" in README


def test_readme_python_blocks_run(capsys):
    for code in _blocks("python"):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "task_b" in out or "imagenet_like" in out


@pytest.mark.slow
def test_readme_shell_commands_run():
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for line in _blocks("run")[0].strip().splitlines():
        if line.startswith(". ") or line.startswith("source "):
            continue  # activating the venv: PATH above does the same
        proc = subprocess.run(shlex.split(line), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"README command failed: {line}\n{proc.stderr[-2000:]}"
    assert (ROOT / "runs/tiny/report.md").is_file()
    assert (ROOT / "runs/tiny-replan/plan.json").is_file()
    assert (ROOT / "runs/tiny/validation.csv").is_file()
