"""nox -s examples: every tutorial runs once, at smoke scale (LIGHTLY_MIN_SMOKE=1, the same
code as its full run), as its notebook: docs/tutorials/<name>.ipynb, which sphinx-gallery made
from the tutorial script, top to bottom in a Jupyter kernel (conftest.py's notebook_runs).
That notebook holds the script's code blocks, a test below checks, so this runs the script's
code; the stored full-scale outputs match the source."""

import hashlib
import json
import math

import nbformat
import pytest
from examples_support import ROOT
from examples_support import notebooks as load_generator

TUTORIALS = sorted((ROOT / "tutorials").glob("*.py"))
OUTPUTS = ROOT / "docs" / "tutorials"


def stem(path):
    return path.stem


@pytest.mark.smoke
@pytest.mark.part("tutorials")
@pytest.mark.parametrize("tutorial", TUTORIALS, ids=stem)
def test_tutorial_notebook_runs_at_smoke_scale_and_reports_its_numbers(tutorial, notebook_runs):
    results = notebook_runs.folder / f"{tutorial.stem}.results.json"  # shared by processes
    notebook = OUTPUTS / f"{tutorial.stem}.ipynb"
    notebook_runs.run(notebook, LIGHTLY_MIN_RESULTS=str(results))
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
@pytest.mark.parametrize("tutorial", TUTORIALS, ids=stem)
def test_stored_notebook_holds_the_tutorials_code(tutorial):
    """The notebook that runs above: the install cell of conf.py, then each code block of
    the tutorial script (as sphinx-gallery splits it, its config comments removed as conf.py
    asks), in order."""
    from sphinx_gallery.py_source_parser import remove_config_comments, split_code_and_text_blocks

    generator = load_generator()
    _, blocks = split_code_and_text_blocks(str(tutorial))
    code = [
        remove_config_comments(block.content).strip() for block in blocks if block.type == "code"
    ]
    notebook = nbformat.read(OUTPUTS / f"{tutorial.stem}.ipynb", as_version=4)
    cells = [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]
    install = generator.install_cell("tutorials", generator.repository_url())
    assert cells == [install, *code], f"{tutorial.name}: run nox -s tutorials"


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
