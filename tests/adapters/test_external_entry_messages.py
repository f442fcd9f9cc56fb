"""What a config's loaded-model entry says when something is off: a degenerate head, a model without
features for a feature-based metric, a missing checkpoint."""
import numpy as np
import pytest
import torch

from transfergraph.adapters.models import SmallCNN, save_model
from transfergraph.adapters.models.external import external_source
from transfergraph.config import ExternalModelSpec
from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.planner.inputs.task import Task
from transfergraph.planner.report.next_steps import _warning_counts


@pytest.fixture
def task():
    rng = np.random.default_rng(0)
    return Task("t", rng.random((12, 1, 8, 8), dtype=np.float32), np.arange(12) % 3)


def test_a_degenerate_head_says_which_scores_are_meaningless_and_both_causes(tmp_path, task):
    torch.manual_seed(0)
    model = SmallCNN(3, width=4, feature_dim=8)
    with torch.no_grad():
        model.head.weight.zero_()  # same logits for any input; the features are untouched
    save_model(model, tmp_path / "m.pt")
    said = []
    external_source(ExternalModelSpec(name="m", checkpoint=str(tmp_path / "m.pt")), 0, [task],
                    default_arch="small_cnn", warn=said.append)
    assert len(said) == 1 and "gives the same logits for every input" in said[0]
    text = said[0]
    assert "output-based scores are meaningless for this source (leep, nce" in text
    assert "feature-based scores (" in text and "logme" in text and "may still be valid" in text
    assert "degenerate or untrained classifier head" in text and "preprocess" in text
    assert "check that the entry rebuilds" not in text  # no longer the only cause given
    assert _warning_counts(said) == "1 degenerate model output"  # the report still counts it as such


class NoLinear(torch.nn.Module):
    """A SqueezeNet-like net: conv features and a conv classifier, no nn.Linear."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU())
        self.classifier = torch.nn.Sequential(torch.nn.Conv2d(4, 3, 1), torch.nn.AdaptiveAvgPool2d(1),
                                              torch.nn.Flatten())

    def forward(self, x):
        return self.classifier(self.features(x))


def test_a_model_without_features_names_the_entrys_keys_before_scoring(tmp_path, task, monkeypatch):
    from transfergraph.adapters.models import external

    torch.manual_seed(0)
    torch.save(NoLinear().state_dict(), tmp_path / "sq.pt")
    monkeypatch.setattr(external, "load_zoo_model", lambda arch, path, **kw: NoLinear())
    spec = ExternalModelSpec(name="sq_shoes", checkpoint=str(tmp_path / "sq.pt"), arch="nolinear_test")
    with pytest.raises(ConfigError) as err:
        external_source(spec, 2, [task], default_arch="small_cnn", metrics=["leep", "logme"])
    text = str(err.value)
    assert text.startswith("models.external[2] (sq_shoes).feature_layer: NoLinear has no nn.Linear")
    assert "['logme']" in text and "models.external[2] (sq_shoes).pooling" in text
    assert "features, classifier" in text and "Source(" not in text
    # output-based metrics only, or the entry names its feature layer: loads
    assert external_source(spec, 2, [task], default_arch="small_cnn", metrics=["leep"]).name == "sq_shoes"
    fixed = ExternalModelSpec(name="sq_shoes", checkpoint=str(tmp_path / "sq.pt"), arch="nolinear_test",
                              feature_layer="features", pooling="avg")
    assert external_source(fixed, 2, [task], default_arch="small_cnn", metrics=["logme"]).pooling == "avg"


def test_a_missing_checkpoint_points_at_save_model(tmp_path, task):
    spec = ExternalModelSpec(name="m", checkpoint=str(tmp_path / "none.pt"), arch="small_cnn")
    with pytest.raises(ConfigError) as err:
        external_source(spec, 0, [task], default_arch="small_cnn")
    assert "does not exist" in str(err.value) and "save_model(model, path)" in str(err.value)
    assert "torch.save(model.state_dict()" not in str(err.value)
