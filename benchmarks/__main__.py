"""``python -m benchmarks``: measures, writes results/results.json, then results.md.

Parts: ``learning`` (the tutorials, three seeds each), ``speed`` (the examples built from
lightly_min and from lightly), ``roofline`` (the SimSiam step against the matmul peak), and
``report`` (tables and plot from the JSON). ``--part all`` runs them in that order; each part
saves its results as soon as it has them. ``--quick`` runs everything tiny, into a scratch
file, to test the code. See README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks import learning, roofline, speed
from benchmarks.environment import describe_run
from benchmarks.report import RESULTS, write_report

SCRATCH = Path(__file__).resolve().parent / ".scratch"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--part", default="all",
                        choices=["all", "learning", "speed", "roofline", "report"])  # fmt: skip
    parser.add_argument("--methods", help="comma-separated; default: every example")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--repeats", type=int, default=3, help="speed runs per library")
    parser.add_argument("--quick", action="store_true", help="tiny runs, scratch results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    path = SCRATCH / "quick" / "results.json" if args.quick else RESULTS / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    names = args.methods.split(",") if args.methods else learning.methods()
    parts = ["learning", "speed", "roofline", "report"] if args.part == "all" else [args.part]

    def save() -> None:
        path.write_text(json.dumps(results, indent=1) + "\n")

    for part in parts:
        start, run = time.perf_counter(), describe_run()
        if part == "learning":
            # --methods measures those methods again and keeps the others' stored runs.
            kept = results.get("learning", {}) if args.methods else {}
            results["learning"] = {
                "run": run,
                "methods": {m: e for m, e in kept.get("methods", {}).items() if m not in names},
            }
            earlier = kept.get("wall_seconds", 0.0)
            seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
            for method in names:
                entry = learning.run_method(method, seeds, SCRATCH / "learning", args.quick, print)
                results["learning"]["methods"][method] = {**entry, "run": run}
                results["learning"]["wall_seconds"] = earlier + time.perf_counter() - start
                save()  # an interrupted run keeps the methods it finished
        elif part == "speed":
            images, epochs, batch_size = (64, 2, 16) if args.quick else (1536, 2, 256)
            repeats = 1 if args.quick else args.repeats
            measured = speed.run(
                names, repeats, images, batch_size, epochs, SCRATCH / "speed", print
            )
            if args.methods:  # keep the other methods' stored runs
                kept = results.get("speed", {}).get("methods", {})
                measured["methods"] = {**kept, **measured["methods"]}
            results["speed"] = {"run": run, **measured, "wall_seconds": time.perf_counter() - start}
        elif part == "roofline":
            batch_size, steps = (8, 1) if args.quick else (128, 10)
            measured = roofline.run(batch_size, steps)
            results["roofline"] = {
                "run": run,
                **measured,
                "wall_seconds": time.perf_counter() - start,
            }
            print(f"roofline: {measured['fraction_of_peak']:.0%} of the matrix-product peak")
        if part != "report":
            save()
    for written in write_report(results, path.parent):
        print(f"wrote {written}")


if __name__ == "__main__":
    main()
