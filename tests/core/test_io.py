"""Atomic output files: complete or absent, never half-written, with the permissions of a plain file."""
import os
import stat

import pytest

from transfergraph.planner.common.io import atomic_write_text, atomic_write_with


def test_atomic_write_gives_plain_file_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "scores.csv", "a,b\n1,2\n")
    finally:
        os.umask(old)
    assert path.read_text() == "a,b\n1,2\n"
    # mkstemp would leave 0o600: other users of a shared machine could not read the report
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_writer_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old")

    def broken(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_with(target, broken)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]
