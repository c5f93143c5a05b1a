"""nox -s examples: every tutorial runs at smoke scale (LIGHTLY_MIN_SMOKE=1), the same code as
its full run, and reports its numbers; its stored full-scale outputs match its source."""

import hashlib
import json
import math
import sys

import pytest
from examples_support import ROOT, run

TUTORIALS = sorted((ROOT / "tutorials").glob("*.py"))
OUTPUTS = ROOT / "docs" / "tutorials"


@pytest.mark.smoke
@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda path: path.stem)
def test_tutorial_runs_at_smoke_scale_and_reports_its_numbers(tutorial, tmp_path):
    results = tmp_path / "results.json"
    environment = {"LIGHTLY_MIN_SMOKE": "1", "LIGHTLY_MIN_RESULTS": str(results)}
    result = run([sys.executable, str(tutorial)], cwd=tmp_path, MPLBACKEND="Agg", **environment)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    numbers = json.loads(results.read_text())
    assert numbers["method"] == tutorial.stem.removesuffix("_digits")
    for name in ("trained", "random_init", "pixels"):
        assert set(numbers[name]) == {"knn", "linear_probe"}
        assert all(0 <= value <= 1 for value in numbers[name].values())
    history, epochs = numbers["history"], numbers["epochs"]
    assert len(history["loss"]) == len(history["z_std"]) == epochs
    assert len(history["knn"]) == epochs + 1  # and before training
    assert all(math.isfinite(value) for value in history["loss"])


@pytest.mark.includes
@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda path: path.stem)
def test_stored_outputs_come_from_the_current_source(tutorial):
    """docs/tutorials/ holds what `nox -s tutorials` made; it must be of this very source."""
    digest = hashlib.md5(tutorial.read_bytes()).hexdigest()
    stored = OUTPUTS / f"{tutorial.name}.md5"
    assert stored.is_file() and stored.read_text().strip() == digest, (
        f"{tutorial.name} changed since its outputs were made: run nox -s tutorials"
    )
    assert (OUTPUTS / tutorial.name).read_bytes() == tutorial.read_bytes()
    assert (OUTPUTS / f"{tutorial.stem}.ipynb").is_file()
    assert sorted((OUTPUTS / "images").glob(f"sphx_glr_{tutorial.stem}_*.png"))
