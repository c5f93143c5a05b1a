"""The examples' notebooks: generated from the example scripts by examples/make_notebooks.py
and in sync with them, with distinct names, offered on the docs pages (with a Colab badge
only where the repository's URL is known). They are executed in test_examples_smoke.py,
where they are the examples' training runs."""

from __future__ import annotations

import textwrap

import pytest
from examples_support import EXAMPLES, ROOT, example_files
from examples_support import notebooks as load_generator

from lightly_min.harness.cli import smoke_args

generator = load_generator()
SCRIPTS = example_files()


@pytest.mark.includes
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_notebook_is_in_sync_with_its_script(script):
    path = generator.notebook_path(script)
    expected = generator.render(generator.example_notebook(script, generator.repository_url()))
    assert path.is_file() and path.read_text() == expected, (
        f"{path.relative_to(ROOT)} is out of date: run python examples/make_notebooks.py"
    )


@pytest.mark.includes
def test_every_notebook_has_its_script_and_a_name_of_its_own():
    expected = {EXAMPLES / "notebooks" / f"{s.stem}_{generator.flavour(s)}.ipynb" for s in SCRIPTS}
    assert len(expected) == len(SCRIPTS)  # no two downloads of the same name
    assert {generator.notebook_path(script) for script in SCRIPTS} == expected
    assert set((EXAMPLES / "notebooks").rglob("*.ipynb")) == expected


def test_only_the_flavour_folders_hold_examples():
    folders = {path.parent.name for path in SCRIPTS}
    assert folders == set(generator.FOLDERS)
    assert EXAMPLES / "make_notebooks.py" not in SCRIPTS


def test_example_notebook_holds_the_whole_script_and_calls_main_with_the_smoke_flags():
    script = EXAMPLES / "pytorch_lightning_distributed" / "simclr.py"
    notebook = generator.example_notebook(script, None)
    code = "\n\n\n".join(cell.source for cell in notebook.cells[2:-2])
    assert code + "\n\n\n" + generator.GUARD in script.read_text()
    flags = ", ".join(f'"{flag}"' for flag in [*smoke_args("distributed"), "--strategy"])
    assert notebook.cells[-1].source == f'main([{flags}, "ddp_notebook"])'
    assert "--devices" in notebook.cells[-1].source
    assert [cell.id for cell in notebook.cells] == [f"cell-{i}" for i in range(len(notebook.cells))]


def test_single_device_notebooks_call_main_with_the_smoke_flags_alone():
    for folder in ("pytorch", "pytorch_lightning"):
        notebook = generator.example_notebook(EXAMPLES / folder / "simsiam.py", None)
        flags = ", ".join(f'"{flag}"' for flag in smoke_args(generator.FOLDERS[folder]))
        assert notebook.cells[-1].source == f"main([{flags}])"


def test_install_cell_installs_from_the_repository():
    cell = generator.install_cell("lightning", "https://github.com/o/r")
    assert '%pip install "lightly_min[lightning] @ git+https://github.com/o/r"' in cell


def test_install_cell_without_a_repository_installs_nothing_and_says_how(capsys):
    cell = generator.install_cell("lightning", None)
    assert "%pip" not in cell and "!pip" not in cell and "raise" not in cell
    exec(cell.replace('find_spec("lightly_min")', 'find_spec("no_such_module_x")'), {})
    message = capsys.readouterr().out
    assert "lightly_min is not installed" in message
    assert 'pip install ".[lightning]"' in message and "clone" in message
    exec(cell, {})  # where lightly_min is installed: silent
    assert capsys.readouterr().out == ""


def test_colab_url_only_for_github_repositories():
    assert generator.colab_url("https://github.com/o/r.git", "v1") == (
        "https://colab.research.google.com/github/o/r/blob/v1"
    )
    assert generator.colab_url("https://gitlab.com/o/r", "main") is None
    assert generator.colab_url("", "main") is None


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
        "Page\n====\n\n.. notebook-links:: examples/pytorch_lightning/simsiam.py\n"
    )
    app = Sphinx(source, source, tmp_path / "out", tmp_path / "doctrees", "html", status=None,
                 warningiserror=True)  # fmt: skip
    app.build()
    html = (tmp_path / "out" / "index.html").read_text()
    assert "simsiam_lightning.ipynb" in html
    (downloaded,) = (tmp_path / "out" / "_downloads").rglob("*.ipynb")
    assert downloaded.name == "simsiam_lightning.ipynb"
    assert downloaded.read_text() == (EXAMPLES / "notebooks/simsiam_lightning.ipynb").read_text()
    badge = f"{colab}/examples/notebooks/simsiam_lightning.ipynb"
    assert ("colab-badge.svg" in html and badge in html) == (colab is not None)
    assert ("colab-badge.svg" in html) == (colab is not None)


@pytest.mark.includes
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_without_a_repository_the_first_cell_says_how_to_install(script, capsys):
    """No repository URL: the header cell names the install command that the next cell
    prints where lightly_min is missing; nothing claims to install it."""
    notebook = generator.example_notebook(script, None)
    extras = "" if generator.flavour(script) == "pytorch" else "lightning"
    command = 'pip install ".[lightning]"' if extras else "pip install ."
    assert notebook.cells[0].cell_type == "markdown"
    assert f"`{command}`" in notebook.cells[0].source and "clone" in notebook.cells[0].source
    install = notebook.cells[1].source
    exec(install.replace('find_spec("lightly_min")', 'find_spec("no_such_module_x")'), {})
    assert f"run  {command}  in the folder of a clone" in capsys.readouterr().out
    with_url = generator.example_notebook(script, "https://github.com/o/r")
    assert command not in with_url.cells[0].source  # that cell installs it
