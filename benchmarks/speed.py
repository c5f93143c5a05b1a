"""Speed: training throughput, peak memory and transform throughput, lightly_min vs lightly.

Training is measured for the examples' configuration (``methods.examples_recipe``: CIFAR-stem
ResNet-18, 32 px, the examples' heads, transform, loss and SGD). lightly_min runs as the
examples do (bf16 autocast and channels-last where :func:`bf16_supported`), lightly in plain
float32 as lightly's examples. Each configuration runs in a fresh Python process (this file
with ``--worker``), so that peak memory is its own and no warm cache carries over.

Throughput counts the training images (not views) of whole epochs, data loading and
augmentation included, after a few warm-up batches that are not timed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from digits import DigitDataset, load_digits
from methods import SiameseModel, build_optimizer, build_transform
from recipes import examples_recipe
from torch.utils.data import DataLoader

from lightly_min.utils.precision import bf16_supported

HERE = Path(__file__).resolve().parent
#: Settings of each transform at each image size: the examples' (no blur, SimCLR's colour
#: jitter at strength 0.5) at 32 px, the libraries' ImageNet defaults at 224 px.
TRANSFORM_SETTINGS: dict[int, dict[str, dict[str, Any]]] = {
    32: {
        "simclr": {"input_size": 32, "cj_strength": 0.5, "gaussian_blur": 0.0},
        "simsiam": {"input_size": 32, "gaussian_blur": 0.0},
        "fastsiam": {"input_size": 32, "gaussian_blur": 0.0, "num_views": 4},
    },
    224: {
        "simclr": {"input_size": 224},
        "simsiam": {"input_size": 224},
        "fastsiam": {"input_size": 224, "num_views": 4},
    },
}
TRANSFORM_CLASSES = {
    "simclr": "SimCLRTransform",
    "simsiam": "SimSiamTransform",
    "fastsiam": "FastSiamTransform",
}


def peak_rss_mib() -> float:
    """High-water mark of this process's resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class WorkerMemory:
    """Samples the total memory of this process's children (the DataLoader workers).

    Proportional set size (PSS), so that pages the forked workers share with the main process
    count once in total rather than once per worker; Linux only (``/proc``), else 0. Use as a
    context manager; ``peak_mib`` is the largest sum seen.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def children_pss_mib() -> float:
        total_kib, me = 0, os.getpid()
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) != me:  # field 4: parent pid
                    continue
                for line in (entry / "smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total_kib += int(line.split()[1])
            except (OSError, ValueError, IndexError):
                continue  # the process ended meanwhile
        return total_kib / 1024

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mib = max(self.peak_mib, self.children_pss_mib())

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def run_training(config: dict[str, Any]) -> dict[str, Any]:
    """Trains one configuration for ``config["epochs"]`` timed epochs; run in a fresh process.

    ``config`` keys: ``method``, ``library``, ``batch_size``, ``num_workers``, ``epochs``,
    ``warmup_batches``, ``precision`` (``"examples"``: bf16 and channels-last when supported;
    ``"fp32"``), ``images`` (how many training digits, at most 4,000), ``seed``.
    """
    torch.manual_seed(config["seed"])
    np.random.seed(config["seed"])  # lightly draws some of its augmentations from numpy
    recipe = examples_recipe(config["method"], config["batch_size"], config["num_workers"])
    use_bf16 = config["precision"] == "examples" and bf16_supported("cpu")
    model = SiameseModel(recipe, config["library"])
    if config["precision"] == "examples":
        model = model.to(memory_format=torch.channels_last)
    split = load_digits()
    count = config["images"]
    dataset = DigitDataset(
        split.train_images[:count],
        split.train_labels[:count],
        build_transform(recipe, config["library"]),
        size=32,
    )
    loader = DataLoader(
        dataset,
        recipe.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=recipe.num_workers,
    )
    optimizer, _ = build_optimizer(model, recipe)
    precision = torch.autocast("cpu", dtype=torch.bfloat16) if use_bf16 else nullcontext()

    def step(views: list[torch.Tensor]) -> None:
        with precision:
            loss = model.loss(views)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    for index, (views, _) in enumerate(loader):  # warm-up: oneDNN picks its kernels here
        if index >= config["warmup_batches"]:
            break
        step(views)
    seconds = []
    with WorkerMemory() as workers:
        for _ in range(config["epochs"]):
            start = time.perf_counter()
            for views, _ in loader:
                step(views)
            seconds.append(time.perf_counter() - start)
    images = len(loader) * recipe.batch_size
    return {
        **config,
        "bf16": use_bf16,
        "channels_last": config["precision"] == "examples",
        "images_per_epoch": images,
        "epoch_seconds": seconds,
        "images_per_second": images * len(seconds) / sum(seconds),
        "peak_rss_mib": peak_rss_mib(),
        "workers_peak_pss_mib": workers.peak_mib,
    }


def measure_in_subprocess(config: dict[str, Any]) -> dict[str, Any]:
    """Runs :func:`run_training` in a fresh Python process and returns its result."""
    command = [sys.executable, str(HERE / "speed.py"), "--worker", json.dumps(config)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"Speed measurement {config} failed (exit {completed.returncode}):\n"
            f"{completed.stderr[-3000:]}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def training_comparison(
    methods: Sequence[str],
    base: dict[str, Any],
    repeats: int,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """For each method, lightly_min (examples' precision) and lightly (fp32), alternately.

    Returns one summary per method: each library's runs, best images/s and largest peak
    memory over the repeats, and the throughput ratio lightly_min / lightly.
    """
    summaries = []
    for method in methods:
        runs: dict[str, list[dict[str, Any]]] = {"lightly_min": [], "lightly": []}
        for repeat in range(repeats):
            for library, precision in (("lightly_min", "examples"), ("lightly", "fp32")):
                config = {**base, "method": method, "library": library, "precision": precision}
                result = measure_in_subprocess(config)
                runs[library].append(result)
                log(
                    f"  {method:8s} {library:11s} ({'bf16' if result['bf16'] else 'fp32'}) "
                    f"repeat {repeat + 1}/{repeats}: {result['images_per_second']:.1f} images/s, "
                    f"peak RSS {result['peak_rss_mib']:.0f} MiB"
                )
        summary: dict[str, Any] = {"method": method, "runs": runs}
        for library, results in runs.items():
            summary[library] = {
                # Best of the repeats: other load on the machine only ever slows a run down.
                "images_per_second": float(max(r["images_per_second"] for r in results)),
                "peak_rss_mib": float(max(r["peak_rss_mib"] for r in results)),
                "workers_peak_pss_mib": float(max(r["workers_peak_pss_mib"] for r in results)),
            }
        summary["throughput_ratio"] = (
            summary["lightly_min"]["images_per_second"] / summary["lightly"]["images_per_second"]
        )
        log(f"  {method}: lightly_min / lightly = {summary['throughput_ratio']:.2f}x")
        summaries.append(summary)
    return summaries


def variant_comparison(
    method: str,
    base: dict[str, Any],
    variants: Sequence[dict[str, Any]],
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """One run per variant of ``base``: lightly_min unless a variant names another library."""
    results = []
    for changes in variants:
        config = {**base, "method": method, "library": "lightly_min", **changes}
        result = measure_in_subprocess(config)
        log(
            f"  {method} {changes}: {result['images_per_second']:.1f} images/s, "
            f"peak RSS {result['peak_rss_mib']:.0f} MiB, "
            f"workers {result['workers_peak_pss_mib']:.0f} MiB"
        )
        results.append(result)
    return results


def transform_throughput(
    transform: Callable[[Any], Any], images: Sequence[Any], seconds: float
) -> float:
    """Images per second of ``transform`` over ``images``, looped for at least ``seconds``."""
    done, start = 0, time.perf_counter()
    while True:
        for image in images:
            transform(image)
        done += len(images)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def transform_comparison(
    sizes: Sequence[int],
    seconds: float,
    repeats: int,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Throughput of each multi-view transform, lightly_min vs lightly, on PIL digits.

    Digits are resized to each size as RGB PIL images. One torch thread, as in a DataLoader
    worker; the two libraries alternate ``repeats`` times and the best of each counts.
    """
    import importlib

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    split = load_digits()
    results = []
    for size in sizes:
        images = DigitDataset(split.train_images[:200], split.train_labels[:200], size=size).images
        for method, kwargs in TRANSFORM_SETTINGS[size].items():
            speeds: dict[str, list[float]] = {"lightly_min": [], "lightly": []}
            for _ in range(repeats):
                for library in speeds:
                    module = importlib.import_module(f"{library}.transforms")
                    transform = getattr(module, TRANSFORM_CLASSES[method])(**kwargs)
                    torch.manual_seed(0)
                    np.random.seed(0)
                    speeds[library].append(transform_throughput(transform, images, seconds))
            best = {library: max(values) for library, values in speeds.items()}
            ratio = best["lightly_min"] / best["lightly"]
            log(
                f"  {TRANSFORM_CLASSES[method]:17s} {size:3d} px: lightly_min "
                f"{best['lightly_min']:.0f}/s, lightly {best['lightly']:.0f}/s ({ratio:.2f}x)"
            )
            results.append(
                {
                    "transform": TRANSFORM_CLASSES[method],
                    "image_size": size,
                    "settings": kwargs,
                    "images_per_second": best,
                    "all_images_per_second": speeds,
                    "ratio": ratio,
                }
            )
    torch.set_num_threads(threads)
    return results


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--worker":
        sys.exit("speed.py is run by benchmarks/run.py (--part speed), not directly.")
    result = run_training(json.loads(sys.argv[2]))
    print(json.dumps(result))
