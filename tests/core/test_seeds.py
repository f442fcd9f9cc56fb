"""transfergraph.planner.common.seeds.derive_seed: one function for every child seed, each scheme equal to the formula
its numbers were published with (a change here would change cached scores and validation tables).
The pinned values were computed by the code that derived these seeds before the helper existed."""
import zlib

import numpy as np
import pytest

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.scoring import metric_seed as scoring_seed
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.validation._common import pair_seed
from transfergraph.jobs.suite import stable_seed


@pytest.mark.parametrize("parts, expected", [
    ((0, "src", "tgt", "fine_tune"), 452963869),
    ((1, "buffer", "t1"), 99116695),
    ((123456789, "split", "mnist"), 1087933281),
    ((7, "head", "t"), 1976790729),
])
def test_default_scheme_is_the_validation_pair_seed(parts, expected):
    assert derive_seed(*parts) == pair_seed(*parts) == expected


def test_legacy_schemes_keep_their_values():
    assert scoring_seed(0, "", "B") == derive_seed(0, "", "B", scheme="digest32") == 2988541889
    assert scoring_seed(5, "m1", "B") == 2231422143
    assert stable_seed(0, "task", "mnist") == derive_seed(0, "task", "mnist", scheme="crc32") == 293671474
    assert stable_seed(3, "model", "cnn_a") == 390177366
    assert derive_seed(9, 2, scheme="offset") == 11


@pytest.mark.parametrize("seed", [0, 5, 2**31, 2**33 + 7])
def test_words_scheme_equals_a_seed_sequence_of_seed_and_key(seed):
    for key in ("omniglot", "a/b/3"):
        old = np.random.default_rng([seed, zlib.crc32(key.encode())]).integers(1 << 30, size=8)
        new = np.random.default_rng(derive_seed(seed, key, scheme="words")).integers(1 << 30, size=8)
        np.testing.assert_array_equal(new, old)


def test_bad_arguments_are_named():
    with pytest.raises(InputError, match=r"seed of derive_seed\(\) must be an int; got True \(bool\)"):
        derive_seed(True, "a")
    with pytest.raises(InputError, match="scheme of derive_seed"):
        derive_seed(0, "a", scheme="md5")
    with pytest.raises(InputError, match="one int offset"):
        derive_seed(0, "1", scheme="offset")
