"""A `ray job submit` driver whose working directory Ray re-creates after it connects ends up in the new one."""
import json
import os
import shutil
import threading
import time

import pytest

from transfergraph.planner.executors.job_cwd import current_dir, job_has_working_dir, settle_job_cwd

JOB = json.dumps({"runtime_env": {"working_dir": "gcs://_ray_pkg_abc.zip"}})


@pytest.fixture
def in_folder(tmp_path):
    here = os.getcwd()
    work = tmp_path / "_ray_pkg_abc"
    work.mkdir()
    (work / "config.yaml").write_text("a: 1\n")
    os.chdir(work)
    yield work
    os.chdir(here)


def test_job_detection_reads_the_job_config(monkeypatch):
    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    assert not job_has_working_dir()
    assert job_has_working_dir({"RAY_JOB_CONFIG_JSON_ENV_VAR": JOB})
    assert not job_has_working_dir({"RAY_JOB_CONFIG_JSON_ENV_VAR": json.dumps({"runtime_env": {}})})
    assert not job_has_working_dir({"RAY_JOB_CONFIG_JSON_ENV_VAR": "{not json"})


def test_a_replaced_working_dir_is_entered_again(in_folder, monkeypatch):
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", JOB)
    cwd, inode = current_dir()

    def replace():  # what Ray's runtime-env agent does ~0.1 s after ray.init
        time.sleep(0.2)
        shutil.rmtree(in_folder)
        time.sleep(0.1)
        in_folder.mkdir()
        (in_folder / "config.yaml").write_text("a: 1\n")

    worker = threading.Thread(target=replace)
    worker.start()
    assert settle_job_cwd(cwd, inode, timeout=5) == "replaced"
    worker.join()
    assert os.getcwd() == str(in_folder) and open("config.yaml").read() == "a: 1\n"


def test_outside_a_job_nothing_waits(in_folder, monkeypatch):
    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    assert settle_job_cwd(*current_dir(), timeout=30) == "not a job"


def test_a_folder_that_stays_is_left_alone(in_folder, monkeypatch):
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", JOB)
    assert settle_job_cwd(*current_dir(), timeout=0.2) == "unchanged"
    assert os.getcwd() == str(in_folder)
