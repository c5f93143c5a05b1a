"""Tries one training configuration on the digits and appends its numbers to the tuning log.

How the digit recipes of ``recipes.py`` were found: every configuration tried went
through this script, and ``results/tuning_log.jsonl`` keeps them all (``report.py`` renders
them as ``results/tuning_log.md``). Usage::

    python benchmarks/tune.py NAME METHOD SEEDS 'JSON CHANGES' ['NOTE']
    python benchmarks/tune.py lr-0.2 simsiam 0 '{"lr": 0.2, "transform": {"min_scale": 0.5}}'

CHANGES are applied to :func:`recipes.tuning_base` (see there), so each log line
records the full recipe that ran.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from digits import load_digits
from learning import KNN_K, KNN_T, train_and_evaluate
from recipes import tuning_base

LOG = Path(__file__).resolve().parent / "results" / "tuning_log.jsonl"


def main() -> None:
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    name, method, seeds, changes = sys.argv[1:5]
    note = sys.argv[5] if len(sys.argv) == 6 else ""
    recipe = tuning_base(method).replace(**json.loads(changes))
    split = load_digits()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    for seed in (int(s) for s in seeds.split(",")):
        print(f"== {name} {method} seed {seed}: {changes}", flush=True)
        result = train_and_evaluate(recipe, seed, split)
        record = {
            "name": name,
            "method": method,
            "changes": json.loads(changes),
            "note": note,
            "knn": {"k": KNN_K, "t": KNN_T},
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "recipe": recipe.as_dict(),
            **result,
        }
        with LOG.open("a") as log:
            log.write(json.dumps(record) + "\n")
        print(
            f"== {name} {method} seed {seed}: random init {result['random_init_knn']:.3f}, "
            f"best {max(result['knn_per_epoch']):.3f}, last {result['knn_per_epoch'][-1]:.3f}, "
            f"{result['wall_seconds']:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
