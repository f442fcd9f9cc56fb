"""Checkpoints as users really save them, replayed through the CLI on generated files.

Each case is either loaded right (its scores equal those of the clean checkpoint, and the log says
what was adapted) or refused with exit 2 before any model is trained, naming the entry, the file,
the keys and what to do. Models are real torchvision architectures (resnet18, googlenet) with few
classes and random weights; images are 16 x 16 so that each run takes seconds.
"""
from __future__ import annotations

from _wild_support import googlenet_as_pretrained

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
import yaml
from typer.testing import CliRunner

from transfergraph.adapters.models import load_model, save_model
from transfergraph.adapters.models.builder_flags import rebuild_kwargs
from transfergraph.adapters.models.external import preprocess_for
from transfergraph.adapters.models.state_dict_fit import fit_state_dict
from transfergraph.adapters.models.zoo import load_zoo_model
from transfergraph.cli import app
from transfergraph.planner.common.exceptions import CheckpointError

runner = CliRunner()
N_CLASSES = 3  # outputs of the source models
PRE = {"resize": 16}  # keeps torchvision's mean/std, skips its 224-pixel crop


def _resnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=N_CLASSES).eval()


def _prefixed(sd: dict, prefix: str) -> dict:
    return {prefix + k: v for k, v in sd.items()}


#: name -> what torch.save wrote, from the clean state_dict ``sd``; and the log line it must produce
WRAPPED = {
    "ddp": (lambda sd: _prefixed(sd, "module."), "stripped the key prefix 'module.'"),
    "compiled": (lambda sd: _prefixed(sd, "_orig_mod."), "stripped the key prefix '_orig_mod.'"),
    "ddp_compiled": (lambda sd: _prefixed(sd, "module._orig_mod."), "stripped the key prefix 'module._orig_mod.'"),
    "lightning": (lambda sd: {"epoch": 3, "global_step": 30, "pytorch-lightning_version": "2.4.0",
                              "state_dict": _prefixed(sd, "model."), "optimizer_states": [],
                              "hparams_name": "kwargs"},
                  "weights read from ['state_dict']"),
    "lightning_net_with_loss": (lambda sd: {"state_dict": {**_prefixed(sd, "net."),
                                                           "criterion.weight": torch.ones(N_CLASSES)}},
                                "ignored 1 key(s) outside 'net.'"),
    "lightning_with_projector": (lambda sd: {"state_dict": {**_prefixed(sd, "model."),
                                                            "projector.weight": torch.ones(128, 512),
                                                            "projector.bias": torch.zeros(128)}},
                                 "ignored 2 key(s) outside 'model.'"),
    "model_state_dict": (lambda sd: {"epoch": 1, "model_state_dict": sd, "optimizer_state_dict": {"state": {}}},
                         "weights read from ['model_state_dict']"),
    "model": (lambda sd: {"model": sd, "args": {"lr": 0.1}}, "weights read from ['model']"),
    "ema_of_ddp": (lambda sd: {"ema": _prefixed(sd, "module.")}, "weights read from ['ema']"),
    "custom_prefix": (lambda sd: _prefixed(sd, "trainer.backbone.encoder."),
                      "stripped the key prefix 'trainer.backbone.encoder.'"),
    "compiled_submodule": (lambda sd: {k.replace("layer2.", "layer2._orig_mod."): v for k, v in sd.items()},
                           "dropped the wrapper components"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Data (npy, 4 classes of 16 x 16 colour images) and one checkpoint file per case."""
    base = tmp_path_factory.mktemp("wild_ckpt")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    x = (rng.uniform(size=(4, 3, 1, 1))[y] + rng.normal(0, 0.2, size=(40, 3, 16, 16))).astype(np.float32)
    np.save(base / "x.npy", np.clip(x, 0, 1))
    np.save(base / "y.npy", y)
    sd = _resnet().state_dict()
    torch.save(sd, base / "clean.pt")
    for name, (make, _) in WRAPPED.items():
        torch.save(make(sd), base / f"{name}.pt")
    return base


def _config(base, external, *, per_task=False, name="cfg", where=None, metrics=("leep", "h_score")):
    """A job config on the data in ``base``, written to ``where`` (default ``base``)."""
    cfg = {
        "name": "wild",
        "data": {"kind": "npy", "root": str(base / "x.npy"), "labels": str(base / "y.npy"), "test_fraction": 0.25},
        "tasks": [{"name": "all"}, {"name": "pair", "classes": [0, 1]}],
        "models": {"per_task": per_task, "external": external,
                   "training": {"epochs": 1, "width": 4, "feature_dim": 8}},
        "scoring": {"metrics": list(metrics), "executor": "local", "batch_size": 16, "device": "cpu"},
        "plan": {"top_k": 1},
    }
    path = (where or base) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(path, out):
    return runner.invoke(app, ["run", str(path), "--out", str(out), "--no-cache"])


def _scores(out) -> pd.DataFrame:
    df = pd.read_csv(out / "scores.csv", keep_default_na=False)
    return df.set_index(["source", "target", "metric"])["score"]


def test_wrapped_checkpoints_load_and_score_as_the_clean_one(files, tmp_path):
    entries = [{"name": n, "arch": "torchvision:resnet18", "checkpoint": str(files / f"{n}.pt"), "preprocess": PRE}
               for n in ["clean", *WRAPPED]]
    result = _run(_config(files, entries, metrics=("leep",)), tmp_path / "out")
    assert result.exit_code == 0, result.output
    scores = _scores(tmp_path / "out")
    clean = scores.xs("clean", level="source")
    assert len(clean) == 2  # leep on the two tasks
    assert np.isfinite(clean).all()
    for name, (_, said) in WRAPPED.items():
        np.testing.assert_array_equal(scores.xs(name, level="source").loc[clean.index], clean, err_msg=name)
        assert re.search(rf"models\.external\[\d+\] \({name}\): checkpoint \S*{name}\.pt: .*{re.escape(said)}",
                         result.output), (name, result.output)


def _module_prefixed_with_extra(sd):
    return {**_prefixed(sd, "module."), "module.projector.weight": torch.ones(4, 512)}


#: name -> (payload from the clean state_dict, entry fields, message fragments)
REFUSED = {
    "extra_key_under_prefix": (_module_prefixed_with_extra, {},
                               ["all its keys share the prefix 'module.'", "'module.projector.weight'",
                                "torch.save(model.state_dict(), path)"]),
    "two_models": (lambda sd: {**_prefixed(sd, "student."), **_prefixed(sd, "teacher.")}, {},
                   ["fits architecture 'torchvision:resnet18' in several ways", "'student.', 'teacher.'",
                    "re-save the one to score"]),
    "other_architecture": (lambda sd: torchvision.models.resnet34(num_classes=N_CLASSES).state_dict(), {},
                           ["its keys share no common prefix", "'layer1.2.conv1.weight'", "set `arch`"]),
    "wrong_classes": (lambda sd: sd, {"num_classes": 5},
                      ["'fc.weight': checkpoint (3, 512), model (5, 512)", "set `num_classes`"]),
    "no_weights": (lambda sd: {"epoch": 3, "config": {"lr": 0.1}}, {},
                   ["holds no state_dict", "top level: ['config', 'epoch']", "torch.save(model.state_dict(), path)"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_checkpoints_that_do_not_fit_exit_2_before_any_training(files, tmp_path, case):
    make, fields, fragments = REFUSED[case]
    path = tmp_path / f"{case}.pt"
    torch.save(make(_resnet().state_dict()), path)
    entry = {"name": case, "arch": "torchvision:resnet18", "checkpoint": str(path), "preprocess": PRE, **fields}
    result = _run(_config(files, [entry], per_task=True, where=tmp_path), tmp_path / "out")
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"models.external[0] ({case}).checkpoint: checkpoint {path}" in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert "training source model" not in text  # checked before the per-task models are trained
    assert not list((tmp_path / "out").glob("models/*.pt"))


class _Spec:
    """The fields of a config entry that ``preprocess_for`` reads."""

    def __init__(self, pre):
        from transfergraph.config.models import PreprocessSpec

        self.arch, self.preprocess = None, PreprocessSpec(**pre)


class HParams(dict):
    """Stands for a Lightning checkpoint's pickled hyper-parameters (an ``AttributeDict``)."""


def test_unknown_arch_kwargs_and_unreadable_lightning_files_are_refused(files, tmp_path):
    bad_kw = {"name": "kw", "arch": "torchvision:resnet18", "checkpoint": str(files / "clean.pt"),
              "preprocess": PRE, "arch_kwargs": {"transform_inputs": True}}
    result = _run(_config(files, [bad_kw], per_task=True, where=tmp_path), tmp_path / "out")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "models.external[0] (kw).arch_kwargs.transform_inputs:" in text, text
    assert "takes no argument 'transform_inputs'" in text and "'zero_init_residual'" in text, text
    typed = dict(bad_kw, name="typed", arch_kwargs={"zero_init_residual": "yes"})
    result = _run(_config(files, [typed], per_task=True, where=tmp_path, name="typed"), tmp_path / "out_t")
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert "models.external[0] (typed).arch_kwargs.zero_init_residual: torchvision:resnet18 expects bool" in text
    save_model(_resnet(), tmp_path / "saved.pt", arch="torchvision:resnet18")
    extra = {"name": "saved", "checkpoint": str(tmp_path / "saved.pt"), "arch_kwargs": {"zero_init_residual": True}}
    result = _run(_config(files, [extra], per_task=True, where=tmp_path, name="saved"), tmp_path / "out_s")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "models.external[0] (saved).arch_kwargs: " in text, text
    assert "is a save_model file, which records how to rebuild its model" in text

    torch.save({"state_dict": _prefixed(_resnet().state_dict(), "model."), "hyper_parameters": HParams(lr=0.1)},
               tmp_path / "pickled.pt")
    entry = dict(bad_kw, name="pickled", checkpoint=str(tmp_path / "pickled.pt"), arch_kwargs={})
    result = _run(_config(files, [entry], per_task=True, where=tmp_path, name="pickled"), tmp_path / "out2")
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert f"models.external[0] (pickled).checkpoint: checkpoint {tmp_path / 'pickled.pt'} cannot be read safely" in text
    assert "torch.save(torch.load(path, weights_only=False)['state_dict'], 'weights.pt')" in text


def test_a_bad_meta_checkpoint_and_loading_options_on_a_trained_entry_are_refused_before_training(files, tmp_path):
    (tmp_path / "cnaps.pt").write_bytes(b"not a checkpoint")
    path = _config(files, [], per_task=True, where=tmp_path, name="meta")
    cfg = yaml.safe_load(path.read_text())
    cfg["models"]["meta"] = {"enabled": True, "checkpoint": str(tmp_path / "cnaps.pt")}
    path.write_text(yaml.safe_dump(cfg))
    result = _run(path, tmp_path / "out")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and f"models.meta.checkpoint: CNAPs checkpoint {tmp_path / 'cnaps.pt'}" in text, text
    assert "training source model" not in text and not list((tmp_path / "out").glob("models/*.pt"))
    trained = {"name": "trained_here", "classes": [0, 1], "arch_kwargs": {"width": 8}}
    result = _run(_config(files, [trained], where=tmp_path, name="trained"), tmp_path / "out2")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "arch_kwargs apply to a model loaded from `checkpoint`" in text, text


def test_googlenet_is_rebuilt_with_the_flags_of_pretrained_weights(files, tmp_path):
    pre = {"resize": 32}
    x = torch.from_numpy(np.load(files / "x.npy"))
    model = googlenet_as_pretrained(preprocess_for(_Spec(pre), None, "torchvision:googlenet")(x), N_CLASSES)
    torch.save({"state_dict": _prefixed(model.state_dict(), "model.")}, tmp_path / "g_lightning.pt")
    save_model(torch.nn.DataParallel(model), tmp_path / "g_saved.pt", arch="torchvision:googlenet")  # README remedy
    entries = [
        {"name": "g_default", "arch": "torchvision:googlenet", "checkpoint": str(tmp_path / "g_lightning.pt"),
         "preprocess": pre},
        {"name": "g_saved", "checkpoint": str(tmp_path / "g_saved.pt"), "preprocess": pre},
        {"name": "g_explicit", "arch": "torchvision:googlenet", "checkpoint": str(tmp_path / "g_lightning.pt"),
         "preprocess": pre, "from_pretrained": True, "arch_kwargs": {"aux_logits": False}},
        {"name": "g_scratch", "arch": "torchvision:googlenet", "checkpoint": str(tmp_path / "g_lightning.pt"),
         "preprocess": pre, "from_pretrained": False},
    ]
    result = _run(_config(files, entries, name="g", where=tmp_path), tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "built with transform_input=True, as torchvision builds it for pretrained weights" in result.output
    assert "warning:" not in result.output.split("(g_scratch)")[0]  # the right rebuild has informative outputs
    scores = _scores(tmp_path / "out")
    ref = scores.xs("g_saved", level="source")
    np.testing.assert_array_equal(scores.xs("g_default", level="source").loc[ref.index], ref)
    np.testing.assert_array_equal(scores.xs("g_explicit", level="source").loc[ref.index], ref)
    assert (scores.xs("g_scratch", level="source").loc[ref.index] != ref).any()  # built without the flag
    loaded, _ = load_model(tmp_path / "g_saved.pt")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_degenerate_outputs_are_a_warning_in_the_log_and_the_plan(files, tmp_path):
    sd = _resnet().state_dict()
    torch.save({**sd, "fc.weight": torch.zeros_like(sd["fc.weight"])}, tmp_path / "constant.pt")
    bias = sd["fc.bias"].clone()
    bias[0] = 1e4  # every prediction saturated on class 0
    torch.save({**sd, "fc.bias": bias}, tmp_path / "saturated.pt")
    entries = [{"name": n, "arch": "torchvision:resnet18", "checkpoint": str(tmp_path / f"{n}.pt"), "preprocess": PRE}
               for n in ("constant", "saturated")] + [
        {"name": "fine", "arch": "torchvision:resnet18", "checkpoint": str(files / "clean.pt"), "preprocess": PRE}]
    result = _run(_config(files, entries, name="degenerate", where=tmp_path), tmp_path / "out")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    warnings = json.loads((tmp_path / "out" / "plan.json").read_text())["warnings"]
    const = [w for w in warnings if w.startswith("models.external[0] (constant)")]
    sat = [w for w in warnings if w.startswith("models.external[1] (saturated)")]
    assert len(const) == 1 and "gives the same logits for every input" in const[0], warnings
    assert len(sat) == 1 and "LEEP" in sat[0] and "= -H(Y)" in sat[0], warnings
    assert not [w for w in warnings if "(fine)" in w]
    assert "warning: models.external[0] (constant): the model loaded from" in text
    assert "Its output-based scores are meaningless for this source (leep, nce" in const[0] and "from_pretrained" in const[0]
    assert "degenerate or untrained classifier head" in const[0]


def test_fit_is_exact_or_refused_for_any_prefix():
    model = _resnet()
    sd = model.state_dict()
    for prefix in ("a.", "x.y.z.", "module.module.", "_orig_mod.module."):
        fitted, notes = fit_state_dict(_prefixed(sd, prefix), model, path="f.pt", arch="resnet")
        assert list(fitted) == list(sd) and notes and prefix in notes[0]
    dropped = {k: v for k, v in _prefixed(sd, "m.").items() if not k.endswith("fc.bias")}
    with pytest.raises(CheckpointError, match=r"all its keys share the prefix 'm\.'.*first: \['fc\.bias'\]"):
        fit_state_dict(dropped, model, path="f.pt", arch="resnet")
    no_counter = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}  # old PyTorch
    assert fit_state_dict(no_counter, model, path="f.pt", arch="resnet")[1] == []


def test_rebuild_kwargs_follow_torchvision_for_pretrained_weights():
    aux = {"model.AuxLogits.fc.weight": torch.zeros(3, 768), "model.fc.weight": torch.zeros(3, 2048)}
    kw, notes = rebuild_kwargs("torchvision:inception_v3", aux, None, None)
    assert kw == {"init_weights": False, "transform_input": True, "aux_logits": True}
    assert "from_pretrained not set: default true" in notes[0]
    kw, notes = rebuild_kwargs("torchvision:inception_v3", {"fc.weight": torch.zeros(3, 2048)}, None, False)
    assert kw == {"init_weights": False, "aux_logits": False} and notes == []
    kw, notes = rebuild_kwargs("torchvision:googlenet", {}, {"transform_input": False}, True)
    assert kw["transform_input"] is False and notes == []  # arch_kwargs win
    vit = {"encoder.pos_embedding": torch.zeros(1, 1 + 12 * 12, 8), "conv_proj.weight": torch.zeros(8, 3, 32, 32)}
    kw, notes = rebuild_kwargs("torchvision:vit_b_32", vit, None, None)
    assert kw == {"image_size": 384} and "image_size=384" in notes[0]
    assert rebuild_kwargs("torchvision:resnet18", {}, {"zero_init_residual": True}, None) == (
        {"zero_init_residual": True}, [])


def test_safetensors_files_are_read_with_their_prefixes(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    model = _resnet()
    safetensors.save_file(_prefixed(model.state_dict(), "module."), str(tmp_path / "m.safetensors"))
    notes: list[str] = []
    loaded = load_zoo_model("torchvision:resnet18", tmp_path / "m.safetensors", notes=notes)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert "stripped the key prefix 'module.'" in notes[0]
    (tmp_path / "cut.safetensors").write_bytes((tmp_path / "m.safetensors").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors cannot be read as a safetensors file"):
        load_zoo_model("torchvision:resnet18", tmp_path / "cut.safetensors")


def test_save_model_takes_any_zoo_model(tmp_path):
    model = _resnet()
    with pytest.raises(CheckpointError, match="give arch='torchvision:NAME'"):
        save_model(model, tmp_path / "r.pt")
    with pytest.raises(CheckpointError, match="is not 'torchvision:resnet34'"):
        save_model(model, tmp_path / "r.pt", arch="torchvision:resnet34")
    save_model(torch.compile(model), tmp_path / "r.pt", arch="torchvision:resnet18")
    loaded, _ = load_model(tmp_path / "r.pt")
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    timm = pytest.importorskip("timm")
    t = timm.create_model("test_resnet", pretrained=False, num_classes=N_CLASSES).eval()
    save_model(t, tmp_path / "t.pt")  # the name is read from the timm model
    loaded, _ = load_model(tmp_path / "t.pt")
    y = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(y), t(y), rtol=0, atol=0)
