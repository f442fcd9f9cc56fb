"""Hidden variants of the inputs-from-the-wild cases, each a failure found by trying them as a user would:
other system folders, other checkpoint wrappers, other number-like names and control characters,
other YAML 1.1 surprises and Hugging Face datasets of other shapes. Each is handled right (the result
equals the clean input's) or refused with the project's error naming the entry and what to do.

Tiny generated files in tmp_path, local executor (seconds).
"""
from __future__ import annotations

import os

import numpy as np
import torch
import pytest
from PIL import Image

from transfergraph.planner.inputs.readers import ImageFolderReader

os.environ.setdefault("OMP_NUM_THREADS", "1")
SIZE = 8


def _image_folder(root, classes, seed=0):
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (SIZE, SIZE)).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


# --- image folders: system folders as Windows and NAS boxes spell them --------------------------------


@pytest.mark.parametrize("folder", ["$Recycle.Bin", "$recycle.bin", "#recycle", "#snapshot", "@Recycle",
                                    "@Recently-Snapshot", "__macosx", "@EADIR"])
def test_system_folders_in_any_case_are_not_classes(tmp_path, folder):
    clean = ImageFolderReader(_image_folder(tmp_path / "clean", ["cat", "dog"]), mode="L")
    root = _image_folder(tmp_path / "wild", ["cat", "dog"])
    _image_folder(root, [folder], seed=1)  # deleted pictures in the recycle bin: not a class
    wild = ImageFolderReader(root, mode="L")
    assert wild.classes == ["cat", "dog"] and wild.skipped == {folder: "hidden or system folder"}
    assert wild.files == clean.files and np.array_equal(wild.labels(), clean.labels())


# --- classes by name: integers YAML reads from number-like folder names ---------------------------------


NUMBER_FOLDERS = sorted(["+1", "-0", "0x10", "1e5", "nan", "\u0661", " 7", "TRUE"])  # ' 7' '+1' '-0' ... '١'


@pytest.mark.parametrize("written, folder", [("+1", "+1"), ("-0", "-0"), ("7", " 7"), ("1", "\u0661")])
def test_a_yaml_integer_spelling_a_number_like_folder_is_ambiguous_not_a_silent_position(written, folder):
    """``classes: [+1]`` is the integer 1 in YAML; with a folder named "+1" (or "١", " 7", "-0") the user
    may mean that folder: refused with the table, never silently position 1."""
    from transfergraph.jobs.class_names import resolve_classes
    from transfergraph.planner.common.exceptions import ConfigError
    from transfergraph.config.yaml_rules import load_yaml

    value = load_yaml(f"classes: [{written}]\n")["classes"][0]
    assert isinstance(value, int)
    with pytest.raises(ConfigError) as info:
        resolve_classes([value], NUMBER_FOLDERS, range(len(NUMBER_FOLDERS)), "tasks[0] (a)", "root")
    assert "tasks[0] (a).classes: " in str(info.value) and "is ambiguous" in str(info.value)
    assert "Quote folder names" in str(info.value) and repr(folder) in str(info.value)
    quoted = load_yaml(f"classes: [{folder!r}]\n".replace("'", '"'))["classes"]
    assert resolve_classes(quoted, NUMBER_FOLDERS, range(len(NUMBER_FOLDERS)), "k", "root") == \
        [NUMBER_FOLDERS.index(folder)]


# --- checkpoints: deeper wrapper prefixes, counters stored beside the weights ----------------------------


def _prefixed(sd: dict, prefix: str) -> dict:
    return {prefix + k: v for k, v in sd.items()}


CHECKPOINTS = {
    # a script's step counter or an unset entry inside the state_dict: loaded, the entry named in the log
    "counter_in_lightning_state_dict": (
        lambda sd: {"state_dict": {**_prefixed(sd, "model."), "n_averaged": 5}},
        "ignored 1 non-tensor entry of the state_dict ['state_dict']: 'n_averaged' (int)"),
    "none_at_top": (lambda sd: {**sd, "ema_decay": None}, "ignored 1 non-tensor entry of the state_dict: 'ema_decay'"),
    # a prefix of 5 components (nested wrappers) beside a loss module's weights
    "deep_prefix_with_loss": (lambda sd: {**_prefixed(sd, "trainer.lit.model.ema.module."),
                                          "trainer.lit.criterion.weight": torch.ones(3)},
                              "stripped the key prefix 'trainer.lit.model.ema.module.'"),
    "swa_averaged_model": (lambda sd: {**_prefixed(sd, "module."), "n_averaged": torch.tensor(5)},
                           "ignored 1 key(s) outside 'module.'"),
}


@pytest.fixture(scope="module")
def resnet():
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=3).eval()
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        return net.state_dict(), x, net(x)


@pytest.mark.parametrize("case", sorted(CHECKPOINTS))
def test_other_checkpoint_shapes_load_as_the_clean_one(case, resnet, tmp_path):
    from transfergraph.adapters.models.zoo import load_zoo_model

    sd, x, clean = resnet
    make, said = CHECKPOINTS[case]
    torch.save(make(sd), tmp_path / "ckpt.pt")
    notes: list[str] = []
    model = load_zoo_model("torchvision:resnet18", tmp_path / "ckpt.pt", notes=notes)
    with torch.no_grad():
        assert torch.equal(model(x), clean)
    assert any(said in n for n in notes), notes


def test_a_checkpoint_of_settings_only_is_still_refused(tmp_path):
    from transfergraph.adapters.models.zoo import load_zoo_model
    from transfergraph.planner.common.exceptions import CheckpointError

    torch.save({"epoch": 3, "lr": 0.1, "best": torch.tensor(0.5)}, tmp_path / "ckpt.pt")  # one tensor of three
    with pytest.raises(CheckpointError, match="holds no state_dict"):
        load_zoo_model("torchvision:resnet18", tmp_path / "ckpt.pt")


# --- labels: a missing label is not a class, however it is spelled ---------------------------------------


@pytest.mark.parametrize("missing, said", [(None, "row 5 is None"), (float("nan"), "row 5 is NaN"),
                                           (float("inf"), "row 5 is inf"), ("pd.NA", "row 5 is NA")])
def test_missing_or_infinite_labels_are_refused_naming_the_row(missing, said):
    import pandas as pd

    from transfergraph.planner.common.exceptions import InputError
    from transfergraph.planner.inputs.task import Task

    labels = [k % 3 for k in range(12)]
    labels[5] = pd.NA if missing == "pd.NA" else missing
    with pytest.raises(InputError) as info:
        Task("t", np.zeros((12, 4), np.float32), np.array(labels, dtype=object))
    assert "labels of Task 't' must not contain NaN" in str(info.value) and said in str(info.value)
    with pytest.raises(InputError, match="labels of Task 't' must not contain NaN"):
        Task("t", np.zeros((12, 4), np.float32), labels)  # a list, as typed


def test_a_yaml_merge_key_given_twice_is_an_error(tmp_path):
    from transfergraph.config.yaml_rules import YamlProblems, load_yaml

    with pytest.raises(YamlProblems) as info:
        load_yaml("validate:\n  decisions:\n    <<: {steps: 5}\n    <<: {steps: 6}\n")
    assert "validate.decisions.<<: key given 2 times (lines 3 and 4)" in str(info.value.lines)
    assert load_yaml("a: &a {s: 1}\nb: &b {t: 2}\nv:\n  <<: [*a, *b]\n")["v"] == {"s": 1, "t": 2}


# --- Hugging Face array columns: the stored element type, as an in-memory array of it ----------------------


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_hf_array_column_of_pixels_scores_as_the_same_array_in_memory(dtype, tmp_path):
    datasets = pytest.importorskip("datasets")
    from transfergraph.planner.inputs.task import Source, Task
    from transfergraph.planner.scoring import score

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 3, SIZE, SIZE)).astype(dtype)
    y = np.arange(12) % 3
    features = datasets.Features({"image": datasets.Array3D((3, SIZE, SIZE), dtype), "label": datasets.Value("int64")})
    datasets.Dataset.from_dict({"image": list(x), "label": y}, features=features).save_to_disk(str(tmp_path / "hf"))
    hf = datasets.load_from_disk(str(tmp_path / "hf"))

    def leep(task):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * SIZE * SIZE, 4)).eval()
        out = score([Source("m", model)], [task], metrics=("leep",), executor="local", progress=False)
        assert (out["status"] == "ok").all(), out["error"].tolist()  # was: "mat1 and mat2 ... Long and Float"
        return float(out["score"].iloc[0])

    assert leep(Task("hf", hf)) == leep(Task("mem", x, y))


# --- transfergraph plan: the run folder, a GraphML file under another name -------------------------------


def _scores_and_graph(tmp_path):
    from transfergraph.planner import Source, Task, score

    rng = np.random.default_rng(0)
    names = ["-0", "0x10", "\u0661"]
    tasks = [Task(n, rng.normal(size=(24, 4)).astype("float32"), np.arange(24) % 3) for n in names]
    torch.manual_seed(0)
    sources = [Source(f"{n}.lin", torch.nn.Linear(4, 3), task=n) for n in names]
    scores = score(sources, tasks, metrics=["leep"], progress=False)
    run = tmp_path / "run"
    run.mkdir()
    scores.to_csv(run / "scores.csv", index=False)
    return run


def test_plan_of_a_run_folder_or_a_renamed_graphml_says_what_to_pass_or_reads_it(tmp_path):
    import json

    from typer.testing import CliRunner

    from transfergraph.cli import app

    run = _scores_and_graph(tmp_path)
    result = CliRunner().invoke(app, ["plan", str(run), "--out", str(tmp_path / "p0")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{run} is a folder: a scores.csv or graph.graphml file does not exist at that path" in result.output
    assert f"(here: {run / 'scores.csv'})" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["plan", str(run / "scores.csv"), "--out", str(tmp_path / "p1")])
    assert result.exit_code == 0, result.output
    (tmp_path / "graph.xml").write_bytes((tmp_path / "p1" / "graph.graphml").read_bytes())
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "graph.xml"), "--out", str(tmp_path / "p2")])
    assert result.exit_code == 0, result.output  # was: "lacks columns [...]" (read as a CSV)
    plans = [json.loads((tmp_path / p / "plan.json").read_text()) for p in ("p1", "p2")]
    assert plans[0]["sources"] == plans[1]["sources"] and sorted(plans[1]["sources"]) == ["-0", "0x10", "\u0661"]


def test_a_class_name_that_is_a_skipped_folder_or_differs_in_case_says_why():
    from transfergraph.jobs.class_names import resolve_classes
    from transfergraph.planner.common.exceptions import ConfigError

    names, skipped = ["cat", "dog"], {"gnu": "no image files", "$Recycle.Bin": "hidden or system folder"}
    for given, why in (("gnu", "'gnu' is a sub-folder that is not a class (no image files)"),
                       ("$Recycle.Bin", "(hidden or system folder)"), ("Cat", "'Cat' is not 'cat'"),
                       (" dog", "' dog' is not 'dog'")):
        with pytest.raises(ConfigError) as info:
            resolve_classes([given, "dog" if given != " dog" else "cat"], names, [0, 1], "tasks[0] (a)", "root",
                            not_classes=skipped)
        assert why in str(info.value) and "{'cat': 0, 'dog': 1}" in str(info.value), str(info.value)


# --- npy data: grayscale (n, H, W) pixel arrays, channels-last arrays ---------------------------------------


def _npy_run(tmp_path, x, name):
    import pandas as pd
    import yaml
    from typer.testing import CliRunner

    from transfergraph.cli import app

    y = np.repeat(np.arange(3), 12)
    np.save(tmp_path / f"{name}_x.npy", x)
    np.save(tmp_path / f"{name}_y.npy", y)
    cfg = {"name": "npy", "data": {"kind": "npy", "root": str(tmp_path / f"{name}_x.npy"),
                                   "labels": str(tmp_path / f"{name}_y.npy"), "test_fraction": 0.25},
           "tasks": [{"name": "all"}, {"name": "pair", "classes": [0, 1]}],
           "models": {"per_task": True, "training": {"epochs": 1, "width": 4, "feature_dim": 8, "batch_size": 8}},
           "scoring": {"metrics": ["leep"], "executor": "local", "cache": False}, "plan": {"top_k": 1}}
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["run", str(tmp_path / f"{name}.yaml"), "--out", str(tmp_path / name),
                                      "--quiet", "--no-cache"])
    scores = pd.read_csv(tmp_path / name / "scores.csv")["score"].to_numpy() if result.exit_code == 0 else None
    return result, scores


@pytest.mark.slow
def test_npy_grayscale_pixels_without_a_channel_axis_score_as_with_one(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 12)
    x = np.clip(60 * y[:, None, None] + rng.normal(0, 30, (36, SIZE, SIZE)), 0, 255).astype(np.uint8)
    with_axis, clean = _npy_run(tmp_path, x[:, None], "nchw")
    assert with_axis.exit_code == 0, with_axis.output
    for name, wild in (("nhw", x), ("nhw16", x.astype(np.uint16) * 257)):
        result, scores = _npy_run(tmp_path, wild, name)  # was: ValueError "expected 4D input" (a traceback)
        assert result.exit_code == 0, result.output
        np.testing.assert_array_equal(scores, clean)
    result, _ = _npy_run(tmp_path, np.repeat(x[..., None], 3, axis=-1), "nhwc")
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "has shape (36, 8, 8, 3), channels last (n, H, W, C)" in text and "x.transpose(0, 3, 1, 2)" in text


@pytest.mark.slow
def test_npy_float_images_without_a_channel_axis_are_refused_with_the_fix(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.random((36, SIZE, SIZE)).astype(np.float32)
    result, _ = _npy_run(tmp_path, x, "float_nhw")  # was: a RuntimeError traceback from the first conv layer
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "data.root" in text and "np.save(path, x[:, None])" in text


def test_a_class_name_typed_composed_selects_the_folder_macos_stored_decomposed(tmp_path):
    """macOS writes folder names decomposed (NFD: 'e' + combining accent); a config types them composed."""
    from transfergraph.jobs.class_names import resolve_classes

    root = _image_folder(tmp_path / "imgs", ["cafe\u0301", "dog", "the\u0301"])
    reader = ImageFolderReader(root, mode="L")
    names = reader.classes
    assert resolve_classes(["caf\u00e9", "th\u00e9"], names, [0, 1, 2], "k", "r") == \
        resolve_classes(["cafe\u0301", "the\u0301"], names, [0, 1, 2], "k", "r") == [0, 2]


def test_a_folder_given_as_checkpoint_names_the_weights_inside(resnet, tmp_path):
    from transfergraph.adapters.models.zoo import load_zoo_model
    from transfergraph.planner.common.exceptions import CheckpointError

    folder = tmp_path / "hf_model"  # a save_pretrained folder: config.json + weights
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    torch.save(resnet[0], folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError) as info:  # was: "does not exist" for a folder that exists
        load_zoo_model("torchvision:resnet18", folder)
    assert f"checkpoint {folder} is a folder; point `checkpoint` at the weights file inside it: " \
           f"{folder / 'pytorch_model.bin'}" in str(info.value)
    model = load_zoo_model("torchvision:resnet18", folder / "pytorch_model.bin")
    with torch.no_grad():
        assert torch.equal(model(resnet[1]), resnet[2])


def test_labels_given_for_an_image_folder_keep_1_and_the_string_1_apart(tmp_path):
    """As for in-memory inputs: NumPy would turn [1, "1"] into two equal strings, merging two classes."""
    from transfergraph.planner.inputs.task import Task

    root = _image_folder(tmp_path / "imgs", ["a", "b"])  # 6 images
    labels = [1, "1", 2] * 2
    lazy, memory = Task("lazy", str(root), labels), Task("mem", np.zeros((6, 4), np.float32), labels)
    assert lazy.labels.tolist() == memory.labels.tolist() == labels


def test_plan_refuses_infinite_scores_naming_the_row_and_never_keeps_another_tables_scores(tmp_path):
    from typer.testing import CliRunner

    from transfergraph.cli import app
    from transfergraph.planner.report.artifacts import read_scores

    run = _scores_and_graph(tmp_path)
    text = (run / "scores.csv").read_text().splitlines()
    header = text[0].split(",")
    for bad in ("inf", "-inf", "Infinity"):
        row = text[2].split(",")
        row[header.index("normalized")] = bad
        (tmp_path / "bad.csv").write_text("\n".join([text[0], text[1], ",".join(row), *text[3:]]) + "\n")
        result = CliRunner().invoke(app, ["plan", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "pb")])
        assert result.exit_code == 2 and "Traceback" not in result.output  # was: ValueError of the clustering
        assert "bad.csv: column 'normalized' of data row 2 is " in result.output
        assert "expected a finite number (or empty)" in result.output
    other = tmp_path / "other.csv"  # another run's table, planned into the same folder first
    other.write_text("source,source_task,target,metric,score,normalized,status\nm,,x,leep,-1,0.5,ok\n"
                     "m,,y,leep,-1.2,0.4,ok\n")
    out = tmp_path / "same_out"
    for table in (other, run / "scores.csv"):
        result = CliRunner().invoke(app, ["plan", str(table), "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert sorted(read_scores(out / "scores.csv")["target"].unique()) == ["-0", "0x10", "\u0661"]  # was: x, y


def test_a_broken_link_is_refused_naming_it_and_a_link_loop_adds_no_samples(tmp_path):
    from transfergraph.planner.common.exceptions import InputError

    clean = ImageFolderReader(_image_folder(tmp_path / "clean", ["cat", "dog"]), mode="L")
    root = _image_folder(tmp_path / "wild", ["cat", "dog"])
    os.symlink(root, root / "dog" / "back_to_root")  # was: cat's images again under dog, 40 levels deep
    os.symlink(root / "dog", root / "dog" / "self")
    wild = ImageFolderReader(root, mode="L")
    assert wild.files == clean.files and np.array_equal(wild.labels(), clean.labels())
    os.symlink(tmp_path / "gone.png", root / "cat" / "9.png")
    with pytest.raises(InputError) as info:  # was: FileNotFoundError from os.stat (a traceback)
        ImageFolderReader(root, mode="L")
    assert "1 file(s) cannot be read as images" in str(info.value) and f"{root / 'cat' / '9.png'}" in str(info.value)


def test_the_classlabel_no_label_minus_1_is_refused_not_a_class(tmp_path):
    datasets = pytest.importorskip("datasets")
    from transfergraph.planner.common.exceptions import InputError
    from transfergraph.planner.inputs.task import Task

    images = [Image.fromarray(np.full((SIZE, SIZE), 20 * i, np.uint8)) for i in range(9)]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b", "c"])})
    labels = [0, 1, 2, -1, 0, 1, 2, -1, 0]  # an unlabelled test split's -1
    datasets.Dataset.from_dict({"image": images, "label": labels}, features=features).save_to_disk(str(tmp_path / "hf"))
    hf = datasets.load_from_disk(str(tmp_path / "hf"))
    with pytest.raises(InputError) as info:  # was: accepted, -1 a fourth class
        Task("t", hf)
    assert "row 3 (column 'label') of the dataset has the label -1" in str(info.value)
    assert "in 2 row(s)" in str(info.value) and "dataset.filter(" in str(info.value)
    kept = hf.filter(lambda r: r["label"] != -1)
    assert Task("t", kept).labels.tolist() == [0, 1, 2, 0, 1, 2, 0]


@pytest.mark.parametrize("written, given", [("1e5", "float 100000.0"), (".5", "float 0.5"), ("true", "bool True")])
def test_a_class_yaml_reads_as_a_float_or_boolean_says_how_to_quote_it(written, given, tmp_path):
    from transfergraph.config import load_config
    from transfergraph.planner.common.exceptions import ConfigError

    path = tmp_path / "job.yaml"
    path.write_text(f"tasks:\n  - {{name: a, classes: [{written}, x]}}\n  - {{name: b}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"tasks.0.classes.0: expected an integer or a string; got {given} (YAML reads the unquoted value" \
           in str(info.value) and 'quote it exactly as written' in str(info.value)
    path.write_text(f"tasks:\n  - {{name: a, classes: ['{written}', x]}}\n  - {{name: b}}\n")
    assert load_config(path).tasks[0].classes == [written, "x"]


def test_an_external_model_named_like_a_per_task_model_is_refused_before_training(tmp_path):
    from transfergraph.config import load_config
    from transfergraph.planner.common.exceptions import ConfigError

    path = tmp_path / "job.yaml"
    text = ("tasks:\n  - {name: a, classes: [0, 1, 2]}\n  - {name: b, classes: [3, 4]}\n"
            "models:\n  per_task: %s\n  external:\n    - {name: a.cnn, classes: [0, 1, 2, 3]}\n")
    path.write_text(text % "true")
    with pytest.raises(ConfigError) as info:  # was: "sources must have unique names" after training a's model
        load_config(path)
    assert "models.external: ['a.cnn'] would be named like the per-task model of task 'a'" in str(info.value)
    path.write_text(text % "false")
    assert load_config(path).models.external[0].name == "a.cnn"


def test_hf_sizes_name_the_odd_row_even_when_it_is_row_0_and_an_empty_image_cell(tmp_path):
    datasets = pytest.importorskip("datasets")
    from transfergraph.planner.common.exceptions import InputError
    from transfergraph.planner.inputs.task import Task

    images = [Image.fromarray(np.full((SIZE, SIZE), 20 * i, np.uint8)) for i in range(6)]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})

    def saved(name, cells):
        datasets.Dataset.from_dict({"image": cells, "label": [0, 1] * 3}, features=features).save_to_disk(
            str(tmp_path / name))
        return datasets.load_from_disk(str(tmp_path / name))

    with pytest.raises(InputError) as info:  # was: "row 1 ... 8x8 pixels, unlike row 0 (10x10)": the wrong row
        Task("t", saved("odd0", [images[0].resize((10, 10))] + images[1:]))
    assert "row 0 (column 'image') of the dataset is an image of 10x10 pixels, unlike row 1 (8x8)" in str(info.value)
    with pytest.raises(InputError) as info:  # was: "AttributeError: 'NoneType' object has no attribute 'get'"
        Task("t", saved("empty", images[:3] + [None] + images[4:]))
    assert "row 3 (column 'image') of the dataset has no image (an empty cell)" in str(info.value)
