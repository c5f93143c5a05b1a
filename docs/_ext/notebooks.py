"""Jupyter notebooks generated from the example scripts, and links to them on the docs pages.

Each ``examples/<flavour>/<method>.py`` becomes ``examples/notebooks/<flavour>/<method>.ipynb``:

1. a Markdown cell with the script's header (what it trains, how, what to expect);
2. a cell that installs lightly_min where it is missing (on Colab), from the repository named
   in ``pyproject.toml`` (``[project.urls] Repository``), or says how to install it;
3. the script's code, one cell per top-level block, without the ``__main__`` guard;
4. a cell that calls ``main()`` with the smoke-run options of the header (plus
   ``--strategy ddp_notebook`` for the distributed flavour, which Jupyter needs).

The notebooks are committed, so that Colab can open them; ``python docs/_ext/notebooks.py``
(``nox -s notebooks``) writes them, and a test fails when one is out of date. In the docs,
``.. notebook-links:: examples/pytorch/simsiam.py`` puts a download link to the notebook and,
when the repository's public URL is known (the ``colab_url`` setting, see conf.py),
an "Open in Colab" badge.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

import nbformat
import tomllib
from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = EXAMPLES / "notebooks"
GUARD = 'if __name__ == "__main__":\n    main()\n'


def repository_url() -> str | None:
    """The repository URL from pyproject.toml's ``[project.urls] Repository``, if set."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project.get("urls", {}).get("Repository")


def colab_url(repository: str, branch: str) -> str | None:
    """Colab's address for notebooks of a GitHub ``repository`` at ``branch``, followed by
    ``/<path in the repository>``; ``None`` for other hosts or no repository."""
    github = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", repository or "")
    if github is None:
        return None
    return f"https://colab.research.google.com/github/{github[1]}/{github[2]}/blob/{branch}"


def install_cell(extras: str, url: str | None) -> str:
    """Code that installs lightly_min (with ``extras``, e.g. ``"lightning"``) where it is
    missing, e.g. on Colab."""
    package = f"lightly_min[{extras}]" if extras else "lightly_min"
    if url:
        action = f'%pip install "{package} @ git+{url}"'
    else:  # no public repository known: say what to do instead of failing later
        local = f"pip install '.[{extras}]'" if extras else "pip install ."
        action = (
            f'raise ImportError("Install lightly_min first: {local} in a clone of its repository.")'
        )
    return (
        "# lightly_min, where it is missing (e.g. on Colab)\n"
        "import importlib.util\n\n"
        'if importlib.util.find_spec("lightly_min") is None:\n'
        f"    {action}"
    )


def notebook_path(script: Path) -> Path:
    return NOTEBOOKS / script.parent.name / f"{script.stem}.ipynb"


def smoke_arguments(header: str) -> list[str]:
    """The options of the header's ``Smoke:`` command (continuation lines included)."""
    match = re.search(r"^# Smoke:\s+(.*(?:\n#\s{9,}.*)*)", header, re.MULTILINE)
    if match is None:
        raise ValueError("the example's header has no 'Smoke:' line")
    command = " ".join(line.lstrip("#").strip() for line in match.group(1).splitlines())
    words = shlex.split(command.split("(")[0])
    return words[2:]  # without "python name.py"


def example_notebook(script: Path, url: str | None) -> nbformat.NotebookNode:
    """The notebook of one example script (see the module's docstring)."""
    text = script.read_text()
    if not text.endswith(GUARD):
        raise ValueError(f"{script} must end with the guard {GUARD!r}")
    header, code = text[: text.index("\nimport ") + 1], text[text.index("\nimport ") + 1 :]
    code = code[: -len(GUARD)].rstrip() + "\n"
    lines = [line.removeprefix("#").removeprefix(" ") for line in header.splitlines()]
    first_key = next(i for i, line in enumerate(lines) if re.match(r"[A-Z][a-z]+:\s{2,}", line))
    title, rest = " ".join(lines[:first_key]), lines[first_key:]
    relative = script.relative_to(ROOT).as_posix()
    intro = (
        f"# {title}\n\n```text\n" + "\n".join(rest) + "\n```\n\n"
        f"Generated from `{relative}` (`python docs/_ext/notebooks.py`); do not edit by hand."
    )
    blocks = re.split(r"\n\n\n(?=class |def )", code)
    arguments = smoke_arguments(header)
    if script.parent.name == "pytorch_lightning_distributed":
        arguments += ["--strategy", "ddp_notebook"]
    run_note = (
        "A smoke run: a few noise images for one epoch, seconds on a CPU. For the real run, "
        'call `main([])`, or pass your options, e.g. `main(["--data-dir", "my_images"])`.'
    )
    extras = "lightning" if "lightning" in script.parent.name else ""
    cells = [
        nbformat.v4.new_markdown_cell(intro),
        nbformat.v4.new_code_cell(install_cell(extras, url)),
        *[nbformat.v4.new_code_cell(block.strip("\n")) for block in blocks],
        nbformat.v4.new_markdown_cell(run_note),
        nbformat.v4.new_code_cell(f"main({json.dumps(arguments)})"),
    ]
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return notebook


def example_scripts() -> list[Path]:
    return sorted(path for path in EXAMPLES.glob("*/*.py") if path.parent.name != "notebooks")


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def write_all() -> list[Path]:
    """Writes every example's notebook; returns the paths that changed."""
    url, changed = repository_url(), []
    for script in example_scripts():
        path, text = notebook_path(script), render(example_notebook(script, url))
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed


class NotebookLinks(Directive):
    """``.. notebook-links:: PATH``: a download link to the notebook of the example script or
    tutorial notebook at PATH (relative to the repository), and an "Open in Colab" badge when
    the repository's URL is known."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        target = ROOT / self.arguments[0]
        notebook = notebook_path(target) if target.suffix == ".py" else target
        if not notebook.is_file():
            raise self.error(f"No notebook {notebook}: run `python docs/_ext/notebooks.py`.")
        env.note_dependency(str(notebook))
        relative = notebook.relative_to(ROOT).as_posix()
        source = Path(env.doc2path(env.docname)).parent
        download = f":download:`{notebook.name} <{_relative_to(notebook, source)}>`"
        text = f"Notebook: {download}"
        colab = env.config.colab_url
        if colab:  # only where the repository's public URL is known: no broken badges
            text += (
                f"\n\n.. image:: /_static/colab-badge.svg\n   :target: {colab}/{relative}\n"
                "   :alt: Open in Colab\n   :class: colab-badge"
            )
        node = nodes.container(classes=["notebook-links"])
        self.state.nested_parse(StringList(text.splitlines(), source=relative), 0, node)
        return [node]


def _relative_to(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


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


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path.relative_to(ROOT)}")
    sys.exit(0)
