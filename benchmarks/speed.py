"""Speed, library against library: each example script as a user runs it, built from
lightly_min, and the same script with its building blocks imported from lightly.

lightly_min keeps lightly's names and import paths, so the example's file, unchanged, run with
each building-block module (heads, losses, transforms, momentum helpers) answered by lightly's
module of the same path, is the same recipe built from lightly: same settings, same precision
(the harness decides bf16 either way), same data, same harness (imported from lightly_min
before the switch). Both train on the same folder of digits (PNG files, unlabelled, so the
scripts skip their evaluation) and record images per second for every epoch in their run
record; the first epoch warms up, the last one counts.
"""

from __future__ import annotations

import ast
import json
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
    "transforms.dino_transform",
    "transforms.moco_transform",
    "transforms.utils",
    "transforms.vicreg_transform",
    "utils.debug",
    "utils.dist",
    "utils.scheduler",
)
LIBRARIES = ("lightly_min", "lightly")

#: Runs ``python -c LAUNCHER script args...``: the script, with ``lightly_min.<module>`` for each
#: shared module answered by ``lightly.<module>``.
LAUNCHER = """
import importlib, runpy, sys
import lightly_min.harness  # lightly_min's own helpers, loaded before the switch
from benchmarks.speed import SHARED_MODULES
for module in SHARED_MODULES:
    sys.modules[f"lightly_min.{module}"] = importlib.import_module(f"lightly.{module}")
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def example(method: str) -> Path:
    return ROOT / "examples" / "pytorch" / f"{method}.py"


def lightly_min_imports(script: Path) -> set[str]:
    """The ``lightly_min`` modules that the script imports from (parsed, not pattern-matched)."""
    tree = ast.parse(script.read_text())
    found = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return {name for name in found if name and name.split(".")[0] == "lightly_min"}


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
    with tempfile.TemporaryDirectory(dir=scratch) as output_dir:  # weights: not kept
        arguments = command(script, images, Path(output_dir), batch_size, epochs)
        if library == "lightly":
            arguments[1:1] = ["-c", LAUNCHER]
        done = subprocess.run(arguments, cwd=ROOT, capture_output=True, text=True)
        record = Path(output_dir) / "metrics.jsonl"
        lines = (
            [json.loads(line) for line in record.read_text().splitlines()]
            if record.exists()
            else []
        )
    speeds = [line["images_per_second"] for line in lines if line["kind"] == "epoch"]
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
