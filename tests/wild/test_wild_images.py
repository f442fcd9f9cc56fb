"""Image data as users really have it, replayed on files generated here (PIL/numpy in tmp_path).

Each case is handled right (the arrays, and so the scores, equal those of the clean input) or refused
with an InputError (exit 2 through the CLI) naming the file, row or column, the key and what to do:
system folders and AppleDouble files in image folders, 16-bit and float pixels, mixed L/RGB and
mixed-size Hugging Face datasets, corrupt files, label columns with other names, class subsets by
folder name.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
import yaml
from PIL import Image
from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.lazy import DatasetReader, ImageFolderReader
from transfergraph.planner.inputs.pixels import image_array
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.scoring import score

runner = CliRunner()
CLASSES = ("pullover", "sandal", "tshirt")
SIZE = 8


def _pictures(n_per_class: int = 8, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """8-bit grayscale pictures (SIZE x SIZE, uint8) per class, class-dependent brightness plus noise."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, name in enumerate(CLASSES):
        base = 40 + 80 * k
        out[name] = [np.clip(base + rng.normal(0, 30, (SIZE, SIZE)), 0, 255).astype(np.uint8)
                     for _ in range(n_per_class)]
    return out


def _folder(root: Path, pictures: dict, *, as_=lambda a: Image.fromarray(a), ext: str = "png") -> Path:
    for name, arrays in pictures.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, a in enumerate(arrays):
            as_(a).save(root / name / f"{i:02d}.{ext}")
    return root


def _model(in_channels: int = 1, n_out: int = 4, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, n_out)).eval()


def _leep(task: Task, in_channels: int = 1) -> float:
    scores = score([Source("m", _model(in_channels))], [task], metrics=("leep",), executor="local", progress=False)
    assert (scores["status"] == "ok").all(), scores["error"].tolist()
    return float(scores["score"].iloc[0])


def _array(reader) -> np.ndarray:
    return np.stack([reader.read(i) for i in range(len(reader))])


# --- image folders: system folders and files are not classes nor samples -----------------------------


def _junk(root: Path, folder: str) -> None:
    """A system folder at the root (with an image inside, as tools leave them), AppleDouble/hidden
    files and a hidden folder inside a class, and an empty folder."""
    (root / folder / "tshirt").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((SIZE, SIZE), np.uint8)).save(root / folder / "tshirt" / "00.png")
    (root / folder / "tshirt" / "._00.png").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    (root / "tshirt" / "._00.png").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    (root / "tshirt" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "sandal" / ".ipynb_checkpoints").mkdir(exist_ok=True)
    Image.fromarray(np.full((SIZE, SIZE), 255, np.uint8)).save(root / "sandal" / ".ipynb_checkpoints" / "x.png")
    (root / "notes").mkdir(exist_ok=True)
    (root / "notes" / "readme.txt").write_text("no images here")


@pytest.mark.parametrize("folder", [".ipynb_checkpoints", "__MACOSX", ".git", "@eaDir", ".Trash-1000"])
def test_system_folders_and_hidden_files_are_not_classes_nor_samples(tmp_path, folder):
    pictures = _pictures()
    clean = ImageFolderReader(_folder(tmp_path / "clean", pictures), mode="L")
    root = _folder(tmp_path / "wild", pictures)
    _junk(root, folder)
    wild = ImageFolderReader(root, mode="L")
    assert wild.classes == list(CLASSES) and wild.class_to_idx == {"pullover": 0, "sandal": 1, "tshirt": 2}
    assert wild.files == clean.files and np.array_equal(wild.labels(), clean.labels())
    assert wild.skipped == {folder: "hidden or system folder", "notes": "no image files"}
    assert np.array_equal(_array(wild), _array(clean))


def test_image_folder_with_junk_scores_like_the_clean_one_and_run_json_lists_the_classes(tmp_path):
    pictures = _pictures()
    _folder(tmp_path / "clean", pictures)
    _junk(_folder(tmp_path / "wild", pictures), ".ipynb_checkpoints")
    _junk(tmp_path / "wild", "__MACOSX")
    runs = {}
    for name in ("clean", "wild"):
        result = _cli(tmp_path, {"root": str(tmp_path / name)}, [{"name": "ab", "classes": [0, 2]}], out=name)
        assert result.exit_code == 0, result.output
        runs[name] = pd.read_csv(tmp_path / f"out-{name}" / "scores.csv")
    assert np.array_equal(runs["clean"]["score"].to_numpy(), runs["wild"]["score"].to_numpy())
    info = json.loads((tmp_path / "out-wild" / "run.json").read_text())["data"]
    assert info["classes"] == {"pullover": 0, "sandal": 1, "tshirt": 2}
    assert info["not_classes"] == {".ipynb_checkpoints": "hidden or system folder",
                                   "__MACOSX": "hidden or system folder", "notes": "no image files"}


# --- pixel depth: 16-bit and float images are scaled by their real range, never clipped -------------


@pytest.mark.parametrize("kind", ["png16", "tiff16", "tiff16_big_endian", "mode_I", "float_tiff"])
def test_wide_pixels_of_an_8bit_picture_give_the_8bit_arrays_and_leep(tmp_path, kind):
    pictures = _pictures()
    as_ = {
        "png16": lambda a: Image.fromarray(a.astype(np.uint16) * 257),
        "tiff16": lambda a: Image.fromarray(a.astype(np.uint16) * 257),
        "tiff16_big_endian": lambda a: Image.fromarray((a.astype(np.uint16) * 257).astype(">u2")),
        "mode_I": lambda a: Image.fromarray(a.astype(np.int32) * 257),
        "float_tiff": lambda a: Image.fromarray(a.astype(np.float32) / np.float32(255)),
    }[kind]
    ext = "png" if kind == "png16" else "tif"
    eight = _folder(tmp_path / "eight", pictures)
    wide = _folder(tmp_path / "wide", pictures, as_=as_, ext=ext)
    with Image.open(next((wide / "tshirt").iterdir())) as img:
        assert img.mode in ("I;16", "I;16B", "I", "F")
    for mode, channels in (("L", 1), ("RGB", 3)):
        a8, aw = ImageFolderReader(eight, mode=mode), ImageFolderReader(wide, mode=mode)
        np.testing.assert_allclose(_array(aw), _array(a8), rtol=0, atol=1e-7)
        assert abs(_leep(Task("w", aw.root, image_mode=mode), channels)
                   - _leep(Task("e", a8.root, image_mode=mode), channels)) < 1e-6


def test_16bit_images_keep_their_depth(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.integers(0, 65536, (2, SIZE, SIZE), dtype=np.uint16)  # a depth map: not 8-bit content
    for k in range(2):
        (tmp_path / f"c{k}").mkdir()
        Image.fromarray(values[k]).save(tmp_path / f"c{k}" / "d.png")
    x = _array(ImageFolderReader(tmp_path, mode="L"))
    np.testing.assert_array_equal(x[:, 0], values.astype(np.float32) / np.float32(65535))
    assert len(np.unique(x)) == len(np.unique(values)) > 100  # clipped to 8 bits, nearly all would read 1.0


def test_float_images_outside_0_1_and_wide_integers_are_refused_naming_the_file(tmp_path):
    pictures = _pictures()
    root = _folder(tmp_path / "f", pictures, as_=lambda a: Image.fromarray(a.astype(np.float32)), ext="tif")
    with pytest.raises(InputError, match=r"pullover/00\.tif.*float image .* \[0, 1\].*values in \[.*rescale the images"):
        ImageFolderReader(root)
    bad = np.full((SIZE, SIZE), 70000, np.int32)
    with pytest.raises(InputError, match=r"x\.tif: integer pixels .*0\.\.65535"):
        image_array(Image.fromarray(bad), where="x.tif")
    nan = np.full((SIZE, SIZE), np.nan, np.float32)
    with pytest.raises(InputError, match="NaN or inf"):
        image_array(Image.fromarray(nan), where="y.tif")


# --- unreadable files and mixed sizes in an image folder ----------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_unreadable_image_file_is_an_input_error_naming_it(tmp_path, damage):
    root = _folder(tmp_path / "imgs", _pictures())
    bad = root / "sandal" / "03.png"
    data = bad.read_bytes()
    bad.write_bytes({"garbage": b"not an image at all", "truncated": data[: len(data) // 2], "empty": b""}[damage])
    with pytest.raises(InputError, match=r"cannot be read as images: .*sandal/03\.png.*Remove them or replace"):
        Task("t", root)
    result = _cli(tmp_path, {"root": str(root)}, [{"name": "ab", "classes": [0, 1]}])
    assert result.exit_code == 2, result.output
    assert "data.root" in result.output and "sandal/03.png" in result.output and "Traceback" not in result.output


def test_image_read_failure_after_the_check_is_an_input_error_naming_the_file(tmp_path):
    root = _folder(tmp_path / "imgs", _pictures())
    reader = ImageFolderReader(root)
    (root / "sandal" / "03.png").write_bytes(b"replaced after the reader was built")
    with pytest.raises(InputError, match=r"image file .*sandal/03\.png.* cannot be read as an image"):
        reader.read(reader.files.index("sandal/03.png"))


def test_mixed_sizes_in_an_image_folder_need_image_size(tmp_path):
    root = _folder(tmp_path / "imgs", _pictures())
    Image.fromarray(np.zeros((SIZE + 3, SIZE), np.uint8)).save(root / "tshirt" / "big.png")
    with pytest.raises(InputError, match=r"2 different sizes .*8x11 \(1 files, e\.g\. 'tshirt/big\.png'\).*image_size"):
        Task("t", root)
    assert Task("t", root, image_size=SIZE).inputs.sample_shape == (3, SIZE, SIZE)
    result = _cli(tmp_path, {"root": str(root)}, [{"name": "ab", "classes": [0, 1]}])
    assert result.exit_code == 2 and "data.image_size:" in result.output, result.output


# --- Hugging Face datasets and map-style Datasets: the same normalization -------------------------------


def _hf(path: Path, pictures: dict, *, columns=("image", "label"), modes=None, sizes=None, class_label=False):
    datasets = pytest.importorskip("datasets")
    images, labels = [], []
    for k, name in enumerate(CLASSES):
        for a in pictures[name]:
            img = Image.fromarray(a)
            row = len(images)
            if modes is not None and row in modes:
                img = img.convert(modes[row])
            if sizes is not None and row in sizes:
                img = img.resize(sizes[row])
            images.append(img)
            labels.append(k)
    label = datasets.ClassLabel(names=list(CLASSES)) if class_label else datasets.Value("int64")
    features = datasets.Features({columns[0]: datasets.Image(), columns[1]: label})
    datasets.Dataset.from_dict({columns[0]: images, columns[1]: labels}, features=features).save_to_disk(str(path))
    return datasets.load_from_disk(str(path))


def test_mixed_L_and_RGB_hf_dataset_reads_like_the_image_folder(tmp_path):
    pictures = _pictures()
    folder = ImageFolderReader(_folder(tmp_path / "imgs", pictures))
    hf = _hf(tmp_path / "hf", pictures, modes={i: "RGB" for i in range(0, 24, 3)})
    task = Task("hf", hf)
    assert np.array_equal(np.asarray(task.inputs), _array(folder))
    assert abs(_leep(task, 3) - _leep(Task("folder", folder.root), 3)) < 1e-6
    gray = Task("hf", hf, image_mode="L")
    assert np.asarray(gray.inputs).shape == (24, 1, SIZE, SIZE)


def test_mixed_size_hf_dataset_is_refused_naming_row_and_column_or_resized(tmp_path):
    hf = _hf(tmp_path / "hf", _pictures(), sizes={16: (SIZE + 2, SIZE + 2)})
    with pytest.raises(InputError, match=r"row 16 \(column 'image'\) .* 10x10 .* row 0 \(8x8\).*image_size=N"):
        Task("hf", hf)
    assert np.asarray(Task("hf", hf, image_size=SIZE).inputs).shape == (24, 3, SIZE, SIZE)
    result = _cli(tmp_path, {"kind": "hf_datasets", "root": str(tmp_path / "hf")}, [{"name": "ab", "classes": [0, 1]}])
    assert result.exit_code == 2, result.output
    assert "data.image_size:" in result.output and "row 16 (column 'image')" in result.output


def test_unreadable_image_in_an_hf_dataset_is_refused_naming_the_row(tmp_path):
    datasets = pytest.importorskip("datasets")
    good = _hf(tmp_path / "ok", _pictures())
    cells = []
    for i, img in enumerate(good["image"]):
        buffer = io.BytesIO()
        img.save(buffer, format="PNG")
        cells.append({"bytes": buffer.getvalue() if i != 3 else b"not a png", "path": None})
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    datasets.Dataset.from_dict({"image": cells, "label": good["label"]}, features=features).save_to_disk(
        str(tmp_path / "bad"))
    with pytest.raises(InputError, match=r"row 3 \(column 'image'\) of the dataset cannot be read as an image"):
        Task("hf", datasets.load_from_disk(str(tmp_path / "bad")))
    with pytest.raises(InputError, match=r"input_column/label_column of Task 'f' apply to datasets with columns"):
        Task("f", str(_folder(tmp_path / "imgs", _pictures())), label_column="label")


class _PILDataset(torch.utils.data.Dataset):
    """A map-style Dataset yielding (PIL image, label), as torchvision datasets do without a transform."""

    def __init__(self, pictures: dict, rgb_rows=(), sizes=None) -> None:
        self.items = [(a, k) for k, name in enumerate(CLASSES) for a in pictures[name]]
        self.rgb_rows, self.sizes = set(rgb_rows), sizes or {}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        a, k = self.items[i]
        img = Image.fromarray(a).convert("RGB" if i in self.rgb_rows else "L")
        return (img.resize(self.sizes[i]) if i in self.sizes else img), k


def test_map_style_dataset_of_pil_images_is_normalized_like_the_image_folder(tmp_path):
    pictures = _pictures()
    folder = ImageFolderReader(_folder(tmp_path / "imgs", pictures))
    task = Task("ds", _PILDataset(pictures, rgb_rows=range(0, 24, 2)))
    assert np.array_equal(np.asarray(task.inputs), _array(folder))
    mixed = Task("ds", _PILDataset(pictures, sizes={5: (SIZE + 1, SIZE)}))
    with pytest.raises(InputError, match=r"item 5 of the dataset has shape \(3, 8, 9\).*image_size=N"):
        np.asarray(mixed.inputs)
    from transfergraph.planner.inputs.batches import iter_batches

    for workers in (0, 1):  # the DataLoader path names it too, also from a reader process
        with pytest.raises(InputError, match=r"^item 5 of the dataset has shape \(3, 8, 9\)"):
            list(iter_batches(mixed.inputs, mixed.inputs.rows, 16, num_workers=workers))
    resized = Task("ds", _PILDataset(pictures, sizes={5: (SIZE + 1, SIZE)}), image_size=SIZE)
    assert np.asarray(resized.inputs).shape == (24, 3, SIZE, SIZE)


# --- label and input columns with other names ------------------------------------------------------------


def test_columns_with_other_names_are_task_options_and_the_error_says_how(tmp_path):
    datasets = pytest.importorskip("datasets")
    pictures = _pictures()
    hf = _hf(tmp_path / "hf", pictures, columns=("img", "fine_label"))
    with pytest.raises(InputError, match=r"no label column among \['label', 'labels', 'y'\].*'fine_label'.*"
                                         r"label_column='\.\.\.'.*data\.label_column"):
        Task("c", hf)
    task = Task("c", hf, input_column="img", label_column="fine_label")
    assert task.n_classes == 3 and task.inputs.sample_shape == (3, SIZE, SIZE)
    with pytest.raises(InputError, match=r"label_column 'label' is not a column .*\['img', 'fine_label'\]"):
        Task("c", hf, label_column="label")
    with pytest.raises(InputError, match=r"input_column.* only apply when inputs are read by transfergraph"):
        Task("c", np.zeros((4, 1, 2, 2), np.float32), [0, 1, 0, 1], input_column="img")
    with pytest.raises(InputError, match=r"DatasetDict holds several splits \(\['train'\]\); pass one of them"):
        Task("c", datasets.DatasetDict({"train": hf}), input_column="img", label_column="fine_label")
    root = str(tmp_path / "hf")
    bad = _cli(tmp_path, {"kind": "hf_datasets", "root": root}, [{"name": "ab", "classes": [0, 1]}], out="bad")
    assert bad.exit_code == 2 and "data.label_column:" in bad.output and "fine_label" in bad.output, bad.output
    good = _cli(tmp_path, {"kind": "hf_datasets", "root": root, "input_column": "img", "label_column": "fine_label"},
                [{"name": "ab", "classes": [0, 1]}], out="good")
    assert good.exit_code == 0, good.output


# --- class subsets by folder name ---------------------------------------------------------------------------


def _cli(tmp: Path, data: dict, tasks: list, out: str = "run", image_size: int | None = None):
    config = {
        "name": "wild_images", "seed": 0,
        "data": {"kind": "image_folder", "test_fraction": 0.25, **data},
        "tasks": tasks + [{"name": "all"}] * (len(tasks) < 2),  # a config has at least 2 tasks
        "models": {"per_task": True, "training": {"epochs": 1, "width": 4, "feature_dim": 8, "batch_size": 8}},
        "scoring": {"metrics": ["leep"], "executor": "local", "cache": False},
        "plan": {"metric": "leep", "top_k": 1},
    }
    path = tmp / f"{out}.yaml"
    path.write_text(yaml.safe_dump(config))
    return runner.invoke(app, ["run", str(path), "--out", str(tmp / f"out-{out}"), "--quiet", "--no-cache"])


def test_classes_by_folder_name_equal_classes_by_position(tmp_path):
    root = str(_folder(tmp_path / "imgs", _pictures()))
    tasks = lambda a, b: [{"name": "first", "classes": a}, {"name": "second", "classes": b}]  # noqa: E731
    runs = {}
    for out, spec in (("pos", tasks([0, 2], [1, 2])), ("names", tasks(["pullover", "tshirt"], ["sandal", "tshirt"])),
                      ("mixed", tasks(["pullover", 2], [1, "tshirt"]))):
        result = _cli(tmp_path, {"root": root}, spec, out=out)
        assert result.exit_code == 0, result.output
        runs[out] = pd.read_csv(tmp_path / f"out-{out}" / "scores.csv")["score"].to_numpy()
    assert np.array_equal(runs["pos"], runs["names"]) and np.array_equal(runs["pos"], runs["mixed"])


@pytest.mark.parametrize("classes, match", [
    (["tshirt", "jacket"], r"tasks\[0\] \(ab\)\.classes: \['jacket'\] not in dataset .*\(name -> position\): "
                           r"\{'pullover': 0, 'sandal': 1, 'tshirt': 2\}"),
    ([0, 7], r"tasks\[0\] \(ab\)\.classes: \[7\] not in dataset .*'tshirt': 2"),
    (["tshirt", 2], r"tasks\[0\] \(ab\)\.classes: .* select the class\(es\) \['tshirt'\] twice"),
])
def test_unknown_or_repeated_class_names_print_the_name_position_table(tmp_path, classes, match):
    root = str(_folder(tmp_path / "imgs", _pictures()))
    result = _cli(tmp_path, {"root": root}, [{"name": "ab", "classes": classes}])
    assert result.exit_code == 2, result.output
    import re

    assert re.search(match, " ".join(result.output.split())), result.output


def test_integer_that_is_another_folders_name_is_ambiguous(tmp_path):
    pictures = _pictures()
    numbered = {str(n): pictures[CLASSES[n % 3]] for n in (1, 2, 10)}  # sorted: '1', '10', '2'
    root = _folder(tmp_path / "imgs", numbered)
    result = _cli(tmp_path, {"root": str(root)}, [{"name": "ab", "classes": [1, 2]}])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "classes: 2 is ambiguous: folder '2' is at position 2" not in text  # 2 -> '2' agrees
    assert "1 is ambiguous: folder '1' is at position 0 while position 1 is folder '10'" in text
    ok = _cli(tmp_path, {"root": str(root)}, [{"name": "ab", "classes": ["1", "2"]}], out="quoted")
    assert ok.exit_code == 0, ok.output


def test_integer_that_a_zero_padded_folder_name_spells_is_ambiguous():
    from transfergraph.jobs.class_names import resolve_classes
    from transfergraph.planner.common.exceptions import ConfigError

    names = ["01", "02", "03"]
    with pytest.raises(ConfigError, match=r"1 is ambiguous: folder '01' is at position 0 while position 1 is "
                                          r"folder '02'\. Quote folder names \('01'\)"):
        resolve_classes([1, 2], names, [0, 1, 2], "tasks[0] (t)", "root")
    assert resolve_classes(["01", "03"], names, [0, 1, 2], "tasks[0] (t)", "root") == [0, 2]
    assert resolve_classes([0, 1], ["0", "1", "2"], [0, 1, 2], "tasks[0] (t)", "root") == [0, 1]  # names agree


def test_float_rounding_just_outside_0_1_is_clipped_not_refused():
    values = np.array([[-1e-7, 0.5], [1.0 + 1e-7, 1.0]], np.float32)
    out = image_array(Image.fromarray(values), mode="L")
    assert out.min() == 0.0 and out.max() == 1.0 and out[0, 0, 1] == np.float32(0.5)
    with pytest.raises(InputError, match=r"values in \[0, 1\.01\]"):
        image_array(Image.fromarray(np.array([[0.0, 1.01]], np.float32)))


def test_hf_class_label_names_select_classes_like_positions(tmp_path):
    _hf(tmp_path / "hf", _pictures(), class_label=True)
    data = {"kind": "hf_datasets", "root": str(tmp_path / "hf")}
    runs = {}
    for out, classes in (("pos", [2, 0]), ("names", ["tshirt", "pullover"])):
        result = _cli(tmp_path, data, [{"name": "ab", "classes": classes}], out=out)
        assert result.exit_code == 0, result.output
        runs[out] = pd.read_csv(tmp_path / f"out-{out}" / "scores.csv")["score"].to_numpy()
    assert np.array_equal(runs["pos"], runs["names"])
    info = json.loads((tmp_path / "out-names" / "run.json").read_text())["data"]
    assert info["classes"] == {"pullover": 0, "sandal": 1, "tshirt": 2}
    bad = _cli(tmp_path, data, [{"name": "ab", "classes": ["tshirt", "boot"]}], out="bad")
    assert bad.exit_code == 2 and "['boot'] not in dataset" in bad.output and "'sandal': 1" in bad.output, bad.output


def test_npy_pixel_arrays_of_8_and_16_bits_score_like_the_image_folder(tmp_path):
    pictures = _pictures()
    x8 = np.stack([a for name in CLASSES for a in pictures[name]])[:, None]  # (24, 1, 8, 8) uint8
    y = np.repeat(np.arange(3), 8)
    np.save(tmp_path / "x8.npy", x8)
    np.save(tmp_path / "x16.npy", x8.astype(np.uint16) * 257)
    np.save(tmp_path / "y.npy", y)
    _folder(tmp_path / "imgs", pictures)
    datas = {"folder": {"root": str(tmp_path / "imgs"), "image_mode": "L"},
             "npy8": {"kind": "npy", "root": str(tmp_path / "x8.npy"), "labels": str(tmp_path / "y.npy")},
             "npy16": {"kind": "npy", "root": str(tmp_path / "x16.npy"), "labels": str(tmp_path / "y.npy")}}
    runs = {}
    for out, data in datas.items():
        result = _cli(tmp_path, data, [{"name": "ab", "classes": [0, 2]}], out=out)
        assert result.exit_code == 0, result.output
        runs[out] = pd.read_csv(tmp_path / f"out-{out}" / "scores.csv")["score"].to_numpy()
    assert np.array_equal(runs["npy8"], runs["npy16"]) and np.array_equal(runs["npy8"], runs["folder"])
