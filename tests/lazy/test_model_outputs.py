"""Source models of every common output shape, integer inputs, and the compute options of score()."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.scoring import score

from lazy_support import DictOut, HFStyle, TokenModel, conv_model


def _images(n=36, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 1, 8, 8)).astype(np.float32), np.repeat([0, 1, 2], n // 3)


def test_logits_object_dict_and_tuple_outputs_score_like_the_plain_model():
    x, y = _images()
    inner = conv_model(3, 1)
    class TupleOut(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, v):
            return self.m(v), v.mean()

    tuple_model = TupleOut(inner)
    sources = [Source("plain", inner), Source("hf", HFStyle(inner)), Source("dict", DictOut(inner)),
               Source("tuple", tuple_model)]
    df = score(sources, [Task("t", x, y)], metrics=("leep", "h_score"), progress=False)
    assert (df["status"] == "ok").all(), df["error"].tolist()
    table = df.pivot(index="source", columns="metric", values="score")
    for name in ("hf", "dict", "tuple"):
        np.testing.assert_array_equal(table.loc[name].to_numpy(), table.loc["plain"].to_numpy())


def test_integer_token_ids_keep_their_dtype():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, size=(30, 7)).astype(np.int64)
    y = np.repeat([0, 1, 2], 10)
    df = score([Source("tok", TokenModel())], [Task("t", ids, y)], metrics=("leep", "h_score"), progress=False)
    assert (df["status"] == "ok").all(), df["error"].tolist()


def test_a_transformers_model_saved_and_loaded_from_a_local_directory(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=24, max_position_embeddings=16, num_labels=3)
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(tmp_path / "bert")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "bert", local_files_only=True)
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 40, size=(24, 6)).astype(np.int64)
    y = np.repeat([0, 1], 12)
    df = score([Source("bert", model)], [Task("t", ids, y)], metrics=("leep", "h_score"), progress=False)
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert np.isfinite(df["score"]).all()


def test_batch_size_and_explicit_cpu_device_give_the_same_scores():
    x, y = _images(60)
    src = [Source("m", conv_model(4, 1))]
    base = score(src, [Task("t", x, y)], metrics=("leep", "nce"), progress=False)["score"].to_numpy()
    other = score(src, [Task("t", x, y)], metrics=("leep", "nce"), progress=False, batch_size=7,
                  device="cpu")["score"].to_numpy()
    np.testing.assert_allclose(other, base, rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, r"batch_size of score\(\) must be an int >= 1; got 0"),
    ({"batch_size": True}, r"batch_size of score\(\) must be an int >= 1; got True \(bool\)"),
    ({"device": "gpu"}, "device must be None"),
    ({"num_workers": -1}, r"num_workers of score\(\) must be an int >= 0; got -1"),
])
def test_compute_option_errors_name_the_argument(kwargs, match):
    x, y = _images()
    with pytest.raises(InputError, match=match):
        score([Source("m", conv_model(0, 1))], [Task("t", x, y)], progress=False, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised where CUDA is missing")
def test_cuda_device_without_cuda_is_a_clear_error():
    x, y = _images()
    with pytest.raises(InputError, match="device 'cuda' was requested but CUDA is not available"):
        score([Source("m", conv_model(0, 1))], [Task("t", x, y)], progress=False, device="cuda")


def test_pooling_of_a_4d_feature_layer():
    x, y = _images()
    model = conv_model(5, 1)
    df = score([Source("avg", model, feature_layer="2", pooling="avg"),
                Source("flat", model, feature_layer="2")], [Task("t", x, y)], metrics=("h_score",), progress=False)
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert df.set_index("source").loc["avg", "score"] != df.set_index("source").loc["flat", "score"]
    with pytest.raises(InputError, match="pooling of Source 'p'"):
        Source("p", model, pooling="mean")
