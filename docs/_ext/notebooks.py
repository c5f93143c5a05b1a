"""Links to the notebooks on the docs pages; the notebooks themselves come from
``examples/make_notebooks.py`` (the examples') and sphinx-gallery (the tutorials').

``.. notebook-links:: examples/pytorch/simsiam.py`` (an example script) or
``.. notebook-links:: docs/tutorials/simsiam_digits.ipynb`` (a notebook) puts a download link
to the notebook on the page and, where the repository's public URL is known (the
``colab_url`` setting, see conf.py), an "Open in Colab" badge. Each tutorial page gets these
links under its title, and a line saying how its outputs were made.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():
    """examples/make_notebooks.py, loaded by path (examples/ is no package)."""
    path = ROOT / "examples" / "make_notebooks.py"
    spec = importlib.util.spec_from_file_location("lightly_min_docs.make_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
# What conf.py uses: the Colab address, and the tutorial notebooks' install cell.
colab_url, install_cell, repository_url = (
    generator.colab_url,
    generator.install_cell,
    generator.repository_url,
)


class NotebookLinks(Directive):
    """``.. notebook-links:: PATH``: a download link to the notebook of the example script at
    PATH, or to the notebook at PATH (relative to the repository), and an "Open in Colab"
    badge where the repository's URL is known."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        target = ROOT / self.arguments[0]
        notebook = generator.notebook_path(target) if target.suffix == ".py" else target
        if not notebook.is_file():
            raise self.error(f"No notebook {notebook}: run `python examples/make_notebooks.py`.")
        env.note_dependency(str(notebook))
        relative = notebook.relative_to(ROOT).as_posix()
        source = Path(env.doc2path(env.docname)).parent
        text = f"Notebook: :download:`{notebook.name} <{os.path.relpath(notebook, source)}>`"
        colab = env.config.colab_url
        if colab:  # only where the repository's public URL is known: no broken badges
            text += (
                f"\n\n.. image:: /_static/colab-badge.svg\n   :target: {colab}/{relative}\n"
                "   :alt: Open in Colab\n   :class: colab-badge"
            )
        node = nodes.container(classes=["notebook-links"])
        self.state.nested_parse(StringList(text.splitlines(), source=relative), 0, node)
        return [node]


def link_tutorial_notebooks(app, docname: str, source: list[str]) -> None:
    """Puts the notebook links (and Colab badge) under the title of each tutorial page that
    sphinx-gallery generates (``tutorials/<name>``, whose notebook is ``<name>.ipynb``)."""
    if not docname.startswith("tutorials/") or docname == "tutorials/index":
        return
    title = re.search(r"^\S.*\n=+\n", source[0], re.MULTILINE)
    if title is not None:
        links = f"\n.. notebook-links:: docs/{docname}.ipynb\n\n{made_by(docname)}\n"
        source[0] = source[0][: title.end()] + links + source[0][title.end() :]


def made_by(docname: str) -> str:
    """A line on how a tutorial's outputs were made, from ``docs/<docname>.run.json``, which
    ``nox -s tutorials`` writes when it runs the tutorial at full scale."""
    path = ROOT / "docs" / f"{docname}.run.json"
    if not path.exists():
        return "*No record of the run that made this page's outputs.*"
    run = json.loads(path.read_text())
    hardware, versions = run["hardware"], run["versions"]
    machine = f"{hardware['cpu_model']}, {hardware['logical_cores']} cores"
    software = f"Python {versions['python']}, torch {versions['torch']}"
    return (
        f"*The outputs below come from a full run with* ``{run['command']}`` *on "
        f"{run['date'][:10]}: {machine}, {run.get('gpu') or 'no GPU'}; {software}, "
        f"lightly_min {versions['lightly_min']}.*"
    )


def setup(app) -> dict:
    app.add_directive("notebook-links", NotebookLinks)
    app.connect("source-read", link_tutorial_notebooks)
    return {"parallel_read_safe": True}
