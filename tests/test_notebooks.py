"""The notebooks: generated from the example scripts and in sync with them, offered on the
docs pages (with a Colab badge only where the repository's URL is known), and run top to
bottom in a Jupyter kernel (nox -s examples)."""

import os
import textwrap

import nbformat
import pytest
from examples_support import EXAMPLES, ROOT
from examples_support import notebooks as load_notebooks

notebooks = load_notebooks()

SCRIPTS = notebooks.example_scripts()
TUTORIAL_NOTEBOOKS = sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))


@pytest.mark.includes
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_notebook_is_in_sync_with_its_script(script):
    path = notebooks.notebook_path(script)
    expected = notebooks.render(notebooks.example_notebook(script, notebooks.repository_url()))
    assert path.is_file() and path.read_text() == expected, (
        f"{path.relative_to(ROOT)} is out of date: run python docs/_ext/notebooks.py"
    )


@pytest.mark.includes
def test_every_notebook_has_its_script():
    expected = {notebooks.notebook_path(script) for script in SCRIPTS}
    assert set((EXAMPLES / "notebooks").rglob("*.ipynb")) == expected


def test_example_notebook_holds_the_whole_script_and_calls_main_with_the_smoke_options():
    script = EXAMPLES / "pytorch_lightning_distributed" / "simclr.py"
    notebook = notebooks.example_notebook(script, None)
    code = "\n\n\n".join(cell.source for cell in notebook.cells[2:-2])
    assert code + "\n\n\n" + notebooks.GUARD in script.read_text()
    assert notebook.cells[-1].source == (
        'main(["--devices", "2", "--fake-data", "32", "--epochs", "1", "--batch-size", "8", '
        '"--num-workers", "0", "--strategy", "ddp_notebook"])'
    )
    assert [cell.id for cell in notebook.cells] == [f"cell-{i}" for i in range(len(notebook.cells))]


def test_install_cell_installs_from_the_repository_or_says_how():
    with_url = notebooks.install_cell("lightning", "https://github.com/o/r")
    assert '%pip install "lightly_min[lightning] @ git+https://github.com/o/r"' in with_url
    without = notebooks.install_cell("", None)
    assert "raise ImportError" in without and "pip install ." in without


def test_colab_url_only_for_github_repositories():
    assert notebooks.colab_url("https://github.com/o/r.git", "v1") == (
        "https://colab.research.google.com/github/o/r/blob/v1"
    )
    assert notebooks.colab_url("https://gitlab.com/o/r", "main") is None
    assert notebooks.colab_url("", "main") is None


@pytest.mark.parametrize("colab", [None, "https://colab.research.google.com/github/o/r/blob/main"])
def test_notebook_links_give_a_download_and_a_badge_only_with_a_colab_url(colab, tmp_path):
    from sphinx.application import Sphinx

    source = tmp_path / "src"
    (source / "_static").mkdir(parents=True)
    (source / "_static" / "colab-badge.svg").write_text(
        (ROOT / "docs/_static/colab-badge.svg").read_text()
    )
    (source / "conf.py").write_text(
        textwrap.dedent(f"""
        import importlib.util
        path = {str(ROOT / "docs/_ext/notebooks.py")!r}
        spec = importlib.util.spec_from_file_location("nb", path)
        nb = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(nb)
        colab_url = {colab!r}
        html_static_path = ["_static"]
        def setup(app):
            nb.setup(app)
            app.add_config_value("colab_url", None, "env")
    """)
    )
    (source / "index.rst").write_text(
        "Page\n====\n\n.. notebook-links:: examples/pytorch/simsiam.py\n"
    )
    app = Sphinx(source, source, tmp_path / "out", tmp_path / "doctrees", "html", status=None,
                 warningiserror=True)  # fmt: skip
    app.build()
    html = (tmp_path / "out" / "index.html").read_text()
    assert 'download="simsiam.ipynb"' in html or "simsiam.ipynb" in html
    assert list((tmp_path / "out" / "_downloads").rglob("simsiam.ipynb"))
    badge = f"{colab}/examples/notebooks/pytorch/simsiam.ipynb"
    assert ("colab-badge.svg" in html and badge in html) == (colab is not None)
    assert ("colab-badge.svg" in html) == (colab is not None)


NOTEBOOKS = [notebooks.notebook_path(script) for script in SCRIPTS] + TUTORIAL_NOTEBOOKS


@pytest.mark.smoke
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_runs_top_to_bottom_in_a_kernel(path, tmp_path, monkeypatch):
    """Example notebooks as they are (their last cell is the smoke run); tutorial notebooks at
    smoke scale (LIGHTLY_MIN_SMOKE=1, which the kernel inherits)."""
    from nbclient import NotebookClient

    monkeypatch.setenv("LIGHTLY_MIN_SMOKE", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if one fails
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
