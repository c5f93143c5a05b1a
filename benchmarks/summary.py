"""Mean and spread over seeds of the learning runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Points of kNN accuracy by which a method must beat its random-initialisation baseline.
TARGET_GAIN = 0.05


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}


def summarise_learning(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-epoch and final kNN accuracy of a method's runs (one per seed), and its gain.

    The gain of a run is its final kNN accuracy minus its own random-initialisation
    accuracy (same seed, same backbone); the target is a mean gain of :data:`TARGET_GAIN`.
    """
    curves = np.array([run["knn_per_epoch"] for run in runs])
    finals = curves[:, -1]
    inits = [run["random_init_knn"] for run in runs]
    gains = [final - init for final, init in zip(finals, inits)]
    gain = mean_std(gains)
    return {
        "seeds": [run["seed"] for run in runs],
        "random_init_knn": mean_std(inits),
        "random_init_data_bn_knn": mean_std([run["random_init_data_bn_knn"] for run in runs]),
        "knn_per_epoch": {
            "mean": curves.mean(axis=0).tolist(),
            "std": (curves.std(axis=0, ddof=1) if len(runs) > 1 else 0 * curves[0]).tolist(),
        },
        "final_knn": mean_std(finals),
        "best_epoch_knn": mean_std(curves.max(axis=1)),
        "gain_over_random_init": gain,
        "target_gain": TARGET_GAIN,
        "target_met": bool(gain["mean"] >= TARGET_GAIN),
        "target_met_every_seed": bool(min(gains) >= TARGET_GAIN),
        "wall_seconds_per_run": mean_std([run["wall_seconds"] for run in runs]),
        "train_seconds_per_run": mean_std([run["train_seconds"] for run in runs]),
    }
