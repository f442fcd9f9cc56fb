"""Episode arguments are checked before learn2learn sees them, and training never writes a
non-finite step into the caller's model."""
import pytest
import torch

pytest.importorskip("learn2learn", reason="learn2learn not installed: pip install 'transfergraph[meta]'")

from transfergraph.adapters.meta import ClassPool, EpisodeSampler, make_taskset, meta_train, pretrain_backbone
from transfergraph.adapters.meta.training import NonFiniteStepError
from transfergraph.planner.common.exceptions import InputError

from ._data import labeled_pool


@pytest.mark.parametrize("kwargs, message", [
    (dict(ways=3, samples_per_class=0), r"samples_per_class of make_taskset\(\) must be an int >= 1; got 0 \(int\)"),
    (dict(ways=3, samples_per_class=-1), r"samples_per_class of make_taskset\(\) must be an int >= 1; got -1"),
    (dict(ways=3, samples_per_class=2.5), r"samples_per_class of make_taskset\(\) must be an int >= 1; got 2.5 \(float\)"),
    (dict(ways=2.0, samples_per_class=2), r"ways of make_taskset\(\) must be an int >= 2; got 2.0 \(float\)"),
    (dict(ways=True, samples_per_class=2), r"ways of make_taskset\(\) must be an int >= 2; got True \(bool\)"),
    (dict(ways=3, samples_per_class=True), r"samples_per_class of make_taskset\(\).*got True \(bool\)"),
])
def test_make_taskset_rejects_bad_counts_before_learn2learn(kwargs, message, monkeypatch):
    import transfergraph.adapters.meta.episodes as episodes

    def no_l2l():  # the check must come first: learn2learn is never reached
        raise AssertionError("learn2learn was touched before the arguments were checked")

    monkeypatch.setattr(episodes, "require_learn2learn", no_l2l)
    x, y = labeled_pool(n_classes=4, per_class=5)
    with pytest.raises(InputError, match=message):
        make_taskset(ClassPool(x, y), **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(ways=[3], shots=[0], queries=2), r"shots\[0\] of EpisodeSampler\(\) must be an int >= 1; got 0"),
    (dict(ways=[3], shots=[1], queries=0), r"queries of EpisodeSampler\(\) must be an int >= 1; got 0"),
    (dict(ways=[3], shots=[1], queries=True), r"queries of EpisodeSampler\(\).*got True \(bool\)"),
    (dict(ways=3, shots=[1], queries=2), r"ways of EpisodeSampler\(\) must be a non-empty sequence of ints"),
    (dict(ways=[3.0], shots=[1], queries=2), r"ways\[0\] of EpisodeSampler\(\) must be an int >= 2; got 3.0"),
])
def test_episode_sampler_rejects_bad_counts(kwargs, message):
    x, y = labeled_pool(n_classes=4, per_class=5)
    with pytest.raises(InputError, match=message):
        EpisodeSampler(ClassPool(x, y), **kwargs)


def test_meta_train_rejects_zero_shots_and_leaves_the_model_untouched(tiny_model):
    # the call: ways=(3,), shots=(0,), queries=2, steps=2 returned loss=nan and left 48
    # parameter tensors NaN; it must be an error naming shots, with every parameter unchanged
    x, y = labeled_pool()
    model = tiny_model(n_source_classes=6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(InputError, match=r"shots\[0\] of meta_train\(\) must be an int >= 1; got 0"):
        meta_train(model, x, y, ways=(3,), shots=(0,), queries=2, steps=2, progress=False)
    for bad, pattern in [(dict(queries=2.0), r"queries of meta_train\(\)"), (dict(steps=True), r"steps of meta_train\(\)"),
                         (dict(tasks_per_step=0), r"tasks_per_step of meta_train\(\)")]:
        opts = dict(ways=(3,), shots=(1,), queries=2, steps=2, progress=False) | bad
        with pytest.raises(InputError, match=pattern):
            meta_train(model, x, y, **opts)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_non_finite_step_stops_training_and_keeps_the_previous_parameters(tiny_model):
    x, y = labeled_pool()
    x[0, 0, 0, 0] = float("nan")  # one NaN pixel: every batch drawing sample 0 has a NaN loss
    model = tiny_model(n_source_classes=6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(NonFiniteStepError, match=r"pretrain_backbone\(\) stopped at step \d+: loss nan") as err:
        pretrain_backbone(model, x, y, steps=50, batch_size=64, seed=0, progress=False)
    step = int(str(err.value).split("step ")[1].split(":")[0])
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())
    if step == 1:  # nothing was applied at all
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    meta_model = tiny_model(n_source_classes=6)
    meta_before = {k: v.clone() for k, v in meta_model.state_dict().items()}
    xn = x.copy()
    xn[:] = float("nan")
    with pytest.raises(NonFiniteStepError, match=r"meta_train\(\) stopped at step 1: loss nan"):
        meta_train(meta_model, xn, y, ways=(3,), shots=(1,), queries=2, steps=2, progress=False)
    assert all(torch.equal(meta_before[k], v) for k, v in meta_model.state_dict().items())
    assert all(p.requires_grad for p in meta_model.backbone.parameters())
