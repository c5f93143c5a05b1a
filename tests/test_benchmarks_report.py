"""The benchmarks' summaries and report: statistics by hand, and the committed results.

Only the standard library and numpy are needed (no torch training, no lightly, no mlxtend):
``summary.py`` and ``report.py`` are what turn measurements into the numbers the docs show.
"""

import json
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import report  # noqa: E402
from summary import mean_std, summarise_learning  # noqa: E402


def run(seed, init, curve, seconds=10.0):
    return {
        "seed": seed,
        "random_init_knn": init,
        "random_init_data_bn_knn": init - 0.1,
        "knn_per_epoch": curve,
        "loss_per_epoch": [0.0] * len(curve),
        "bf16": True,
        "train_seconds": seconds,
        "wall_seconds": seconds + 1,
    }


def test_mean_std_is_the_sample_standard_deviation():
    # mean 2, squared deviations 1 + 0 + 1 = 2, divided by n - 1 = 2: std 1.
    assert mean_std([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0}
    assert mean_std([0.5]) == {"mean": 0.5, "std": 0.0}


def test_gain_is_the_final_minus_the_same_seeds_random_init():
    runs = [run(0, 0.80, [0.70, 0.90]), run(1, 0.60, [0.50, 0.62])]
    summary = summarise_learning(runs)
    # Gains 0.10 and 0.02: mean 0.06 >= 0.05, but seed 1 alone falls short.
    assert summary["gain_over_random_init"]["mean"] == pytest.approx(0.06)
    assert summary["gain_over_random_init"]["std"] == pytest.approx(math.sqrt(2 * 0.04**2))
    assert summary["target_met"] is True
    assert summary["target_met_every_seed"] is False
    assert summary["final_knn"]["mean"] == pytest.approx(0.76)
    assert summary["best_epoch_knn"]["mean"] == pytest.approx((0.90 + 0.62) / 2)
    assert summary["knn_per_epoch"]["mean"] == pytest.approx([0.60, 0.76])


def test_a_gain_below_five_points_misses_the_target():
    summary = summarise_learning([run(0, 0.80, [0.849]), run(1, 0.80, [0.849])])
    assert summary["target_met"] is False


def small_results():
    learned = [run(0, 0.80, [0.75, 0.90]), run(1, 0.70, [0.72, 0.86])]
    return {
        "learning": {
            "data": {"train_images": 4000, "test_images": 1000, "split": "per class"},
            "knn": {"k": 20, "t": 0.1},
            "pixel_knn": 0.9,
            "methods": {
                "simclr": {
                    "recipe": {
                        "method": "simclr",
                        "epochs": 2,
                        "temperature": 0.2,
                        "pred_lr_factor": 1.0,
                        "transform": {"min_scale": 0.4},
                    },
                    "runs": learned,
                    "summary": summarise_learning(learned),
                }
            },
        },
        "precision": {"methods": {"simclr": {"fp32": run(0, 0.80, [0.70, 0.88], 20.0)}}},
        "speed": {
            "settings": {
                "batch_size": 256,
                "num_workers": 4,
                "images": 4000,
                "warmup_batches": 3,
                "repeats": 1,
            },
            "training": [
                {
                    "method": "simclr",
                    "lightly_min": {
                        "images_per_second": 60.0,
                        "peak_rss_mib": 2000.4,
                        "workers_peak_pss_mib": 1000.0,
                    },
                    "lightly": {
                        "images_per_second": 24.0,
                        "peak_rss_mib": 3000.0,
                        "workers_peak_pss_mib": 1500.0,
                    },
                    "throughput_ratio": 2.5,
                }
            ],
            "transforms": [
                {
                    "transform": "SimCLRTransform",
                    "image_size": 32,
                    "ratio": 1.1,
                    "images_per_second": {"lightly_min": 1100.0, "lightly": 1000.0},
                }
            ],
        },
    }


def test_tables_and_figures_of_a_known_result():
    results = small_results()
    header, rows = report.learning_table(results["learning"])
    row = dict(zip(header, rows[0]))
    # Finals 0.90 and 0.86 (mean 0.88, std 0.028); gains 10 and 16 points (mean 13, std 4.2).
    assert row["final kNN"] == "0.880 ± 0.028"
    assert row["gain (points)"] == "13.0 ± 4.2"
    assert row["gain ≥ 5"] == "yes"
    figures = report.figures(results)
    assert figures["simclr_gain"] == "13.0"
    assert figures["pixel_knn"] == "0.900"
    assert figures["train_images"] == "4,000"
    assert figures["min_speedup"] == "2.50x"
    assert figures["min_transform_ratio"] == "1.10x"
    # bf16 (seed 0) ended at 0.90, fp32 at 0.88: +2.0 points.
    header, rows = report.precision_table(results)
    assert dict(zip(header, rows[0]))["difference (points)"] == "+2.0"
    header, rows = report.training_speed_table(results["speed"])
    assert rows[0][header.index("lightly_min peak MiB")] == "2000 + 1000"
    header, rows = report.recipes_table(results["learning"])
    settings = {r[0]: r[1] for r in rows}
    assert settings["temperature"] == "0.2"
    assert settings["pred_lr_factor"] == "-"  # SimCLR has no predictor
    assert settings["transform: min_scale"] == "0.4"


def test_committed_report_is_up_to_date():
    """results.md is generated from results.json; a stale copy means someone skipped report."""
    folder = BENCHMARKS / "results"
    results = json.loads((folder / "results.json").read_text())
    assert (folder / "results.md").read_text() == report.results_markdown(results), (
        "benchmarks/results/results.md is out of date: run `python benchmarks/run.py --part "
        "report` (or `nox -s bench -- --part report`)."
    )
