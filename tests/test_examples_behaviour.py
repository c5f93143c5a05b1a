"""What the examples do beyond the smoke run: offline message, --data-dir, seeding, fp32.

Bad input is in test_examples_input.py, resuming in test_examples_resume.py."""

import sys

import numpy as np
import pytest
from examples_support import EXAMPLES, epoch_losses, example_files, run, saved_weights
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
    assert len(epoch_losses(result.stdout)) == 1
    assert saved_weights(result.stdout, tmp_path).is_file()
    # No class subfolders, so no labels: one line says so, and nothing is evaluated.
    (line,) = [line for line in result.stdout.splitlines() if "no evaluation" in line]
    assert "unlabelled" in line and "subfolder" in line
    assert "Held-out accuracy" not in result.stdout


@pytest.mark.parametrize("example", ["pytorch/simclr.py", "pytorch_lightning/simsiam.py"])
def test_the_same_seed_gives_the_same_first_loss(example, tmp_path):
    runs = iter(range(3))

    def first_loss(seed: int) -> float:
        command = [sys.executable, str(EXAMPLES / example), "--fake-data", "16"]
        command += ["--epochs", "1", "--batch-size", "8", "--num-workers", "0"]
        command += ["--seed", str(seed), "--output-dir", f"run{next(runs)}"]
        result = run(command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        return epoch_losses(result.stdout)[0]

    first = first_loss(seed=1)
    assert first_loss(seed=1) == first
    assert first_loss(seed=2) != first  # the seed matters, so the equality above means something


# Runs an example with bf16_supported() answering False, as on hardware without native bf16.
WITHOUT_BF16 = """
import runpy, sys
import lightly_min.harness.precision as precision
precision.bf16_supported = lambda device: False
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("example", ["pytorch/simsiam.py", "pytorch_lightning/simclr.py"])
def test_examples_fall_back_to_float32_without_bf16(example, tmp_path):
    smoke = [str(EXAMPLES / example), "--fake-data", "16", "--epochs", "1"]
    smoke += ["--batch-size", "8", "--num-workers", "0"]
    result = run([sys.executable, "-c", WITHOUT_BF16, *smoke], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "bfloat16" not in output and "bf16" not in output.replace("fp32", "")
    if example.startswith("pytorch/"):
        assert "(fp32)" in result.stdout  # the PyTorch examples name their precision
    (loss,) = epoch_losses(result.stdout)
    assert np.isfinite(loss)
