"""The console script prints transfergraph's own warnings as one log line, without Python's file:line and code."""
import warnings


def test_own_warnings_are_one_line_and_others_are_left_to_python(capsys):
    from transfergraph.cli import _show_warning
    from transfergraph.planner.validation.lazy_targets import LazyValidationWarning

    seen = []
    _show_warning(LazyValidationWarning("validation reads lazy targets into memory: 'a'"), LazyValidationWarning,
                  "/x/validate.py", 109, _default=lambda *a: seen.append(a))
    err = capsys.readouterr().err
    assert err == "[transfergraph] warning: validation reads lazy targets into memory: 'a'\n"
    assert "validate.py" not in err and not seen
    _show_warning(UserWarning("torch says"), UserWarning, "/t.py", 1, _default=lambda *a: seen.append(a))
    assert capsys.readouterr().err == "" and seen and seen[0][1] is UserWarning
    assert warnings.showwarning is not _show_warning  # importing the CLI changes nothing; main() installs it
