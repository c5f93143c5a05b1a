"""What the examples do beyond the smoke run: offline message, --data-dir, seeding, precision.

Bad input is in test_examples_input.py, resuming in test_examples_resume.py."""

import json
import sys

import numpy as np
import pytest
import torch
from examples_support import (
    EXAMPLES,
    epoch_losses,
    example_files,
    final,
    of_kind,
    read_record,
    run,
)
from PIL import Image

# A proxy that refuses every connection: the download fails at once, as offline.
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
OFFLINE |= {key.upper(): value for key, value in OFFLINE.items()}


@pytest.mark.parametrize("example", example_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_offline_without_cifar_stops_with_one_line_naming_the_alternatives(example, tmp_path):
    result = run([str(sys.executable), str(example)], cwd=tmp_path, **OFFLINE)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if "CIFAR-10" in line]
    assert len(message) == 1, result.stderr
    assert "--data-dir" in message[0] and "--fake-data" in message[0]


@pytest.fixture
def image_folder(tmp_path):
    """Nested folders of small PNG, JPEG and grayscale images, unlabelled at the top."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for i in range(10):
        folder = root / ("a" if i % 2 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        size = (40 + i, 36)
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        if i == 3:
            image.convert("L").save(folder / f"{i}.png")
        else:
            image.save(folder / f"{i}.{'jpg' if i % 3 else 'png'}")
    Image.fromarray(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)).save(root / "top.jpeg")
    return root


def flavour(example: str) -> str:
    """The flavour's name in the default --output-dir (checkpoints/<method>_<flavour>)."""
    folder = example.split("/")[0]
    return {"pytorch_lightning": "lightning", "pytorch_lightning_distributed": "distributed"}.get(
        folder, folder
    )


@pytest.mark.parametrize(
    "example, extra",
    [
        ("pytorch/simsiam.py", []),
        ("pytorch_lightning/fastsiam.py", []),
        ("pytorch_lightning_distributed/simclr.py", ["--devices", "2", "--batch-size", "2"]),
    ],
)
def test_data_dir_trains_on_a_folder_of_images(example, extra, image_folder, tmp_path):
    command = [sys.executable, str(EXAMPLES / example), "--data-dir", str(image_folder)]
    command += ["--epochs", "1", "--batch-size", "4", "--num-workers", "0", *extra]
    result = run(command, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    method = example.split("/")[1].removesuffix(".py")
    output_dir = tmp_path / "checkpoints" / f"{method}_{flavour(example)}"
    assert len(epoch_losses(output_dir)) == 1
    end = final(output_dir)
    assert (tmp_path / end["weights"]).is_file()
    # No class subfolders, so no labels: nothing is evaluated, and the record and a line say why.
    assert end["evaluation"] is None and "subfolder" in end["reason"]
    (line,) = [line for line in result.stdout.splitlines() if "no evaluation" in line]
    assert "unlabelled" in line and "subfolder" in line


@pytest.mark.parametrize("example", ["pytorch/simclr.py", "pytorch_lightning/simsiam.py"])
def test_the_same_seed_gives_the_same_first_loss(example, tmp_path):
    runs = iter(range(3))

    def first_loss(seed: int) -> float:
        command = [sys.executable, str(EXAMPLES / example), "--fake-data", "16"]
        command += ["--epochs", "1", "--batch-size", "8", "--num-workers", "0"]
        output_dir = tmp_path / f"run{next(runs)}"
        command += ["--seed", str(seed), "--output-dir", str(output_dir)]
        result = run(command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        return epoch_losses(output_dir)[0]

    first = first_loss(seed=1)
    assert first_loss(seed=1) == first
    assert first_loss(seed=2) != first  # the seed matters, so the equality above means something


# Runs an example with the harness's bf16_supported() answering as asked, and writes every
# torch.autocast() that the run enters (device type, dtype, enabled) to autocast.json.
WITH_BF16 = """
import json, runpy, sys, torch
import lightly_min.harness.run as harness_run
supported = sys.argv[1] == "yes"
harness_run.bf16_supported = lambda device: supported
entered, original = [], torch.autocast.__enter__
def record(self):
    entered.append([self.device, str(self.fast_dtype), self._enabled])
    return original(self)
torch.autocast.__enter__ = record
sys.argv = sys.argv[2:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    open("autocast.json", "w").write(json.dumps(entered))
"""


@pytest.mark.parametrize("example", ["pytorch/simsiam.py", "pytorch_lightning/simclr.py"])
@pytest.mark.parametrize("bf16", [False, True])
def test_bf16_autocast_only_where_the_hardware_has_it(example, bf16, tmp_path):
    smoke = [str(EXAMPLES / example), "--fake-data", "16", "--epochs", "1"]
    smoke += ["--batch-size", "8", "--num-workers", "0", "--output-dir", "run"]
    arguments = [sys.executable, "-c", WITH_BF16, "yes" if bf16 else "no", *smoke]
    result = run(arguments, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    entered = json.loads((tmp_path / "autocast.json").read_text())
    in_bf16 = [call for call in entered if call[1] == "torch.bfloat16" and call[2]]
    if bf16:  # every training step (2 of them) in bf16
        assert len(in_bf16) >= 2, entered
    else:
        assert not in_bf16, entered
    (loss,) = epoch_losses(tmp_path / "run")
    assert np.isfinite(loss)
    (start,) = of_kind(read_record(tmp_path / "run"), "start")
    assert start["precision"] == ("bf16-mixed" if bf16 else "32-true")
    assert start["channels_last"]  # the convolutions' weights, in the faster layout


# Runs an example whose evaluation fails, e.g. on a GPU that ran out of memory.
EVALUATION_FAILS = """
import runpy, sys
import lightly_min.harness.run as harness_run
def fails(*args, **kwargs):
    raise RuntimeError("out of memory")
harness_run.evaluate_backbone = fails
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("example", ["pytorch/fastsiam.py", "pytorch_lightning/byol.py"])
def test_the_weights_are_saved_before_the_evaluation(example, tmp_path):
    smoke = [str(EXAMPLES / example), "--fake-data", "16", "--epochs", "1"]
    smoke += ["--batch-size", "8", "--num-workers", "0", "--output-dir", "run"]
    result = run([sys.executable, "-c", EVALUATION_FAILS, *smoke], cwd=tmp_path)
    assert result.returncode != 0 and "out of memory" in result.stderr
    (weights,) = (tmp_path / "run").glob("*_backbone.pt")
    state = torch.load(weights, weights_only=True)
    assert state["conv1.weight"].shape == (64, 3, 3, 3)


@pytest.mark.parametrize("example", ["pytorch/simclr.py", "pytorch_lightning/byol.py"])
def test_images_above_64_px_train_with_the_imagenet_stem(example, tmp_path):
    """--input-size 72: crops of 72 px, the ResNet's own 7x7 stem, and an evaluation."""
    smoke = [str(EXAMPLES / example), "--fake-data", "8", "--epochs", "1", "--input-size", "72"]
    smoke += ["--batch-size", "4", "--num-workers", "0", "--output-dir", "run"]
    result = run([sys.executable, *smoke], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_record(tmp_path / "run")
    (start,) = of_kind(record, "start")
    assert start["args"]["input_size"] == 72
    assert "size=(72, 72)" in start["transform"]  # the crops' size
    state = torch.load(tmp_path / final(tmp_path / "run")["weights"], weights_only=True)
    assert state["conv1.weight"].shape == (64, 3, 7, 7)
    assert 0 <= final(tmp_path / "run")["evaluation"]["knn"] <= 1
