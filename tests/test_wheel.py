"""The distribution builds as a wheel that installs into a clean venv, CLI included (issue 8).

The wheel is built from the source tree without build isolation (no network needed) and installed with
``--no-deps`` into a fresh venv; the heavy dependencies (torch, ray, ...) are borrowed from the
development venv through a ``.pth`` line placed *after* the new venv's own site-packages, so
``transfergraph`` (with its subpackages ``transfergraph.planner`` and ``transfergraph.adapters``) must be
importable from the wheel itself, never from the checkout. The wheel writes exactly one top-level import
package, so it can sit beside AdapterHub's ``adapters`` or any other distribution of that name.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    # build from a copy: setuptools writes build/ and *.egg-info next to pyproject.toml
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("planner", "adapters", "transfergraph"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist"),
         str(src)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = sorted((work / "dist").glob("transfergraph-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    env_python = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([str(env_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_python), "install", "--no-deps", "-q", str(wheels[0])],
        capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # dependencies only: the development venv's site-packages, searched after the wheel's own files
    (purelib / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheels[0], env_dir, purelib


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return env


def test_wheel_holds_every_package(wheel_venv):
    wheel, _, _ = wheel_venv
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ["transfergraph/cli/__init__.py", "transfergraph/planner/metrics/leep.py",
                     "transfergraph/planner/decisions/plan.py", "transfergraph/planner/scoring/engine.py",
                     "transfergraph/planner/validation/engine.py", "transfergraph/planner/executors/ray_executor.py",
                     "transfergraph/jobs/suite.py", "transfergraph/adapters/meta/__init__.py",
                     "transfergraph/adapters/datasets/__init__.py", "transfergraph/py.typed"]:
        assert expected in names, f"{expected} missing from {wheel.name}"
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "transfergraph = transfergraph.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_cli_runs_from_the_wheel(wheel_venv, tmp_path):
    _, env_dir, purelib = wheel_venv
    cli = env_dir / "bin" / "transfergraph"
    assert cli.is_file(), "console script not installed"
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, cwd=tmp_path,
                             env=_clean_env(), timeout=300)
    assert version.returncode == 0, version.stderr
    assert "0.1.0" in version.stdout
    helped = subprocess.run([str(cli), "run", "--help"], capture_output=True, text=True, cwd=tmp_path,
                            env=_clean_env(), timeout=300)
    assert helped.returncode == 0 and "Example" in helped.stdout, helped.stdout + helped.stderr
    where = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                            "import transfergraph.planner, transfergraph.adapters, transfergraph.jobs.suite\n"
                             "for m in (transfergraph.planner, transfergraph.adapters, transfergraph.jobs.suite): print(m.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=300)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(purelib.resolve()), f"imported from {line}, not from the wheel"


def test_wheel_has_exactly_one_top_level_import_name(wheel_venv):
    wheel, _, _ = wheel_venv
    archive = zipfile.ZipFile(wheel)
    tops = {n.split("/")[0] for n in archive.namelist() if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"transfergraph"}
    top_level = [n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt")]
    if top_level:
        assert archive.read(top_level[0]).decode().split() == ["transfergraph"]


def test_a_distribution_named_adapters_installs_beside_it(wheel_venv, tmp_path):
    """AdapterHub's import name is ``adapters``: a stub distribution of that name and transfergraph both import."""
    _, env_dir, purelib = wheel_venv
    stub = tmp_path / "stub"
    (stub / "adapters").mkdir(parents=True)
    (stub / "adapters" / "__init__.py").write_text("IS_STUB = 'adapterhub'\n")
    (stub / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
                                         '[project]\nname = "adapters"\nversion = "1.3.0"\n'
                                         '[tool.setuptools]\npackages = ["adapters"]\n')
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
                           "--no-deps", "--no-build-isolation", "-q", str(stub)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    both = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                           "import adapters, transfergraph, transfergraph.adapters.models\n"
                           "print(adapters.IS_STUB, transfergraph.adapters.models.__name__)"],
                          capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=300)
    assert both.returncode == 0, both.stderr
    assert both.stdout.split() == ["adapterhub", "transfergraph.adapters.models"]
