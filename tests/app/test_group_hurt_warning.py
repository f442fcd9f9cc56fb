"""`transfergraph group`'s "sharing hurts" warning says when the best partner's loss is within noise of alone."""
from __future__ import annotations

import pandas as pd

from transfergraph.jobs.group import _hurt_warning


def _gains(gain, se, n_seeds=2):
    return pd.DataFrame({"task": ["t", "t"], "partner": ["a", "b"], "gain": [gain, gain - 0.1],
                         "se": [se, 0.01], "n_seeds": [n_seeds, n_seeds]})


def test_a_clear_hurt_is_stated_without_a_noise_note():
    text = _hurt_warning("t", _gains(-0.05, 0.003))
    assert text.startswith("sharing hurts task 't'") and "best partner 'a'" in text and "within noise" not in text


def test_a_hurt_within_two_standard_errors_says_more_seeds_would_tell():
    text = _hurt_warning("t", _gains(-0.0115, 0.0229))
    assert "within noise" in text and "over 2 seed(s)" in text and "--seeds" in text


def test_one_seed_has_no_standard_error_and_no_noise_claim():
    assert "within noise" not in _hurt_warning("t", _gains(-0.01, float("nan"), n_seeds=1))
