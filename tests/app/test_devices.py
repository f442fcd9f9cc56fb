"""The scoring device is checked before any model is trained, naming --device or scoring.device."""
import pytest
import torch
import yaml
from typer.testing import CliRunner

from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.cli import app
from transfergraph.config.devices import check_device, device_spelling_problem


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "cuda:12"])
def test_valid_spellings(device):
    assert device_spelling_problem(device) is None


@pytest.mark.parametrize("device", ["tpu", "CPU", "cuda:", "cuda:x", "gpu", "", 0, None])
def test_invalid_spellings_say_what_is_accepted(device):
    assert device_spelling_problem(device).startswith("expected 'cpu' | 'cuda' | 'cuda:N'; got ")


def test_cuda_check_names_the_key():
    check_device(None, "--device", on_this_machine=True)
    check_device("cpu", "--device", on_this_machine=True)
    check_device("cuda:99", "--device", on_this_machine=False)  # a cluster's workers may have it
    with pytest.raises(ConfigError, match=r"scoring.device 'cuda:99'"):
        check_device("cuda:99", "scoring.device", on_this_machine=True)
    with pytest.raises(ConfigError, match=r"--device: expected 'cpu' \| 'cuda' \| 'cuda:N'; got str 'tpu'"):
        check_device("tpu", "--device", on_this_machine=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_absent_is_said_plainly():
    with pytest.raises(ConfigError, match="CUDA is not available on this machine"):
        check_device("cuda", "--device", on_this_machine=True)


def test_absent_device_fails_before_any_model_is_trained(tmp_path):
    cfg = yaml.safe_load(open("configs/tiny.yaml"))
    cfg["scoring"]["device"] = "cuda:99"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "c.yaml"), "--out", str(out), "--executor", "local", "--quiet"])
    assert result.exit_code == 2 and "scoring.device 'cuda:99'" in result.output
    assert not (out / "models").exists() or not any((out / "models").iterdir())
