"""A tutorial's settings, read from the environment.

``LIGHTLY_MIN_SMOKE=1``: a tiny run (CI runs every tutorial this way on each change).
``LIGHTLY_MIN_SEED``: the seed (0 by default). ``LIGHTLY_MIN_RESULTS``: a path to write the
run's numbers to, as JSON (the benchmarks read it). ``LIGHTLY_MIN_RUN_TUTORIALS=1``: the run
is ``nox -s tutorials`` building the docs' stored outputs, so the run also stores its data
next to them (``docs/tutorials/<name>.run_data.json``).

Set by a tuning sweep (``python -m benchmarks.tune``): ``LIGHTLY_MIN_KNOBS``, a JSON object of
the tutorial's knobs (:meth:`~lightly_min.tutorials.flow.DigitsTutorial.knobs`) to change, and
``LIGHTLY_MIN_PROGRESS``, a path to which each epoch's numbers are appended as a JSON line;
``LIGHTLY_MIN_EPOCHS`` changes the number of epochs of a full run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

#: Where ``nox -s tutorials`` stores the tutorials' pages, pictures and run data.
STORED_OUTPUTS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"

#: Training and held-out digits per class: the full split, and the smoke run's subset.
FULL_SPLIT, SMOKE_SPLIT = (400, 100), (20, 10)
SMOKE_EPOCHS, SMOKE_BATCH_SIZE = 2, 32


@dataclass(frozen=True)
class Settings:
    """What a run does: ``epochs`` of ``batch_size`` on ``per_class`` = (train, held out)
    digits of each class, with ``seed``; where it writes its numbers (``results``, or None)
    and its stored run data (``run_data``, or None)."""

    smoke: bool
    seed: int
    epochs: int
    batch_size: int
    per_class: tuple[int, int]
    results: Path | None
    run_data: Path | None
    knobs: dict = field(default_factory=dict)
    progress: Path | None = None


def read_settings(name: str, epochs: int, batch_size: int) -> Settings:
    """The settings of tutorial ``name`` (e.g. ``"simsiam_digits"``), whose full run trains
    ``epochs`` epochs of ``batch_size``; a smoke run trains a few small batches instead."""
    smoke = os.environ.get("LIGHTLY_MIN_SMOKE") == "1"
    results = os.environ.get("LIGHTLY_MIN_RESULTS")
    storing = os.environ.get("LIGHTLY_MIN_RUN_TUTORIALS") == "1" and not smoke
    knobs = json.loads(os.environ.get("LIGHTLY_MIN_KNOBS") or "{}")
    if not isinstance(knobs, dict):
        raise ValueError(f"LIGHTLY_MIN_KNOBS must be a JSON object, not {knobs!r}.")
    epochs = int(os.environ.get("LIGHTLY_MIN_EPOCHS") or epochs)
    progress = os.environ.get("LIGHTLY_MIN_PROGRESS")
    return Settings(
        smoke=smoke,
        seed=int(os.environ.get("LIGHTLY_MIN_SEED", "0")),
        epochs=SMOKE_EPOCHS if smoke else epochs,
        batch_size=SMOKE_BATCH_SIZE if smoke else batch_size,
        per_class=SMOKE_SPLIT if smoke else FULL_SPLIT,
        results=Path(results) if results else None,
        run_data=STORED_OUTPUTS / f"{name}.run_data.json" if storing else None,
        knobs=knobs,
        progress=Path(progress) if progress else None,
    )
