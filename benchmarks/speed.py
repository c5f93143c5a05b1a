"""Speed, library against library: each example script as a user runs it, built from
lightly_min, and the same script with its building blocks imported from lightly.

lightly_min keeps lightly's names and import paths, so switching ``lightly_min`` to
``lightly`` in the imports of the building blocks (heads, losses, transforms, momentum
helpers) gives the same recipe built from lightly: same settings, same precision (the script
decides bf16 either way), same data, same harness. Both train on the same folder of digits
(PNG files, unlabelled, so the scripts skip their evaluation) and print images per second for
every epoch; the first epoch warms up, the last one counts.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from benchmarks.learning import ROOT, mean_std
from lightly_min.tutorials.digits import load_digits

#: The modules whose names lightly shares (the building blocks). The examples' other imports
#: (data, evaluation, checkpoints) are lightly_min's helpers and stay as they are.
SHARED_MODULES = (
    "loss",
    "models.modules",
    "models.modules.heads",
    "models.utils",
    "transforms",
    "transforms.utils",
    "utils.debug",
    "utils.scheduler",
)
IMAGES_PER_SECOND = re.compile(r"^epoch (\d+)/\d+ .* (\d+) images/s$", re.MULTILINE)
LIBRARIES = ("lightly_min", "lightly")


def example(method: str) -> Path:
    return ROOT / "examples" / "pytorch" / f"{method}.py"


def with_lightly(script: str) -> str:
    """The script with its building blocks imported from lightly instead of lightly_min."""
    switched = script
    for module in SHARED_MODULES:
        switched = switched.replace(
            f"from lightly_min.{module} import", f"from lightly.{module} import"
        )
    if switched == script:
        raise ValueError("the script imports no building block from lightly_min")
    return switched


def command(
    script: Path, images: Path, output_dir: Path, batch_size: int, epochs: int
) -> list[str]:
    """The example's own command line: only data, length, batch, loader and output change."""
    return [
        sys.executable, str(script), "--data-dir", str(images), "--epochs", str(epochs),
        "--batch-size", str(batch_size), "--num-workers", "0", "--output-dir", str(output_dir),
    ]  # fmt: skip


def digit_folder(folder: Path, count: int) -> Path:
    """The first ``count`` training digits as PNG files in one folder (no labels)."""
    split = load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    for index, pixels in enumerate(split.train_images[:count]):
        Image.fromarray(pixels).save(folder / f"{index:05d}.png")
    return folder


def measure(
    method: str, library: str, images: Path, scratch: Path, batch_size: int, epochs: int
) -> dict[str, Any]:
    """One run of the example in a fresh process; images/s of each epoch, the last counted."""
    script = example(method)
    if library == "lightly":
        script = scratch / f"{method}_with_lightly.py"
        script.write_text(with_lightly(example(method).read_text()))
    with tempfile.TemporaryDirectory(dir=scratch) as output_dir:  # weights: not kept
        done = subprocess.run(
            command(script, images, Path(output_dir), batch_size, epochs),
            cwd=scratch, capture_output=True, text=True,
        )  # fmt: skip
    speeds = [float(found) for _, found in IMAGES_PER_SECOND.findall(done.stdout)]
    if done.returncode != 0 or len(speeds) != epochs:
        raise RuntimeError(f"{script.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return {"images_per_second": speeds[-1], "per_epoch": speeds}


def run(
    names: Sequence[str],
    repeats: int,
    images: int,
    batch_size: int,
    epochs: int,
    scratch: Path,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Alternates the two libraries, ``repeats`` times per method; ratios lightly_min / lightly."""
    folder = digit_folder(scratch / "digits", images)
    results: dict[str, Any] = {
        "settings": {
            "images": images,
            "batch_size": batch_size,
            "epochs": epochs,
            "repeats": repeats,
            "num_workers": 0,
            "data": "the first training digits, PNG files, 32 px crops",
        },  # fmt: skip
        "methods": {},
    }
    for method in names:
        runs: dict[str, list[dict[str, Any]]] = {library: [] for library in LIBRARIES}
        for repeat in range(repeats):
            order = LIBRARIES if repeat % 2 == 0 else LIBRARIES[::-1]
            for library in order:
                runs[library].append(measure(method, library, folder, scratch, batch_size, epochs))
                rate = runs[library][-1]["images_per_second"]
                log(f"speed: {method}, {library}: {rate:.0f} images/s")
        speeds = {library: [r["images_per_second"] for r in runs[library]] for library in LIBRARIES}
        ratios = [ours / theirs for ours, theirs in zip(speeds["lightly_min"], speeds["lightly"])]
        results["methods"][method] = {
            "runs": runs,
            **{library: mean_std(speeds[library]) for library in LIBRARIES},
            "ratio": mean_std(ratios),
        }
    return results
