"""Bad input to the examples ends in one line that names the problem and the fix, and a
non-zero exit; images of every common mode train; labelled folders are evaluated.

Each case runs one example script as a subprocess, named in the case. Every script gets its
checks from the harness (lightly_min.harness), so each case names the script it runs, and the
cases together cover every flavour and every method.
"""

import sys

import numpy as np
import pytest
from examples_support import EXAMPLES, final, run
from PIL import Image

FAST = ["--epochs", "1", "--batch-size", "4", "--num-workers", "0"]


def run_example(example, *args, cwd):
    """Runs ``examples/<example>`` (e.g. "pytorch/simsiam.py") with ``args`` in ``cwd``."""
    return run([sys.executable, str(EXAMPLES / example), *args], cwd=cwd)


def assert_one_error_line(result, *words):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    for word in words:
        assert word in errors[0], errors[0]


def noise_image(rng, size=(12, 10), mode="RGB"):
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(
        mode
    )


def write_images(folder, count, rng, suffix="png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        noise_image(rng).save(folder / f"{i}.{suffix}")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_missing_folder(tmp_path):
    result = run_example("pytorch/simsiam.py", "--data-dir", str(tmp_path / "nope"), cwd=tmp_path)
    assert_one_error_line(result, "nope does not exist", "folder of images")


def test_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(b"")
    result = run_example(
        "pytorch_lightning/fastsiam.py", "--data-dir", str(tmp_path / "photo.jpg"), cwd=tmp_path
    )
    assert_one_error_line(result, "photo.jpg is a file, not a folder")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_example(
        "pytorch_lightning_distributed/simclr.py",
        "--data-dir",
        str(tmp_path / "empty"),
        cwd=tmp_path,
    )
    assert_one_error_line(result, "holds no images", "no files at all")


def test_folder_without_images(tmp_path):
    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "a.txt").write_text("text")
    (tmp_path / "notes" / "sub" / "b.csv").write_text("1,2")
    result = run_example("pytorch/byol.py", "--data-dir", str(tmp_path / "notes"), cwd=tmp_path)
    assert_one_error_line(result, "holds no images", "2 files, none of them an image")


def test_fewer_images_than_one_batch(tmp_path, rng):
    write_images(tmp_path / "three", 3, rng)
    args = ["--data-dir", str(tmp_path / "three"), "--batch-size", "4"]
    result = run_example("pytorch_lightning/simclr.py", *args, cwd=tmp_path)
    assert_one_error_line(result, "3 training images", "fewer than one", "--batch-size")


def test_batch_size_under_two(tmp_path):
    result = run_example(
        "pytorch_lightning_distributed/byol.py",
        "--fake-data",
        "8",
        "--batch-size",
        "1",
        cwd=tmp_path,
    )
    assert_one_error_line(result, "--batch-size 1", "2 images or more")


@pytest.mark.parametrize(
    "example, flag, value, words",
    [
        ("pytorch/byol.py", "--lr", "nan", ["--lr nan", "positive number"]),
        ("pytorch_lightning/simsiam.py", "--lr", "-0.1", ["--lr -0.1", "positive number"]),
        ("pytorch/simclr.py", "--num-workers", "-1", ["--num-workers -1", "0 or more"]),
        ("pytorch_lightning/byol.py", "--fake-data", "-4", ["--fake-data -4", "0 or more"]),
        ("pytorch_lightning_distributed/simsiam.py", "--devices", "0", ["--devices 0"]),
        ("pytorch_lightning_distributed/fastsiam.py", "--num-nodes", "0", ["--num-nodes 0"]),
        ("pytorch/fastsiam.py", "--input-size", "4", ["--input-size 4", "8 or more"]),
        ("pytorch/dino.py", "--seed", "-1", ["--seed -1", "from 0 to 4294967295"]),
        ("pytorch_lightning/dino.py", "--seed", str(2**32), ["--seed 4294967296"]),
        ("pytorch/moco.py", "--data-dir", ".", ["--fake-data and --data-dir", "choose one"]),
        ("pytorch_lightning/vicreg.py", "--test-dir", ".", ["--fake-data and --test-dir"]),
    ],
)
def test_numeric_options_out_of_range(example, flag, value, words, tmp_path):
    result = run_example(example, "--fake-data", "8", flag, value, cwd=tmp_path)
    assert_one_error_line(result, *words)


def test_epochs_under_one(tmp_path):
    result = run_example("pytorch/fastsiam.py", "--fake-data", "8", "--epochs", "0", cwd=tmp_path)
    assert_one_error_line(result, "--epochs 0", "at least 1 epoch")


def test_output_dir_that_cannot_be_written(tmp_path):
    (tmp_path / "a_file").write_text("")  # a folder cannot be made inside a file
    args = ["--fake-data", "8", "--output-dir", str(tmp_path / "a_file" / "out")]
    result = run_example("pytorch_lightning/byol.py", *args, cwd=tmp_path)
    assert_one_error_line(result, "Cannot write to --output-dir", "a_file")


def test_test_dir_needs_a_labelled_data_dir(tmp_path, rng):
    write_images(tmp_path / "flat", 8, rng)
    for name in ("cats", "dogs"):
        write_images(tmp_path / "test" / name, 2, rng)
    example = "pytorch_lightning_distributed/fastsiam.py"
    alone = run_example(example, "--test-dir", str(tmp_path / "test"), cwd=tmp_path)
    assert_one_error_line(alone, "--test-dir needs --data-dir")
    args = ["--data-dir", str(tmp_path / "flat"), "--test-dir", str(tmp_path / "test")]
    unlabelled = run_example(example, *args, cwd=tmp_path)
    assert_one_error_line(unlabelled, "flat has no class subfolders")


def test_test_dir_with_other_classes(tmp_path, rng):
    for name in ("cats", "dogs"):
        write_images(tmp_path / "train" / name, 4, rng)
    for name in ("cats", "birds"):
        write_images(tmp_path / "test" / name, 2, rng)
    args = ["--data-dir", str(tmp_path / "train"), "--test-dir", str(tmp_path / "test")]
    result = run_example("pytorch/simclr.py", *args, cwd=tmp_path)
    assert_one_error_line(result, "(birds, cats) differ from", "(cats, dogs)")


def test_images_of_every_common_mode_train(tmp_path, rng):
    """Grey, 16-bit grey, palette, palette with transparency, RGBA and RGB, as PNG."""
    folder = tmp_path / "modes"
    folder.mkdir()
    for i in range(2):
        noise_image(rng, mode="L").save(folder / f"grey{i}.png")
        noise_image(rng, mode="RGBA").save(folder / f"rgba{i}.png")
        noise_image(rng, mode="P").save(folder / f"palette{i}.png")
        noise_image(rng, mode="P").save(folder / f"transparent{i}.png", transparency=3)
        levels = rng.integers(0, 65536, (10, 12), dtype=np.uint16)
        Image.fromarray(levels).save(folder / f"grey16_{i}.png")  # opens as mode I;16
        noise_image(rng).save(folder / f"rgb{i}.png")
    example = "pytorch/simclr.py"
    result = run_example(example, "--data-dir", str(folder), *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]  # e.g. PIL's palette warning
    assert (tmp_path / final(tmp_path / "checkpoints/simclr_pytorch")["weights"]).is_file()


def test_corrupt_and_truncated_images_are_skipped_with_a_warning_naming_them(tmp_path, rng):
    folder = tmp_path / "some_broken"
    write_images(folder, 8, rng, suffix="jpg")
    (folder / "garbage.png").write_bytes(b"this is not a PNG")
    whole = (folder / "0.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    example = "pytorch_lightning/fastsiam.py"
    args = ["--data-dir", str(folder), *FAST, "--batch-size", "3"]  # 9 images: each is loaded
    result = run_example(example, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("garbage.png", "truncated.jpg"):
        assert f"skipping {folder / name}, which cannot be read" in result.stderr
    assert (tmp_path / final(tmp_path / "checkpoints/fastsiam_lightning")["weights"]).is_file()


def test_a_labelled_folder_is_evaluated_on_held_out_images(tmp_path, rng):
    for name in ("cats", "dogs"):
        write_images(tmp_path / "train" / name, 10, rng)
        write_images(tmp_path / "test" / name, 3, rng)
    example = "pytorch/fastsiam.py"
    split = run_example(example, "--data-dir", str(tmp_path / "train"), *FAST, cwd=tmp_path)
    assert split.returncode == 0, split.stderr[-3000:]
    assert "18 images for training, 2 classes (cats, dogs); 2 held out" in split.stdout
    assert final(tmp_path / "checkpoints/fastsiam_pytorch")["evaluation"] is not None
    args = ["--test-dir", str(tmp_path / "test"), "--output-dir", "second"]
    named = run_example(example, "--data-dir", str(tmp_path / "train"), *args, *FAST, cwd=tmp_path)
    assert named.returncode == 0, named.stderr[-3000:]
    assert "20 images, 2 classes (cats, dogs); evaluation on the 6 images of" in named.stdout
    assert final(tmp_path / "second")["evaluation"] is not None


def test_a_finished_run_is_not_overwritten(tmp_path):
    example = "pytorch_lightning_distributed/simsiam.py"
    args = ["--fake-data", "8", *FAST, "--output-dir", "run"]
    first = run_example(example, *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    weights = tmp_path / final(tmp_path / "run")["weights"]
    saved = weights.read_bytes()
    again = run_example(example, *args, cwd=tmp_path)
    assert_one_error_line(again, "already holds a finished run", "another --output-dir")
    assert weights.read_bytes() == saved


def test_resume_needs_a_checkpoint_and_a_checkpoint_needs_resume(tmp_path):
    example = "pytorch_lightning/simsiam.py"
    nothing = run_example(
        example, "--fake-data", "8", "--resume", "--output-dir", "run", cwd=tmp_path
    )
    assert_one_error_line(nothing, "--resume found no checkpoint")
    checkpoint = "checkpoint.ckpt" if "lightning" in example else "checkpoint.pt"
    (tmp_path / "run" / checkpoint).write_bytes(b"")
    interrupted = run_example(example, "--fake-data", "8", "--output-dir", "run", cwd=tmp_path)
    assert_one_error_line(interrupted, "holds an interrupted run", "Add --resume")


def test_a_folder_unpacked_from_a_macos_zip_trains_on_its_images_only(tmp_path, rng):
    """__MACOSX/, AppleDouble ._* files, .DS_Store and an empty file: none of them is an image
    or a class, nothing stands in for them, and no training image is held out."""
    data = tmp_path / "photos"
    for name in ("cats", "dogs"):
        write_images(data / name, 10, rng)
        write_images(data / "__MACOSX" / name, 10, rng)
        for i in range(10):
            (data / name / f"._{i}.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (data / ".DS_Store").write_bytes(b"Bud1")
    (data / "cats" / "empty.png").write_bytes(b"")
    result = run_example("pytorch/simsiam.py", "--data-dir", str(data), *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "18 images for training, 2 classes (cats, dogs); 2 held out" in result.stdout
    assert result.stderr.count("skipping") == 1 and "empty.png" in result.stderr
    assert final(tmp_path / "checkpoints/simsiam_pytorch")["evaluation"] is not None


def test_class_folders_that_are_links_are_trained_on(tmp_path, rng):
    for name in ("cats", "dogs"):
        write_images(tmp_path / "store" / name, 10, rng)
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / name).symlink_to(tmp_path / "store" / name)
    args = ["--data-dir", str(tmp_path / "data"), *FAST]
    result = run_example("pytorch_lightning/simclr.py", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "18 images for training, 2 classes (cats, dogs)" in result.stdout


def test_a_folder_with_one_class_says_that_evaluating_needs_two(tmp_path, rng):
    write_images(tmp_path / "only" / "cats", 8, rng)
    args = ["--data-dir", str(tmp_path / "only"), *FAST]
    result = run_example("pytorch/byol.py", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if "no evaluation" in line]
    assert "one class subfolder (cats)" in line and "two classes or more" in line


def test_a_stray_image_beside_the_class_folders_of_test_dir_is_named(tmp_path, rng):
    for name in ("cats", "dogs"):
        write_images(tmp_path / "train" / name, 4, rng)
        write_images(tmp_path / "test" / name, 2, rng)
    noise_image(rng).save(tmp_path / "test" / "stray.png")
    args = ["--data-dir", str(tmp_path / "train"), "--test-dir", str(tmp_path / "test")]
    result = run_example("pytorch_lightning/byol.py", *args, cwd=tmp_path)
    assert_one_error_line(result, "images outside its class subfolders (1, e.g. stray.png)")


def test_test_dir_that_is_the_training_folder_is_warned_about(tmp_path, rng):
    for name in ("cats", "dogs"):
        write_images(tmp_path / "train" / name, 4, rng)
    args = ["--data-dir", str(tmp_path / "train"), "--test-dir", str(tmp_path / "train")]
    result = run_example("pytorch/simclr.py", *args, *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert "is the training folder" in line and "not held-out" in line


def test_a_labelled_folder_too_small_to_hold_anything_out(tmp_path, rng):
    for name in ("cats", "dogs", "owls", "bats"):
        write_images(tmp_path / "tiny" / name, 1, rng)
    args = ["--data-dir", str(tmp_path / "tiny"), "--batch-size", "2"]
    result = run_example("pytorch_lightning_distributed/fastsiam.py", *args, cwd=tmp_path)
    assert_one_error_line(result, "too few images per class", "--test-dir")
